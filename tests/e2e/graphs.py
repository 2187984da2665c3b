"""Graphs for the end-to-end tests (also loaded by a server subprocess: ``graphs.py:restartable``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypedDict

import anyio
import anyio.lowlevel
from streamhil import END, START, StateGraph, get_stream_writer, interrupt
from streamhil.graph.compiled import CompiledStateGraph


class S(TypedDict, total=False):
    a1: Any
    a2: Any
    steps: int
    answer: Any


def _ask(key: str, question: str) -> Any:
    def node(state: S) -> S:
        return {key: interrupt({"question": question})}  # type: ignore[misc]

    return node


async def _slow(state: S) -> S:
    """Blocks forever in the first server process (it is killed there); goes on in the next."""
    marker = Path(os.environ["STREAMHIL_E2E_MARKER"])
    get_stream_writer()({"status": "working", "attempt": 1 if not marker.exists() else 2})
    if not marker.exists():
        marker.write_text(f"the first attempt started in process {os.getpid()}")
        await anyio.sleep_forever()
    return {"steps": state.get("steps", 0) + 1}


def _restartable() -> CompiledStateGraph:
    g = StateGraph(S)
    g.add_node("ask1", _ask("a1", "First question?"))
    g.add_node("slow", _slow)
    g.add_node("ask2", _ask("a2", "Second question?"))
    g.add_edge(START, "ask1")
    g.add_edge("ask1", "slow")
    g.add_edge("slow", "ask2")
    g.add_edge("ask2", END)
    return g.compile()


restartable = _restartable() if "STREAMHIL_E2E_MARKER" in os.environ else None


class Gate:
    """Opened by the test (same event loop: the server runs in-process)."""

    def __init__(self) -> None:
        self.event = anyio.Event()

    def open(self) -> None:
        self.event.set()


class Credit:
    """Flow control for a producer node: it may emit event ``i`` once ``granted > i``."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.granted = window
        self._changed = anyio.Event()

    def grant(self, upto: int) -> None:
        if upto > self.granted:
            self.granted = upto
            self._changed.set()
            self._changed = anyio.Event()

    async def wait(self, i: int) -> None:
        while i >= self.granted:
            await self._changed.wait()


def streaming(gate: Gate, count: int, size: int = 0, credit: Credit | None = None) -> CompiledStateGraph:
    """``work`` says "before", waits for the gate, streams ``count`` custom events (no faster
    than ``credit`` allows), then asks."""

    async def work(state: S) -> S:
        write = get_stream_writer()
        write({"i": -1, "status": "before"})
        await gate.event.wait()
        padding = os.urandom(size // 2).hex()  # incompressible: permessage-deflate cannot shrink it
        for i in range(count):
            if credit is not None:
                await credit.wait(i)
            write({"i": i, "pad": padding})
            if i % 50 == 0:
                await anyio.lowlevel.checkpoint()
        return {"steps": count}

    g = StateGraph(S)
    g.add_node("work", work)
    g.add_node("ask", _ask("answer", "Done streaming; finish?"))
    g.add_edge(START, "work")
    g.add_edge("work", "ask")
    g.add_edge("ask", END)
    return g.compile()


def _asks_twice() -> CompiledStateGraph:
    """Two questions, one after the other (served by server subprocesses: ``graphs.py:asks_twice``)."""
    g = StateGraph(S)
    g.add_node("ask1", _ask("a1", "First question?"))
    g.add_node("ask2", _ask("a2", "Second question?"))
    g.add_edge(START, "ask1")
    g.add_edge("ask1", "ask2")
    g.add_edge("ask2", END)
    return g.compile()


asks_twice = _asks_twice()
