"""A graph for the LangGraph-client tests that the demo lacks: one whose run stays active until
it is cancelled (``begin`` reports, then ``hold`` waits forever)."""

from __future__ import annotations

from typing import TypedDict

import anyio
from streamhil import END, START, StateGraph


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
