"""A saver's ``list``/``alist`` across namespaces, side by side with LangGraph 1.2.22 (its SQLite and
PostgreSQL savers, sync and async, and its InMemorySaver), on a graph whose subgraph keeps
checkpoints of its own (``checkpointer=True``), so the thread has a subgraph namespace.

LangGraph reads the config as filters: without ``checkpoint_ns`` (or with ``None``) every
namespace of the thread is listed, ``""`` is the root's alone, ``list(None)`` is every thread and
namespace, and a ``checkpoint_id`` without a namespace is found in whichever holds it. Newest
first (by checkpoint id) across namespaces; ``before``, ``filter`` and ``limit`` apply to the
whole listing. LangGraph's InMemorySaver lists namespace after namespace instead (dict order), so
its listings are compared as sets; streamhil lists newest first in every saver."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")
pytest.importorskip("langgraph.checkpoint.sqlite", reason="langgraph-checkpoint-sqlite is not installed")

LIBRARIES = ["langgraph", "streamhil"]
Row = tuple[str, str, int, str]
"""A listed checkpoint: thread, namespace up to its task id (``child``), step, source."""


class State(TypedDict):
    x: int


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def graph_of(name: str, saver: Any) -> Any:
    """``child`` (a subgraph with checkpoints of its own: one node, ``inner``), then ``outer``."""
    graph = lib(name, "graph")
    sub = graph.StateGraph(State)
    sub.add_node("inner", lambda state: {"x": state["x"] + 1})
    sub.add_edge(graph.START, "inner")
    parent = graph.StateGraph(State)
    parent.add_node("child", sub.compile(checkpointer=True))
    parent.add_node("outer", lambda state: {"x": state["x"] * 10})
    parent.add_edge(graph.START, "child")
    parent.add_edge("child", "outer")
    return parent.compile(checkpointer=saver)


def row(item: Any) -> Row:
    conf = item.config["configurable"]
    return (conf["thread_id"], conf["checkpoint_ns"].split(":")[0], item.metadata["step"], item.metadata["source"])


def queries(thread: list[Any]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each listing to compare: ``(config, keyword arguments)``; ``thread`` is thread ``t``'s
    full listing (every namespace) from the same saver, for the ids to name."""
    sub_id = next(t for t in thread if t.config["configurable"]["checkpoint_ns"]).config["configurable"]["checkpoint_id"]
    no_ns = {"configurable": {"thread_id": "t"}}
    return {
        "no checkpoint_ns": (no_ns, {}),
        "checkpoint_ns None": ({"configurable": {"thread_id": "t", "checkpoint_ns": None}}, {}),
        "checkpoint_ns ''": ({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, {}),
        "None": (None, {}),
        "limit": (no_ns, {"limit": 3}),
        "before": (no_ns, {"before": thread[2].config}),
        "before and limit": (no_ns, {"before": thread[1].config, "limit": 2}),
        "filter": (no_ns, {"filter": {"step": 1}}),
        "None, filter": (None, {"filter": {"source": "input"}}),
        "id without namespace": ({"configurable": {"thread_id": "t", "checkpoint_id": sub_id}}, {}),
        "id with namespace ''": ({"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": sub_id}}, {}),
    }


def listings_sync(name: str, saver: Any) -> dict[str, list[Row]]:
    graph = graph_of(name, saver)
    graph.invoke({"x": 1}, {"configurable": {"thread_id": "t"}})
    graph.invoke({"x": 2}, {"configurable": {"thread_id": "u"}})
    thread = list(saver.list({"configurable": {"thread_id": "t"}}))
    return {label: [row(t) for t in saver.list(config, **kw)] for label, (config, kw) in queries(thread).items()}


async def listings_async(name: str, saver: Any) -> dict[str, list[Row]]:
    graph = graph_of(name, saver)
    await graph.ainvoke({"x": 1}, {"configurable": {"thread_id": "t"}})
    await graph.ainvoke({"x": 2}, {"configurable": {"thread_id": "u"}})
    thread = [t async for t in saver.alist({"configurable": {"thread_id": "t"}})]
    seen = {}
    for label, (config, kw) in queries(thread).items():
        seen[label] = [row(t) async for t in saver.alist(config, **kw)]
    return seen


