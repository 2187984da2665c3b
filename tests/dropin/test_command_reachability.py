"""Nodes reached only by an undeclared ``Command(goto=...)``, side by side with LangGraph 1.2.22: a
node with a static edge that also returns a Command, and a node calling a subgraph whose node
hands off with ``Command.PARENT``, compile and run as in LangGraph. streamhil's
``UnreachableNodeError`` (LangGraph has no such check) is kept for graphs whose nodes all declare
their Command destinations."""

from __future__ import annotations

import importlib
import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="the side-by-side tests need langgraph")

from streamhil.errors import UnreachableNodeError  # noqa: E402
from streamhil.types import Command  # noqa: E402

LIBRARIES = ["langgraph", "streamhil"]


class S(TypedDict):
    log: Annotated[list, operator.add]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def static_edge_and_a_command(name: str) -> Any:
    """``a`` has an edge to ``b`` and returns ``Command(goto="extra")``; nothing else leads to ``extra``."""
    graph, types = lib(name, "graph"), lib(name, "types")

    def a(state: S) -> Any:
        return types.Command(goto="extra", update={"log": ["a"]})

    builder = graph.StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", lambda state: {"log": ["b"]})
    builder.add_node("extra", lambda state: {"log": ["extra"]})
    builder.add_edge(graph.START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", graph.END)
    return builder


def handoff_from_a_called_subgraph(name: str) -> Any:
    """``call_sub`` (an edge to END) invokes a subgraph whose node sends
    ``Command(goto="other", graph=Command.PARENT)``; nothing else leads to ``other``."""
    graph, types = lib(name, "graph"), lib(name, "types")

    def agent(state: S) -> Any:
        return types.Command(goto="other", update={"log": ["handoff"]}, graph=types.Command.PARENT)

    inner = graph.StateGraph(S)
    inner.add_node("agent", agent)
    inner.add_edge(graph.START, "agent")
    sub = inner.compile()

    def call_sub(state: S) -> Any:
        return sub.invoke(state)

    builder = graph.StateGraph(S)
    builder.add_node("call_sub", call_sub)
    builder.add_node("other", lambda state: {"log": ["other"]})
    builder.add_edge(graph.START, "call_sub")
    builder.add_edge("call_sub", graph.END)
    return builder


@pytest.mark.parametrize("make", [static_edge_and_a_command, handoff_from_a_called_subgraph])
def test_a_node_reached_only_by_an_undeclared_command_runs_as_in_langgraph(make: Any) -> None:
    results = {name: make(name).compile().invoke({"log": []}) for name in LIBRARIES}
    assert results["streamhil"] == results["langgraph"]


def test_an_unreachable_node_is_refused_when_every_node_declares_its_destinations() -> None:
    graph = lib("streamhil", "graph")

    def a(state: S) -> Command[Literal["b"]]:
        return Command(goto="b", update={"log": ["a"]})

    builder = graph.StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", lambda state: {"log": ["b"]}, destinations=[graph.END])
    builder.add_node("forgotten", lambda state: {"log": ["forgotten"]})
    builder.add_edge(graph.START, "a")
    with pytest.raises(UnreachableNodeError, match="'forgotten' cannot be reached from START"):
        builder.compile()
