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


# -- LangGraph's checkpoint dict ----------------------------------------------------------------

LANGGRAPH_CHECKPOINT_KEYS = ["v", "id", "ts", "channel_values", "channel_versions", "versions_seen", "updated_channels"]


def _counter_graph(graph_module: Any, saver: Any) -> Any:
    class State(TypedDict):
        x: int

    builder = graph_module.StateGraph(State)
    builder.add_node("a", lambda state: {"x": state["x"] + 1})
    builder.add_edge(graph_module.START, "a")
    return builder.compile(checkpointer=saver)


def test_langgraph_checkpoint_keys_are_the_typeddicts() -> None:
    base = pytest.importorskip("langgraph.checkpoint.base")
    assert list(base.Checkpoint.__annotations__) == LANGGRAPH_CHECKPOINT_KEYS


def test_a_saved_checkpoint_reads_as_langgraph_dict(saver: BaseCheckpointSaver) -> None:
    import streamhil.graph

    graph = _counter_graph(streamhil.graph, saver)
    config = {"configurable": {"thread_id": "d"}}
    graph.invoke({"x": 10}, config)
    found = saver.get_tuple(config)
    assert found is not None
    checkpoint = found.checkpoint
    assert checkpoint["id"] == found.config["configurable"]["checkpoint_id"] == checkpoint.id
    assert checkpoint["channel_values"] is checkpoint.channel_values  # no copy
    assert checkpoint["channel_values"]["x"] == 11
    assert list(checkpoint) == list(checkpoint.keys()) == LANGGRAPH_CHECKPOINT_KEYS
    assert "ts" in checkpoint and "nope" not in checkpoint
    assert checkpoint.get("versions_seen") == {} and checkpoint.get("updated_channels", 1) is None
    assert checkpoint.get("nope", 5) == 5
    assert dict(checkpoint)["channel_versions"] == checkpoint.channel_versions
    latest = saver.get(config)
    assert latest is not None and latest["channel_values"]["x"] == 11
    with pytest.raises(KeyError):
        checkpoint["pending_sends"]


def test_put_copies_a_checkpoint_to_another_thread(saver: BaseCheckpointSaver) -> None:
    """LangGraph's pattern: ``put(other_thread, tup.checkpoint, tup.metadata, versions)``."""
    import streamhil.graph

    graph = _counter_graph(streamhil.graph, saver)
    graph.invoke({"x": 1}, {"configurable": {"thread_id": "from"}})
    source = saver.get_tuple({"configurable": {"thread_id": "from"}})
    assert source is not None
    target = {"configurable": {"thread_id": "to", "checkpoint_ns": ""}}
    saved = saver.put(target, source.checkpoint, source.metadata, source.checkpoint["channel_versions"])
    assert saved == {"configurable": {"thread_id": "to", "checkpoint_ns": "", "checkpoint_id": source.checkpoint.id}}
    assert graph.get_state({"configurable": {"thread_id": "to"}}).values == {"x": 2}


def test_put_takes_a_langgraph_checkpoint_dict(saver: BaseCheckpointSaver) -> None:
    from streamhil.checkpoint.base import create_checkpoint, empty_checkpoint

    checkpoint = empty_checkpoint()
    checkpoint["channel_values"]["x"] = 1
    checkpoint["channel_versions"]["x"] = "00000000000000000000000000000002.0.123"  # LangGraph's form
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    saved = saver.put(config, checkpoint, {"source": "input", "step": -1, "parents": {}}, {"x": 2})
    assert saved["configurable"]["checkpoint_id"] == checkpoint["id"]
    found = saver.get_tuple(config)
    assert found is not None and found.checkpoint.channel_values == {"x": 1}
    assert found.checkpoint.channel_versions == {"x": 2}
    child = create_checkpoint(found.checkpoint, {"x": 5, "y": 6}, 1)
    assert child["channel_values"] == {"x": 5}  # only channels the checkpoint has a version of
    saver.put(saved, child, {"source": "loop", "step": 0, "parents": {}}, {"x": 2})
    assert saver.get(config)["channel_values"] == {"x": 5}  # type: ignore[index]
    assert [t.checkpoint["id"] for t in saver.list(config)] == [child["id"], checkpoint["id"]]


def test_put_refuses_what_is_not_a_checkpoint() -> None:
    from streamhil.checkpoint.base import empty_checkpoint
    from streamhil.errors import ConfigError

    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(TypeError, match="LangGraph checkpoint dict"):
        saver.put(config, ["not", "a", "checkpoint"], {}, {})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no 'ts'"):
        saver.put(config, {"id": "x", "channel_values": {}, "channel_versions": {}}, {}, {})
    bad = empty_checkpoint()
    bad["channel_versions"]["x"] = object()
    with pytest.raises(ConfigError, match="channel 'x'"):
        saver.put(config, bad, {}, {})
    assert saver.get_tuple(config) is None


def test_empty_and_create_checkpoint_match_langgraph() -> None:
    base = pytest.importorskip("langgraph.checkpoint.base")
    from streamhil.checkpoint.base import create_checkpoint, empty_checkpoint

    ours, theirs = empty_checkpoint(), base.empty_checkpoint()
    assert sorted(ours) == sorted(theirs)
    assert {k: v for k, v in ours.items() if k not in ("v", "id", "ts")} == {
        k: v for k, v in theirs.items() if k not in ("v", "id", "ts")
    }
    source = {**theirs, "channel_values": {"x": 1}, "channel_versions": {"x": 1}}
    for copy in (create_checkpoint(source, None, 3), base.create_checkpoint(source, None, 3)):
        assert copy["channel_values"] == {"x": 1} and copy["id"] != source["id"]
        assert copy["id"].split("-")[3] == "8003"  # the step is in the id, as LangGraph's
    assert create_checkpoint(source, None, 3, id="given")["id"] == "given"


def test_same_saver_dict_answers_as_langgraph() -> None:
    """Reading a checkpoint by key and copying it to another thread, under both libraries."""
    langgraph_graph = pytest.importorskip("langgraph.graph")
    langgraph_memory = pytest.importorskip("langgraph.checkpoint.memory")
    import streamhil.graph

    def run(graph_module: Any, saver: Any) -> tuple[Any, ...]:
        graph = _counter_graph(graph_module, saver)
        config = {"configurable": {"thread_id": "1"}}
        graph.invoke({"x": 1}, config)
        graph.invoke({"x": 10}, config)
        latest = saver.get_tuple(config)
        other = {"configurable": {"thread_id": "2", "checkpoint_ns": ""}}
        saver.put(other, latest.checkpoint, latest.metadata, latest.checkpoint["channel_versions"])
        return (
            saver.get(config)["channel_values"]["x"],
            latest.checkpoint["id"] == latest.config["configurable"]["checkpoint_id"],
            sorted(k for k in ("v", "id", "ts", "versions_seen", "nope") if k in latest.checkpoint),
            graph.get_state({"configurable": {"thread_id": "2"}}).values,
        )

    assert run(streamhil.graph, InMemorySaver()) == run(langgraph_graph, langgraph_memory.InMemorySaver())
