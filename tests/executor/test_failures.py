"""Failing nodes (difference 4), RetryPolicy and node timeouts."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import httpx
import pytest
import requests

from streamhil import START, Command, InMemorySaver, RetryPolicy, StateGraph, interrupt
from streamhil.errors import GraphBuildError, NodeTimeoutError

pytestmark = pytest.mark.anyio


class LogState(TypedDict):
    log: Annotated[list, operator.add]


def _requests_response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


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
    builder.add_node("shaky", shaky, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False))
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
    builder.add_node("always", always, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False))
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
    assert all(0.5 <= policy.wait(1) <= 1.5 for _ in range(50))  # up to a second of jitter
    assert RetryPolicy(jitter=False).wait(2) == 1.0
    assert RetryPolicy(retry_on=lambda e: "x" in str(e)).should_retry(ValueError("x"))
    assert not RetryPolicy(retry_on=(KeyError,)).should_retry(ValueError("x"))
    assert RetryPolicy(retry_on=[KeyError, ValueError]).should_retry(ValueError("x"))  # a list, as in LangGraph


def test_retry_policy_is_langgraphs_named_tuple() -> None:
    """Same fields, order and defaults as LangGraph's, so positional and keyword uses carry over."""
    from langgraph.types import RetryPolicy as LangGraphRetryPolicy

    assert RetryPolicy._fields == LangGraphRetryPolicy._fields
    ours, theirs = RetryPolicy(), LangGraphRetryPolicy()
    assert ours[:5] == theirs[:5]
    assert RetryPolicy(1.0, 3.0, 9.0, 4, False)[:5] == LangGraphRetryPolicy(1.0, 3.0, 9.0, 4, False)[:5]


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad input"), TypeError("bug"), KeyError("missing"), ZeroDivisionError(), RuntimeError("x"),
        FileNotFoundError("gone"), ConnectionError("reset"), TimeoutError("slow"), Exception("other"),
        httpx.HTTPStatusError("503", request=httpx.Request("GET", "http://x"), response=httpx.Response(503)),
        httpx.HTTPStatusError("404", request=httpx.Request("GET", "http://x"), response=httpx.Response(404)),
        requests.HTTPError("no response"),
        requests.HTTPError("502", response=_requests_response(502)),
    ],
    ids=repr,
)
def test_default_retry_on_matches_langgraph(exc: Exception) -> None:
    from langgraph._internal._retry import default_retry_on as langgraph_default

    assert RetryPolicy().should_retry(exc) is langgraph_default(exc)


def test_default_retry_on_does_not_retry_a_requests_4xx() -> None:
    """LangGraph retries it (it tests the response's truth, which is False for a 4xx answer);
    a client error would only fail again: not retried (docs/langgraph-differences.md)."""
    assert not RetryPolicy().should_retry(requests.HTTPError("400", response=_requests_response(400)))


async def test_default_policy_does_not_retry_a_bug() -> None:
    """A node's ValueError is a bug, not a flaky call: run once, as in LangGraph (not three times)."""
    attempts: list[int] = []

    def buggy(state: LogState) -> dict[str, Any]:
        attempts.append(1)
        raise ValueError("bug")

    builder = StateGraph(LogState)
    builder.add_node("buggy", buggy, retry_policy=RetryPolicy(initial_interval=0.0, jitter=False))
    builder.add_edge(START, "buggy")
    with pytest.raises(ValueError, match="bug"):
        await builder.compile().ainvoke({"log": []})
    assert attempts == [1]


async def test_first_matching_policy_of_several_applies() -> None:
    attempts: list[str] = []

    def flaky(state: LogState) -> dict[str, Any]:
        attempts.append("try")
        raise KeyError("k") if len(attempts) < 4 else ConnectionError("c")

    policies = [
        RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=ConnectionError),
        RetryPolicy(max_attempts=4, initial_interval=0.0, jitter=False, retry_on=KeyError),
    ]
    builder = StateGraph(LogState)
    builder.add_node("flaky", flaky, retry_policy=policies)
    builder.add_edge(START, "flaky")
    with pytest.raises(ConnectionError):  # KeyErrors: retried up to 4 attempts; the 4th fails with a
        await builder.compile().ainvoke({"log": []})  # ConnectionError, whose policy allows 2: no more
    assert len(attempts) == 4


def test_retry_policy_must_be_a_policy() -> None:
    builder = StateGraph(LogState)
    with pytest.raises(GraphBuildError, match="retry_policy must be a RetryPolicy"):
        builder.add_node("n", lambda s: {}, retry_policy=[{"max_attempts": 2}])  # type: ignore[list-item]


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


def test_next_wait_picks_the_covering_policy_and_counts_its_attempts() -> None:
    from streamhil._retry import next_wait

    policies = (
        RetryPolicy(max_attempts=2, initial_interval=1.0, jitter=False, retry_on=ConnectionError),
        RetryPolicy(max_attempts=4, initial_interval=0.5, backoff_factor=3.0, jitter=False, retry_on=KeyError),
    )
    assert next_wait(policies, ConnectionError(), 1) == 1.0
    assert next_wait(policies, ConnectionError(), 2) is None  # its 2 attempts are spent
    assert [next_wait(policies, KeyError(), n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, None]
    assert next_wait(policies, ValueError(), 1) is None  # no policy covers it
    assert next_wait((), ConnectionError(), 1) is None
