"""The sync API: works from plain code, inside a running loop (Jupyter) and from sync nodes;
refuses only to block the loop its own graph runs on (an async node)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, StateGraph, interrupt
from streamhil.errors import SyncCallError

from .helpers import Calls, LogState, chain, thread


@pytest.mark.anyio
async def test_sync_calls_inside_a_running_loop_work() -> None:
    """As in a Jupyter cell: the sync API blocks the running loop and runs on a loop of its own."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [question] = graph.invoke({"log": []}, config)["__interrupt__"]
    assert graph.get_state(config).interrupts == (question,)
    graph.update_state(config, {"log": ["note"]}, as_node="a")
    parts = list(graph.stream(Command(resume="yes"), config, stream_mode="updates"))
    assert parts == [{"ask": {"log": ["ask:yes"]}}, {"b": {"log": ["b"]}}]
    history = [s.metadata["source"] for s in graph.get_state_history(config)]
    assert history[:3] == ["loop", "loop", "update"]
    # The async API sees the same thread, on this loop.
    with anyio.fail_after(5):
        assert (await graph.aget_state(config)).values == {"log": ["a", "note", "ask:yes", "b"]}
    assert calls == {"a": 1, "ask": 2, "b": 1}


@pytest.mark.anyio
async def test_sync_stream_inside_a_running_loop_can_be_abandoned() -> None:
    graph = chain(["a", "b", "c"], Calls())
    config = thread()
    for part in graph.stream({"log": []}, config):
        assert part == {"a": {"log": ["a"]}}
        break
    assert graph.invoke(None, config)["log"][-1] == "c"


@pytest.mark.anyio
async def test_sync_call_from_an_async_node_names_the_async_form() -> None:
    """An async node blocking the loop its own graph runs on is the one refused case; the
    message names the right fix for each method (``async for``, not ``await``, for streams)."""
    sub = chain(["s"], Calls(), checkpointer=None)
    seen: dict[str, str] = {}

    async def node(state: LogState) -> dict[str, Any]:
        for name, call in [
            ("invoke", lambda: sub.invoke({"log": []})),
            ("stream", lambda: list(sub.stream({"log": []}))),
        ]:
            with pytest.raises(SyncCallError) as info:
                call()
            seen[name] = str(info.value)
        return {"log": ["done"]}

    builder = StateGraph(LogState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    with anyio.fail_after(5):
        assert await graph.ainvoke({"log": []}, thread()) == {"log": ["done"]}
    assert "`await graph.ainvoke(...)`" in seen["invoke"]
    assert "`async for part in graph.astream(...)`" in seen["stream"]
    assert "await graph.astream" not in seen["stream"]
    assert all("plain `def`" in message for message in seen.values())


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
