"""Leaving ``astream``/``stream`` early, in every way a caller can (issue 8, item 0).

The run is cancelled, the caller's task is untouched (no stray cancellation at its next
``await``), the thread's last checkpoint stays readable, and the same loop runs the graph again.
"""

from __future__ import annotations

import gc
from typing import Any, TypedDict

import anyio
import pytest

from streamhil import START, InMemorySaver, StateGraph, get_stream_writer

pytestmark = pytest.mark.anyio


class State(TypedDict, total=False):
    log: list[str]


class Probe:
    """A graph whose first node streams a part, then waits until released or cancelled."""

    def __init__(self) -> None:
        self.stopped = anyio.Event()
        self.release = anyio.Event()
        self.graph = self._build()

    def _build(self) -> Any:
        async def first(state: State) -> dict[str, Any]:
            get_stream_writer()({"at": "first"})
            try:
                await self.release.wait()
            finally:
                self.stopped.set()
            return {"log": state.get("log", []) + ["first"]}

        builder = StateGraph(State)
        builder.add_node("first", first)
        builder.add_node("second", lambda s: {"log": s["log"] + ["second"]})
        builder.add_edge(START, "first")
        builder.add_edge("first", "second")
        return builder.compile(checkpointer=InMemorySaver())

    def stream(self, thread_id: str) -> Any:
        config = {"configurable": {"thread_id": thread_id}}
        return self.graph.astream({"log": []}, config, stream_mode="custom")


async def assert_healthy(probe: Probe) -> None:
    """The run was cancelled, the caller's task goes on, and the graph runs again."""
    with anyio.fail_after(10):
        await probe.stopped.wait()
    for _ in range(3):
        await anyio.sleep(0)  # a stray cancellation of this task would be raised here
    state = await probe.graph.aget_state({"configurable": {"thread_id": "left"}})
    assert state.next == ("first",)  # the abandoned run's last checkpoint, intact
    again = Probe()
    again.release.set()
    result = await again.graph.ainvoke({"log": []}, {"configurable": {"thread_id": "again"}})
    assert result == {"log": ["first", "second"]}


async def test_break() -> None:
    probe = Probe()
    async for part in probe.stream("left"):
        assert part == {"at": "first"}
        break
    await assert_healthy(probe)


async def test_return_from_a_function() -> None:
    probe = Probe()

    async def first_part() -> Any:
        async for part in probe.stream("left"):
            return part
        return None

    assert await first_part() == {"at": "first"}
    await assert_healthy(probe)


async def test_exception_in_the_loop_body() -> None:
    probe = Probe()
    with pytest.raises(KeyError):
        async for _part in probe.stream("left"):
            raise KeyError("the caller's own error")
    await assert_healthy(probe)


async def test_cancelled_in_the_loop_body() -> None:
    probe = Probe()
    with anyio.CancelScope() as scope:
        async for _part in probe.stream("left"):
            scope.cancel()
            await anyio.sleep(0)
    assert scope.cancelled_caught
    await assert_healthy(probe)


async def test_cancelled_while_waiting_for_the_next_part() -> None:
    probe = Probe()
    got_first = anyio.Event()

    async def consume(scope: anyio.CancelScope) -> None:
        with scope:
            async for _part in probe.stream("left"):
                got_first.set()  # the next part never comes: the node waits for release

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(consume, scope)
        await got_first.wait()
        scope.cancel()
    assert scope.cancelled_caught
    await assert_healthy(probe)


async def test_garbage_collected() -> None:
    probe = Probe()
    parts = probe.stream("left")
    assert await parts.__anext__() == {"at": "first"}
    del parts
    gc.collect()
    await assert_healthy(probe)


async def test_explicit_aclose() -> None:
    probe = Probe()
    parts = probe.stream("left")
    assert await parts.__anext__() == {"at": "first"}
    await parts.aclose()
    assert probe.stopped.is_set()  # aclose returns once the run has stopped
    await assert_healthy(probe)


async def test_a_failing_run_raises_to_the_caller_and_leaves_it_healthy() -> None:
    def boom(state: State) -> dict[str, Any]:
        raise ValueError("node failed")

    builder = StateGraph(State)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    graph = builder.compile(checkpointer=InMemorySaver())
    with pytest.raises(ValueError, match="node failed"):
        async for _part in graph.astream({"log": []}, {"configurable": {"thread_id": "t"}}):
            pass
    await anyio.sleep(0)
    probe = Probe()
    probe.release.set()
    assert await probe.graph.ainvoke({"log": []}, {"configurable": {"thread_id": "t"}}) == {"log": ["first", "second"]}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_many_abandoned_streams_at_once() -> None:
    """Several consumers break out of their own runs concurrently; each run stops, none leaks."""
    probes = [Probe() for _ in range(20)]

    async def consume(probe: Probe) -> None:
        async for _part in probe.stream("left"):
            break
        await assert_healthy(probe)

    async with anyio.create_task_group() as tg:
        for probe in probes:
            tg.start_soon(consume, probe)


def test_sync_stream_break_then_stream_again() -> None:
    graph = Probe().graph
    # The sync API runs on a private loop: the node is released by the run's own cancellation.
    count = 0
    for _part in graph.stream({"log": []}, {"configurable": {"thread_id": "s"}}, stream_mode="custom"):
        count += 1
        break
    assert count == 1
    assert graph.get_state({"configurable": {"thread_id": "s"}}).next == ("first",)
