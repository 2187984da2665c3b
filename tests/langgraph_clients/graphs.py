"""Graphs for the LangGraph-client tests that the demo lacks: ``graph``, whose run stays active
until it is cancelled (``begin`` reports, then ``hold`` waits forever), and ``gate``, whose run
waits until a file exists (so a test can stop the server while it waits), then asks if told to."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import anyio
from streamhil import END, START, StateGraph, get_stream_writer, interrupt


class HoldState(TypedDict, total=False):
    step: str


def begin(state: HoldState) -> HoldState:
    return {"step": "begun"}


async def hold(state: HoldState) -> HoldState:
    await anyio.sleep_forever()
    return {"step": "never"}


_builder = StateGraph(HoldState)
_builder.add_node("begin", begin)
_builder.add_node("hold", hold)
_builder.add_edge(START, "begin")
_builder.add_edge("begin", "hold")
_builder.add_edge("hold", END)
graph = _builder.compile()


class GateState(TypedDict, total=False):
    gate: str  # a file: ``wait`` goes on once it exists
    ask: bool  # then ``ask`` interrupts
    step: str
    answer: Any


async def wait(state: GateState) -> GateState:
    get_stream_writer()({"waiting": True})
    while not Path(state["gate"]).exists():
        await anyio.sleep(0.02)
    return {"step": "passed"}


def ask(state: GateState) -> GateState:
    return {"answer": interrupt({"question": "go on?"})}


_gate = StateGraph(GateState)
_gate.add_node("wait", wait)
_gate.add_node("ask", ask)
_gate.add_edge(START, "wait")
_gate.add_conditional_edges("wait", lambda state: "ask" if state.get("ask") else END, ["ask", END])
_gate.add_edge("ask", END)
gate = _gate.compile()
