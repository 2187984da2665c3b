"""``get_state_history`` of a config naming a ``checkpoint_id``, side by side with LangGraph 1.2.22:
LangGraph hands the config to the saver's ``list``, which then lists that checkpoint alone (with
``before``, ``filter`` and ``limit`` still applied); a subgraph snapshot's config lists the
subgraph's checkpoint, with the subgraph's own state schema."""

from __future__ import annotations

import asyncio
import importlib
import operator
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")
pytest.importorskip("langgraph.checkpoint.sqlite", reason="langgraph-checkpoint-sqlite is not installed")

LIBRARIES = ["langgraph", "streamhil"]


class Parent(TypedDict):
    log: Annotated[list[str], operator.add]


class Child(TypedDict):
    log: Annotated[list[str], operator.add]
    extra: str  # only the child has it: its history must show it


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


@contextmanager
def open_saver(name: str, kind: str) -> Iterator[Any]:
    if kind == "memory":
        yield lib(name, "checkpoint.memory").InMemorySaver()
    else:
        with lib(name, "checkpoint.sqlite").SqliteSaver.from_conn_string(":memory:") as saver:
            yield saver


def graph_of(name: str, saver: Any) -> Any:
    """``p`` then a subgraph ``child`` (``c1``, then ``c2``, which interrupts)."""
    graph, types = lib(name, "graph"), lib(name, "types")
    child = graph.StateGraph(Child)
    child.add_node("c1", lambda state: {"log": ["c1"], "extra": "e"})
    child.add_node("c2", lambda state: {"log": [types.interrupt("q")]})
    child.add_edge(graph.START, "c1")
    child.add_edge("c1", "c2")
    parent = graph.StateGraph(Parent)
    parent.add_node("p", lambda state: {"log": ["p"]})
    parent.add_node("child", child.compile())
    parent.add_edge(graph.START, "p")
    parent.add_edge("p", "child")
    return parent.compile(checkpointer=saver)


def steps(snapshots: Any) -> list[Any]:
    return [(s.metadata["step"], s.values, s.next) for s in snapshots]


def histories(name: str, kind: str) -> dict[str, Any]:
    with open_saver(name, kind) as saver:
        graph = graph_of(name, saver)
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        graph.invoke({"log": []}, config)
        history = list(graph.get_state_history(config))
        mid = history[1].config
        sub = graph.get_state(config, subgraphs=True).tasks[0].state.config
        sub_lane = {"configurable": {k: v for k, v in sub["configurable"].items() if k != "checkpoint_id"}}
        unknown = {"configurable": {**mid["configurable"], "checkpoint_id": "1f0" + "0" * 33}}
        calls: dict[str, Callable[[], Any]] = {
            "all": lambda: graph.get_state_history(config),
            "by id": lambda: graph.get_state_history(mid),
            "by id, before a newer one": lambda: graph.get_state_history(mid, before=history[0].config),
            "by id, before itself": lambda: graph.get_state_history(mid, before=mid),
            "by id, before an older one": lambda: graph.get_state_history(mid, before=history[2].config),
            "by id, filter matching": lambda: graph.get_state_history(mid, filter={"source": "loop"}),
            "by id, filter not matching": lambda: graph.get_state_history(mid, filter={"source": "input"}),
            "by id, limit 1": lambda: graph.get_state_history(mid, limit=1),
            "by id, limit 0": lambda: graph.get_state_history(mid, limit=0),
            "unknown id": lambda: graph.get_state_history(unknown),
            "subgraph snapshot's config": lambda: graph.get_state_history(sub),
            "subgraph namespace": lambda: graph.get_state_history(sub_lane),
        }
        seen = {label: steps(call()) for label, call in calls.items()}
        seen["saver.list by id"] = [t.metadata["step"] for t in saver.list(mid)]
        seen["saver.list subgraph id"] = [t.metadata["step"] for t in saver.list(sub)]
        return seen


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_history_of_a_checkpoint_id_is_that_checkpoint(kind: str) -> None:
    seen = {name: histories(name, kind) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    got = seen["streamhil"]
    assert got["by id"] == [(0, {"log": []}, ("p",))]
    assert got["subgraph snapshot's config"] == [(1, {"log": ["p", "c1"], "extra": "e"}, ("c2",))]
    assert len(got["subgraph namespace"]) == 3


def test_async_history_of_a_checkpoint_id() -> None:
    async def run(name: str) -> Any:
        saver_module = lib(name, "checkpoint.sqlite.aio")
        async with saver_module.AsyncSqliteSaver.from_conn_string(":memory:") as saver:
            graph = graph_of(name, saver)
            config = {"configurable": {"thread_id": "t"}}
            await graph.ainvoke({"log": []}, config)
            history = [s async for s in graph.aget_state_history(config)]
            by_id = [s async for s in graph.aget_state_history(history[1].config)]
            listed = [t async for t in saver.alist(history[1].config)]
            return steps(by_id), [t.metadata["step"] for t in listed]

    seen = {name: asyncio.run(run(name)) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"] == ([(0, {"log": []}, ("p",))], [0])
