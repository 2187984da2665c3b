"""Small graphs for the server tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

import anyio
from streamhil import END, START, StateGraph, get_stream_writer, interrupt
from streamhil.graph.compiled import CompiledStateGraph


class Gate:
    """A node waits on it; the test opens it (``portal.call(gate.open)``)."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self.opened = False

    def _get(self) -> anyio.Event:
        if self._event is None:
            self._event = anyio.Event()
        return self._event

    async def wait(self) -> None:
        if not self.opened:
            await self._get().wait()

    def open(self) -> None:
        self.opened = True
        self._get().set()


class S(TypedDict, total=False):
    n: int
    log: list[str]
    answer: Any
    a: Any
    b: Any


def gated(gate: Gate) -> CompiledStateGraph:
    """``work`` says "waiting" (custom event), waits for the gate, then ``ask`` interrupts."""

    async def work(state: S) -> S:
        get_stream_writer()({"status": "waiting"})
        await gate.wait()
        return {"n": state.get("n", 0) + 1}

    def ask(state: S) -> S:
        return {"answer": interrupt({"question": "go on?", "n": state.get("n")})}

    g = StateGraph(S)
    g.add_node("work", work)
    g.add_node("ask", ask)
    g.add_edge(START, "work")
    g.add_edge("work", "ask")
    g.add_edge("ask", END)
    return g.compile()


def gated_to_end(gate: Gate) -> CompiledStateGraph:
    """``work`` says "waiting" (custom event), waits for the gate, then the run ends (no interrupt)."""

    async def work(state: S) -> S:
        get_stream_writer()({"status": "waiting"})
        await gate.wait()
        return {"n": state.get("n", 0) + 1}

    g = StateGraph(S)
    g.add_node("work", work)
    g.add_edge(START, "work")
    g.add_edge("work", END)
    return g.compile()


def counter() -> CompiledStateGraph:
    """No interrupt: ``inc`` adds one to ``n``."""

    def inc(state: S) -> S:
        return {"n": state.get("n", 0) + 1}

    g = StateGraph(S)
    g.add_node("inc", inc)
    g.add_edge(START, "inc")
    g.add_edge("inc", END)
    return g.compile()


def failing() -> CompiledStateGraph:
    def boom(state: S) -> S:
        raise ValueError("boom: the node failed")

    g = StateGraph(S)
    g.add_node("boom", boom)
    g.add_edge(START, "boom")
    g.add_edge("boom", END)
    return g.compile()


def odd_values() -> CompiledStateGraph:
    """Writes values JSON cannot hold as such (a set, bytes, a Decimal, a datetime)."""

    def make(state: S) -> S:
        return {"answer": {"set": {1}, "blob": b"hi", "amount": Decimal("1.5"), "when": datetime(2026, 1, 2, 3, 4, 5)}}

    g = StateGraph(S)
    g.add_node("make", make)
    g.add_edge(START, "make")
    g.add_edge("make", END)
    return g.compile()


def two_questions(gate: Gate) -> CompiledStateGraph:
    """``a`` and ``b`` ask at once; once answered, ``a`` waits for the gate before it returns."""

    async def a(state: S) -> S:
        answer = interrupt("a?")
        await gate.wait()
        return {"a": answer}

    def b(state: S) -> S:
        return {"b": interrupt("b?")}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge(START, "b")
    g.add_edge("a", END)
    g.add_edge("b", END)
    return g.compile()


def ask_beside_other() -> CompiledStateGraph:
    """``ask`` interrupts while ``other`` finishes in the same step; then ``last`` runs."""

    def ask(state: S) -> S:
        return {"answer": interrupt("go on?")}

    def other(state: S) -> S:
        return {"log": ["other"]}

    def last(state: S) -> S:
        return {"n": 1}

    g = StateGraph(S)
    g.add_node("ask", ask)
    g.add_node("other", other)
    g.add_node("last", last)
    g.add_edge(START, "ask")
    g.add_edge(START, "other")
    g.add_edge("ask", "last")
    g.add_edge("other", "last")
    g.add_edge("last", END)
    return g.compile()
