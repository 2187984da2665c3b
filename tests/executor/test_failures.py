"""Failing nodes (difference 4), RetryPolicy and node timeouts."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, RetryPolicy, StateGraph, interrupt
from streamhil.errors import NodeTimeoutError

pytestmark = pytest.mark.anyio


class LogState(TypedDict):
    log: Annotated[list, operator.add]


def config() -> dict[str, Any]:
    import uuid

    return {"configurable": {"thread_id": uuid.uuid4().hex}}


async def test_a_node_that_fails_after_its_answer_drops_the_answer() -> None:
    """Difference 4: the interrupt is pending again with the same id; a good answer then works."""
    calls: list[str] = []

    def ask(state: LogState) -> dict[str, Any]:
        answer = interrupt("number?")
        calls.append(answer)
        return {"log": [int(answer)]}

    builder = StateGraph(LogState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config()
    [intr] = (await graph.ainvoke({"log": []}, cfg))["__interrupt__"]
    with pytest.raises(ValueError, match="invalid literal"):
        await graph.ainvoke(Command(resume="seven"), cfg)
    snap = await graph.aget_state(cfg)
    assert snap.next == ("ask",)
    assert snap.interrupts == (intr,)
    assert snap.tasks[0].error is not None and "invalid literal" in snap.tasks[0].error
    assert await graph.ainvoke(Command(resume={intr.id: "7"}), cfg) == {"log": [7]}
    assert calls == ["seven", "7"]


async def test_finished_siblings_are_kept_and_running_ones_cancelled() -> None:
    """Difference 4: when `boom` fails, `done` (finished) keeps its write, `slow` (still running)
    is cancelled and runs again on the next invoke."""
    started: dict[str, int] = {"slow": 0, "boom": 0, "done": 0}
    gates: dict[str, anyio.Event] = {}
    healed = False

    def gate(name: str) -> anyio.Event:
        return gates.setdefault(name, anyio.Event())

    async def done(state: LogState) -> dict[str, Any]:
        started["done"] += 1
        gate("done").set()
        return {"log": ["done"]}

    async def slow(state: LogState) -> dict[str, Any]:
        started["slow"] += 1
        gate("slow").set()
        if not healed:
            await anyio.Event().wait()  # never set: only cancellation ends it
        return {"log": ["slow"]}

    async def boom(state: LogState) -> dict[str, Any]:
        started["boom"] += 1
        await gate("slow").wait()
        await gate("done").wait()
        if not healed:
            raise RuntimeError("boom")
        return {"log": ["boom"]}

    builder = StateGraph(LogState)
    for name, fn in (("boom", boom), ("done", done), ("slow", slow)):
        builder.add_node(name, fn)
        builder.add_edge(START, name)
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config()
    with anyio.fail_after(5):
        with pytest.raises(RuntimeError, match="boom"):
            await graph.ainvoke({"log": []}, cfg)
    snap = await graph.aget_state(cfg)
    assert snap.next == ("boom", "slow")
    assert snap.values == {"log": ["done"]}
    healed = True
    gates.clear()
    gate("done").set()
    with anyio.fail_after(5):
        assert await graph.ainvoke(None, cfg) == {"log": ["boom", "done", "slow"]}
    assert started == {"slow": 2, "boom": 2, "done": 1}


async def test_retry_policy_retries_then_succeeds() -> None:
    attempts: list[int] = []

    def shaky(state: LogState) -> dict[str, Any]:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise ConnectionError("flaky network")
        return {"log": [f"ok after {len(attempts)}"]}

    builder = StateGraph(LogState)
    builder.add_node("shaky", shaky, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.0))
    builder.add_edge(START, "shaky")
    graph = builder.compile(checkpointer=InMemorySaver())
    with anyio.fail_after(5):
        assert await graph.ainvoke({"log": []}, config()) == {"log": ["ok after 3"]}
    assert attempts == [1, 2, 3]


async def test_retry_policy_gives_up() -> None:
    attempts: list[int] = []

    def always(state: LogState) -> dict[str, Any]:
        attempts.append(1)
        raise ConnectionError("down")

    builder = StateGraph(LogState)
    builder.add_node("always", always, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0))
    builder.add_edge(START, "always")
    with anyio.fail_after(5), pytest.raises(ConnectionError, match="down"):
        await builder.compile().ainvoke({"log": []})
    assert len(attempts) == 2


async def test_retry_on_filters_exceptions() -> None:
    attempts: list[int] = []

    def wrong(state: LogState) -> dict[str, Any]:
        attempts.append(1)
        raise KeyError("not retried")

    builder = StateGraph(LogState)
    builder.add_node(
        "wrong", wrong, retry_policy=RetryPolicy(max_attempts=5, initial_interval=0.0, retry_on=ConnectionError)
    )
    builder.add_edge(START, "wrong")
    with pytest.raises(KeyError):
        await builder.compile().ainvoke({"log": []})
    assert len(attempts) == 1


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(initial_interval=0.5, backoff_factor=2.0, max_interval=1.5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]
    assert RetryPolicy(retry_on=lambda e: "x" in str(e)).should_retry(ValueError("x"))
    assert not RetryPolicy(retry_on=(KeyError,)).should_retry(ValueError("x"))


async def test_interrupt_is_not_retried() -> None:
    """An interrupt is not a failure: the retry policy does not run the node again."""
    runs: list[int] = []

    def ask(state: LogState) -> dict[str, Any]:
        runs.append(1)
        return {"log": [interrupt("q")]}

    builder = StateGraph(LogState)
    builder.add_node("ask", ask, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.0))
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    result = await graph.ainvoke({"log": []}, config())
    assert len(result["__interrupt__"]) == 1 and runs == [1]


async def test_node_timeout() -> None:
    """A node that waits on an event that never fires times out with NodeTimeoutError."""
    entered = []

    async def stuck(state: LogState) -> dict[str, Any]:
        entered.append(1)
        await anyio.Event().wait()
        return {"log": ["never"]}

    builder = StateGraph(LogState)
    builder.add_node("stuck", stuck, timeout=0.05)
    builder.add_edge(START, "stuck")
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config()
    with anyio.fail_after(5):
        with pytest.raises(NodeTimeoutError, match="stuck") as info:
            await graph.ainvoke({"log": []}, cfg)
    assert isinstance(info.value, TimeoutError)
    assert entered == [1]
    snap = await graph.aget_state(cfg)
    assert snap.next == ("stuck",)
    assert "NodeTimeoutError" in (snap.tasks[0].error or "")


async def test_node_timeout_does_not_fire_for_a_fast_node() -> None:
    builder = StateGraph(LogState)

    async def quick(state: LogState) -> dict[str, Any]:
        return {"log": ["quick"]}

    builder.add_node("quick", quick, timeout=5)
    builder.add_edge(START, "quick")
    assert await builder.compile().ainvoke({"log": []}) == {"log": ["quick"]}
