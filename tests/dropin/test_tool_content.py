"""A plain function tool's result as its tool message's content, side by side with LangGraph
1.2.22 (langgraph-prebuilt 1.1.3): text unchanged, a list of content blocks unchanged, anything
else as ``json.dumps`` writes it (its spacing, non-ASCII kept), or its ``str()``."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt", reason="langgraph is not installed (it is in the `test` and `bench` extras)")


class Opaque:
    def __str__(self) -> str:
        return "an opaque thing"


RESULTS: dict[str, Any] = {
    "text": "plain text",
    "dict": {"city": "Zürich", "temps": [1, 2.5], "ok": True, "none": None},
    "list of numbers": [1, 2, 3],
    "content blocks": [{"type": "text", "text": "a block"}],
    "number": 42,
    "nothing": None,
    "not JSON": Opaque(),
}


def lookup(kind: str) -> Any:
    """Returns the result of the kind asked for."""
    return RESULTS[kind]


def _content(library: str, kind: str) -> Any:
    from langchain_core.messages import AIMessage

    graph = importlib.import_module(f"{library}.graph")
    prebuilt = importlib.import_module(f"{library}.prebuilt")
    builder = graph.StateGraph(graph.MessagesState)
    builder.add_node("tools", prebuilt.ToolNode([lookup]))
    builder.add_edge(graph.START, "tools")
    call = {"name": "lookup", "args": {"kind": kind}, "id": "call-1", "type": "tool_call"}
    out = builder.compile().invoke({"messages": [AIMessage("", tool_calls=[call])]})
    message = out["messages"][-1]
    return message.content if library == "langgraph" else message["content"]


@pytest.mark.parametrize("kind", list(RESULTS))
def test_a_tools_result_becomes_the_same_content(kind: str) -> None:
    assert _content("streamhil", kind) == _content("langgraph", kind)
