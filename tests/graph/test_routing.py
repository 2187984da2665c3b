"""Routing: conditional edges (what the router sees, lists, END, path maps), Command gotos from
nodes and as input together with a resume (§2.1, §2.5)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, Send, StateGraph

from .helpers import Calls, LogState, thread


class Counted(TypedDict):
    n: int
    log: Annotated[list, operator.add]


def test_router_sees_its_own_node_writes_but_not_siblings() -> None:
    """The router runs after the source node's writes are applied locally; a sibling's writes
    of the same step are not visible yet."""
    seen: list[dict[str, Any]] = []

    def route(state: Counted) -> str:
        seen.append({"n": state["n"], "log": list(state["log"])})
        return END

    builder = StateGraph(Counted)
    builder.add_node("src", lambda s: {"n": s["n"] + 1, "log": ["src"]})
    builder.add_node("sibling", lambda s: {"log": ["sibling"]})
    builder.add_edge(START, "src")
    builder.add_edge(START, "sibling")
    builder.add_conditional_edges("src", route)
    assert builder.compile().invoke({"n": 0, "log": []}) == {"n": 1, "log": ["sibling", "src"]}
    assert seen == [{"n": 1, "log": ["src"]}]


def test_router_lists_path_maps_and_end() -> None:
    calls = Calls()
    builder = StateGraph(Counted)
    for name in ("a", "b", "c"):
        builder.add_node(name, calls.node(name))
    builder.add_node("start", lambda s: None)
    builder.add_edge(START, "start")
    builder.add_conditional_edges(
        "start",
        lambda s: ["go-a", "go-b"] if s["n"] == 2 else "stop",
        {"go-a": "a", "go-b": "b", "stop": END},
    )
    builder.add_conditional_edges("a", lambda s: "c", ["c", END])
    graph = builder.compile()
    assert graph.invoke({"n": 2, "log": []}) == {"n": 2, "log": ["a", "b", "c"]}
    assert graph.invoke({"n": 0, "log": []}) == {"n": 0, "log": []}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_router_with_a_send_and_a_name() -> None:
    builder = StateGraph(LogState)
    builder.add_node("start", lambda s: None)
    builder.add_node("worker", lambda arg: {"log": [f"worker:{arg}"]})
    builder.add_node("plain", lambda s: {"log": ["plain"]})
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", lambda s: [Send("worker", 7), "plain"])
    assert builder.compile().invoke({"log": []}) == {"log": ["plain", "worker:7"]}


def test_node_returning_several_commands() -> None:
    """A list of Commands applies each one's update and goto."""

    def split(state: LogState) -> list[Command[Any]]:
        return [Command(update={"log": ["one"]}, goto="x"), Command(update={"log": ["two"]}, goto="y")]

    builder = StateGraph(LogState)
    builder.add_node("split", split, destinations=["x", "y"])
    builder.add_node("x", lambda s: {"log": ["x"]})
    builder.add_node("y", lambda s: {"log": ["y"]})
    builder.add_edge(START, "split")
    assert builder.compile().invoke({"log": []}) == {"log": ["one", "two", "x", "y"]}


def test_resume_together_with_goto() -> None:
    """Command(resume=..., goto=...) answers the question and also schedules the goto target
    in the same step."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("ask", calls.asking("ask"), destinations=["extra"])
    builder.add_node("extra", calls.node("extra"))
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    assert graph.invoke(Command(resume="A", goto="extra"), config) == {"log": ["ask:A", "extra"]}
    assert calls == {"ask": 2, "extra": 1}


def test_router_returning_an_unknown_node() -> None:
    from streamhil.errors import InvalidUpdateError

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: None)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: "ghost")
    with pytest.raises(InvalidUpdateError, match="ghost"):
        builder.compile().invoke({"log": []})
