"""The sync API: works from plain code and from sync nodes; refuses to block a running loop."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, StateGraph, interrupt
from streamhil.errors import SyncCallError

from .helpers import Calls, LogState, chain, thread


@pytest.mark.anyio
async def test_sync_calls_inside_a_running_loop_are_refused() -> None:
    graph = chain(["a", "ask"], Calls(), ask={"ask"})
    config = thread()
    with pytest.raises(SyncCallError, match="ainvoke") as info:
        graph.invoke({"log": []}, config)
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(SyncCallError):
        list(graph.stream({"log": []}, config))
    with pytest.raises(SyncCallError):
        graph.get_state(config)
    with pytest.raises(SyncCallError):
        list(graph.get_state_history(config))
    with pytest.raises(SyncCallError):
        graph.update_state(config, {"log": ["x"]})
    # Nothing ran: the async API still starts the thread from scratch.
    with anyio.fail_after(5):
        result = await graph.ainvoke({"log": []}, config)
    assert result["log"] == ["a"]


def test_sync_api_several_calls_in_a_row() -> None:
    """Each sync call runs on a loop of its own; the thread carries over between them."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    assert [i.value for i in graph.invoke({"log": []}, config)["__interrupt__"]] == ["qask"]
    assert graph.get_state(config).next == ("ask",)
    parts = list(graph.stream(Command(resume="yes"), config, stream_mode="values"))
    assert parts[-1] == {"log": ["a", "ask:yes", "b"]}
    assert [s.metadata["step"] for s in graph.get_state_history(config)] == [3, 2, 1, 0, -1]
    assert calls == {"a": 1, "ask": 2, "b": 1}


def test_sync_stream_can_be_abandoned() -> None:
    """Leaving a sync stream early stops the run without hanging."""
    graph = chain(["a", "b", "c"], Calls())
    config = thread()
    for part in graph.stream({"log": []}, config):
        assert part == {"a": {"log": ["a"]}}
        break
    assert graph.invoke(None, config)["log"][-1] == "c"


@pytest.mark.anyio
async def test_sync_node_may_call_the_sync_api_of_a_subgraph() -> None:
    """A sync node runs in a worker thread, where the sync API is allowed (it uses the host loop)."""
    calls = Calls()
    sub = chain(["s1", "s2"], calls, checkpointer=None)

    def wrapper(state: LogState) -> dict[str, Any]:
        return {"log": sub.invoke({"log": ["w"]})["log"]}

    builder = StateGraph(LogState)
    builder.add_node("wrapper", wrapper)
    builder.add_node("other", lambda s: {"log": ["other"]})
    builder.add_edge(START, "wrapper")
    builder.add_edge(START, "other")
    graph = builder.compile(checkpointer=InMemorySaver())
    with anyio.fail_after(5):
        assert await graph.ainvoke({"log": []}, thread()) == {"log": ["other", "w", "s1", "s2"]}


@pytest.mark.anyio
async def test_sync_and_async_nodes_mix() -> None:
    async def aio(state: LogState) -> dict[str, Any]:
        await anyio.lowlevel.checkpoint()
        return {"log": ["async"]}

    def blocking(state: LogState) -> dict[str, Any]:
        return {"log": ["sync"]}

    builder = StateGraph(LogState)
    builder.add_node("aio", aio)
    builder.add_node("blocking", blocking)
    builder.add_node("ask", lambda s: {"log": [interrupt("q")]})
    builder.add_edge(START, "aio")
    builder.add_edge(START, "blocking")
    builder.add_edge("aio", "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        result = await graph.ainvoke({"log": []}, config)
        assert result["log"] == ["async", "sync"]
        assert await graph.ainvoke(Command(resume="done"), config) == {"log": ["async", "sync", "done"]}


def test_node_receives_its_config() -> None:
    """A node with a second parameter gets the run config (thread id, namespace, step)."""
    seen: list[dict[str, Any]] = []

    def node(state: LogState, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(config["configurable"])
        return {"log": ["n"]}

    builder = StateGraph(LogState)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({"log": []}, {"configurable": {"thread_id": "cfg-thread", "user": "u1"}})
    [configurable] = seen
    assert configurable["thread_id"] == "cfg-thread"
    assert configurable["user"] == "u1"
    assert configurable["checkpoint_ns"].startswith("n:")
    assert configurable["langgraph_node"] == "n"


def test_sync_node_may_stream_a_subgraph() -> None:
    """A sync node that iterates `subgraph.stream(...)` works like one that calls invoke, both
    when it is the only task of its step and when it runs beside another task."""
    sub = chain(["s1", "s2"], Calls(), checkpointer=None)

    def streamer(state: LogState) -> dict[str, Any]:
        return {"log": [next(iter(part)) for part in sub.stream({"log": []})]}

    alone = StateGraph(LogState)
    alone.add_node("streamer", streamer)
    alone.add_edge(START, "streamer")
    assert alone.compile().invoke({"log": []}) == {"log": ["s1", "s2"]}  # runs inline on the private loop

    beside = StateGraph(LogState)
    beside.add_node("streamer", streamer)
    beside.add_node("other", lambda s: {"log": ["other"]})
    beside.add_edge(START, "streamer")
    beside.add_edge(START, "other")
    assert beside.compile().invoke({"log": []}) == {"log": ["other", "s1", "s2"]}
