"""The triggers a task reports (``tasks``/``debug`` parts and ``config["metadata"]["langgraph_triggers"]``),
side by side with LangGraph 1.2.22: every channel that can start its node — its ``branch:to:``
channel and each join edge's into it, sorted — whichever of them started it; a ``Send``'s task
its push channel."""

from __future__ import annotations

import importlib
import operator
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")


class Log(TypedDict):
    log: Annotated[list, operator.add]


def _node(name: str) -> Any:
    def node(state: Log, config):  # type: ignore[no-untyped-def]  # LangGraph warns about other hints
        return {"log": [(name, tuple(config["metadata"]["langgraph_triggers"]))]}

    return node


def _run(library: str) -> tuple[list[tuple[str, tuple[str, ...]]], list[Any]]:
    graph = importlib.import_module(f"{library}.graph")
    types = importlib.import_module(f"{library}.types")
    builder = graph.StateGraph(Log)
    for name in ["a", "b", "c", "last", "fan"]:
        builder.add_node(name, _node(name), defer=(name == "c"))
    builder.add_edge(graph.START, "a")
    builder.add_edge(graph.START, "b")
    builder.add_edge(["a", "b"], "last")  # a join, and a plain edge into the same node
    builder.add_edge("a", "last")
    builder.add_edge(["a", "b"], "c")  # a deferred node with two joins
    builder.add_edge(["last", "b"], "c")
    builder.add_conditional_edges("c", lambda state: [types.Send("fan", state)], ["fan"])
    app = builder.compile()
    started = [
        (part["name"], tuple(part["triggers"]))
        for part in app.stream({"log": []}, stream_mode="tasks")
        if "triggers" in part
    ]
    return started, app.invoke({"log": []})["log"]


def test_tasks_report_every_channel_that_can_start_their_node() -> None:
    assert _run("streamhil") == _run("langgraph")
