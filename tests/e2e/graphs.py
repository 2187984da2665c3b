"""Graphs for the end-to-end tests (also loaded by a server subprocess: ``graphs.py:restartable``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypedDict

import anyio
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
        marker.write_text("the first attempt started")
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


def streaming(gate: Gate, count: int, size: int = 0) -> CompiledStateGraph:
    """``work`` says "before", waits for the gate, streams ``count`` custom events, then asks."""

    async def work(state: S) -> S:
        write = get_stream_writer()
        write({"i": -1, "status": "before"})
        await gate.event.wait()
        padding = "x" * size
        for i in range(count):
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
