"""LangGraph's sync saver methods on every saver, from a plain script and from inside a running
event loop (the conformance suite covers a graph's worker threads), side by side with LangGraph's
savers where the call is the same."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
import anyio
import pytest

from streamhil.checkpoint.base import BaseCheckpointSaver
from streamhil.checkpoint.memory import InMemorySaver
from streamhil.checkpoint.sqlite import SqliteSaver
from streamhil.graph import START, StateGraph
from streamhil.types import interrupt

from .conformance import use_sync_methods

Opener = Callable[[Path], Any]


@contextmanager
def memory(tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    yield InMemorySaver()


@contextmanager
def sqlite_path(tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    with SqliteSaver.from_conn_string(str(tmp_path / "c.sqlite")) as saver:
        yield saver


@contextmanager
def sqlite_in_memory(tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    with SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


@contextmanager
def sqlite3_connection(tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    with closing(sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False)) as conn:
        yield SqliteSaver(conn)


@contextmanager
def aiosqlite_connection(tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    conn = aiosqlite.connect(tmp_path / "c.sqlite")  # started by the saver's first call
    yield SqliteSaver(conn)
    anyio.run(conn.close)


@contextmanager
def postgres(postgres_url: str) -> Iterator[BaseCheckpointSaver]:
    from streamhil.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(postgres_url) as saver:
        yield saver


SAVERS = [memory, sqlite_path, sqlite_in_memory, sqlite3_connection, aiosqlite_connection, postgres]


@pytest.fixture(params=SAVERS, ids=lambda opener: opener.__name__)
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    if request.param is postgres:
        where = request.getfixturevalue("postgres_url")
    else:
        where = tmp_path
    with request.param(where) as opened:
        yield opened


def test_in_a_plain_script(saver: BaseCheckpointSaver) -> None:
    use_sync_methods(saver)


def test_inside_a_running_event_loop(saver: BaseCheckpointSaver) -> None:
    """Async code (a Jupyter cell, a sync helper called from a coroutine): the call blocks, as
    LangGraph's SqliteSaver and InMemorySaver do there, and works."""

    async def main() -> None:
        use_sync_methods(saver)

    asyncio.run(main())


def test_async_forms_see_what_sync_forms_saved(saver: BaseCheckpointSaver) -> None:
    class State(TypedDict):
        x: int

    def ask(state: State) -> State:
        return {"x": interrupt("?")}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "g"}}

    async def run() -> list[int]:
        await graph.ainvoke({"x": 0}, config)
        return [t.metadata["step"] async for t in saver.alist(config)]

    steps = asyncio.run(run())
    assert [t.metadata["step"] for t in saver.list(config)] == steps == [0, -1]
    latest = saver.get_tuple(config)
    assert latest is not None and latest.metadata["step"] == 0
    saver.delete_thread("g")
    assert asyncio.run(graph.aget_state(config)).values == {}


def test_list_reads_nothing_until_iterated() -> None:
    """``list`` is a generator, as LangGraph's: calling it starts nothing."""
    calls: list[Any] = []

    class Counting(InMemorySaver):
        def alist(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return super().alist(*args, **kwargs)

    listed = Counting().list(None)
    assert calls == []
    assert list(listed) == [] and len(calls) == 1


def test_same_answers_as_langgraph_in_memory() -> None:
    """A graph run, then LangGraph's sync saver calls, under both libraries."""
    langgraph_graph = pytest.importorskip("langgraph.graph")
    langgraph_memory = pytest.importorskip("langgraph.checkpoint.memory")
    langgraph_types = pytest.importorskip("langgraph.types")

    def run(graph_module: Any, saver: Any, interrupt_fn: Any) -> tuple[list[int], int, bool]:
        class State(TypedDict):
            x: int

        def ask(state: State) -> State:
            return {"x": interrupt_fn("?")}

        builder = graph_module.StateGraph(State)
        builder.add_node("ask", ask)
        builder.add_edge(graph_module.START, "ask")
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"x": 0}, config)
        steps = [t.metadata["step"] for t in saver.list(config)]
        step = saver.get_tuple(config).metadata["step"]
        saver.delete_thread("t")
        return steps, step, saver.get_tuple(config) is None and saver.get(config) is None

    import streamhil.graph

    ours = run(streamhil.graph, InMemorySaver(), interrupt)
    theirs = run(langgraph_graph, langgraph_memory.InMemorySaver(), langgraph_types.interrupt)
    assert ours == theirs == ([0, -1], 0, True)