ROOT_T = [("t", "", 2, "loop"), ("t", "", 1, "loop"), ("t", "", 0, "loop"), ("t", "", -1, "input")]
CHILD_T = [("t", "child", 1, "loop"), ("t", "child", 0, "loop"), ("t", "child", -1, "input")]


def check_streamhil(seen: dict[str, list[Row]]) -> None:
    """What streamhil lists, spelled out (newest first across namespaces)."""
    every = ROOT_T[:2] + CHILD_T + ROOT_T[2:]
    assert seen["no checkpoint_ns"] == seen["checkpoint_ns None"] == every
    assert seen["checkpoint_ns ''"] == ROOT_T
    assert seen["None"] == [("u", *r[1:]) for r in every] + every
    assert seen["limit"] == every[:3]
    assert seen["before"] == every[3:]
    assert seen["before and limit"] == every[2:4]
    assert seen["filter"] == [("t", "", 1, "loop"), ("t", "child", 1, "loop")]
    assert seen["id without namespace"] == [CHILD_T[0]]
    assert seen["id with namespace ''"] == []


@contextmanager
def sqlite_saver(name: str) -> Iterator[Any]:
    with lib(name, "checkpoint.sqlite").SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


def test_sqlite_list_spans_namespaces() -> None:
    seen = {}
    for name in LIBRARIES:
        with sqlite_saver(name) as saver:
            seen[name] = listings_sync(name, saver)
    assert seen["streamhil"] == seen["langgraph"]
    check_streamhil(seen["streamhil"])


def test_async_sqlite_alist_spans_namespaces() -> None:
    async def run(name: str) -> dict[str, list[Row]]:
        async with lib(name, "checkpoint.sqlite.aio").AsyncSqliteSaver.from_conn_string(":memory:") as saver:
            return await listings_async(name, saver)

    seen = {name: asyncio.run(run(name)) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    check_streamhil(seen["streamhil"])


def test_memory_list_spans_namespaces() -> None:
    """The same checkpoints as LangGraph's InMemorySaver (whose order is per namespace)."""
    seen = {name: listings_sync(name, lib(name, "checkpoint.memory").InMemorySaver()) for name in LIBRARIES}
    for label in ("no checkpoint_ns", "checkpoint_ns None", "checkpoint_ns ''", "None", "filter", "None, filter"):
        assert sorted(seen["streamhil"][label]) == sorted(seen["langgraph"][label]), label
    for label in ("id without namespace", "id with namespace ''"):
        assert seen["streamhil"][label] == seen["langgraph"][label], label
    check_streamhil(seen["streamhil"])


def test_memory_alist_spans_namespaces() -> None:
    seen = asyncio.run(listings_async("streamhil", lib("streamhil", "checkpoint.memory").InMemorySaver()))
    check_streamhil(seen)


# -- PostgreSQL -----------------------------------------------------------------------------------


@contextmanager
def postgres_saver(name: str, url: str) -> Iterator[Any]:
    with lib(name, "checkpoint.postgres").PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        yield saver


@asynccontextmanager
async def async_postgres_saver(name: str, url: str) -> AsyncIterator[Any]:
    async with lib(name, "checkpoint.postgres.aio").AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        yield saver


def test_postgres_list_spans_namespaces(postgres_url: str) -> None:
    pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres is not installed")
    seen = {}
    for name in LIBRARIES:
        with postgres_saver(name, postgres_url) as saver:
            seen[name] = listings_sync(name, saver)
    assert seen["streamhil"] == seen["langgraph"]
    check_streamhil(seen["streamhil"])


def test_async_postgres_alist_spans_namespaces(postgres_url: str) -> None:
    pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres is not installed")

    async def run(name: str) -> dict[str, list[Row]]:
        async with async_postgres_saver(name, postgres_url) as saver:
            return await listings_async(name, saver)

    seen = {name: asyncio.run(run(name)) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    check_streamhil(seen["streamhil"])
