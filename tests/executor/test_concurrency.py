"""Tasks of one step run concurrently, sync and async alike; ``max_concurrency`` caps them."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, StateGraph

pytestmark = pytest.mark.anyio


class LogState(TypedDict):
    log: Annotated[list, operator.add]


class Meter:
    """Counts how many nodes are inside at once (thread-safe, for sync nodes too)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


def fan(nodes: dict[str, Any]) -> Any:
    builder = StateGraph(LogState)
    for name, fn in nodes.items():
        builder.add_node(name, fn)
        builder.add_edge(START, name)
    return builder.compile()


async def test_async_nodes_of_a_step_run_at_once() -> None:
    """Four async nodes each wait until all four are inside: only true concurrency finishes."""
    meter = Meter()
    all_in = anyio.Event()

    def make(name: str) -> Any:
        async def node(state: LogState) -> dict[str, Any]:
            meter.enter()
            if meter.active == 4:
                all_in.set()
            await all_in.wait()
            meter.leave()
            return {"log": [name]}

        return node

    graph = fan({n: make(n) for n in "abcd"})
    with anyio.fail_after(5):
        assert await graph.ainvoke({"log": []}) == {"log": ["a", "b", "c", "d"]}
    assert meter.peak == 4


async def test_sync_nodes_of_a_step_run_in_worker_threads_at_once() -> None:
    barrier = threading.Barrier(3, timeout=5)

    def make(name: str) -> Any:
        def node(state: LogState) -> dict[str, Any]:
            barrier.wait()  # only returns once all three threads are inside
            return {"log": [name]}

        return node

    graph = fan({n: make(n) for n in "xyz"})
    with anyio.fail_after(10):
        assert await graph.ainvoke({"log": []}) == {"log": ["x", "y", "z"]}


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_max_concurrency_caps_the_tasks_of_a_step(kind: str) -> None:
    """LangGraph's `max_concurrency` config caps concurrent tasks, async ones included."""
    meter = Meter()
    pair = threading.Condition()
    started: list[str] = []

    def make(name: str) -> Any:
        if kind == "async":

            async def node(state: LogState) -> dict[str, Any]:
                meter.enter()
                for _ in range(3):
                    await anyio.lowlevel.checkpoint()
                meter.leave()
                return {"log": [name]}

        else:

            def node(state: LogState) -> dict[str, Any]:
                # Stay inside until a second node is inside too (or no other node is left to
                # come), so an uncapped step would pile more threads in.
                with pair:
                    meter.enter()
                    started.append(name)
                    pair.notify_all()
                    pair.wait_for(lambda: meter.active >= 2 or len(started) == 4, timeout=5)
                    meter.leave()
                    pair.notify_all()
                return {"log": [name]}

        return node

    graph = fan({n: make(n) for n in "abcd"})
    with anyio.fail_after(5):
        assert await graph.ainvoke({"log": []}, {"max_concurrency": 2}) == {"log": ["a", "b", "c", "d"]}
    assert 1 <= meter.peak <= 2
