"""Cancelling a run mid-step: the last checkpoint stays intact and the thread resumes."""

from __future__ import annotations

import contextlib
import operator
import uuid
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, StateGraph, interrupt

pytestmark = pytest.mark.anyio


class LogState(TypedDict):
    log: Annotated[list, operator.add]


class Blocker:
    """A node that signals it started, then waits forever unless released beforehand."""

    def __init__(self) -> None:
        self.started: anyio.Event | None = None
        self.release = False
        self.runs = 0

    async def __call__(self, state: LogState) -> dict[str, Any]:
        self.runs += 1
        assert self.started is not None
        self.started.set()
        if not self.release:
            await anyio.Event().wait()  # only cancellation ends this
        return {"log": ["slow"]}


def build(blocker: Blocker, durability_saver: Any = None) -> Any:
    builder = StateGraph(LogState)
    builder.add_node("first", lambda s: {"log": ["first"]})
    builder.add_node("fast", lambda s: {"log": ["fast"]})
    builder.add_node("slow", blocker)
    builder.add_edge(START, "first")
    builder.add_edge("first", "fast")
    builder.add_edge("first", "slow")
    return builder.compile(checkpointer=durability_saver or InMemorySaver())


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_cancel_mid_step_then_resume(durability: str) -> None:
    blocker = Blocker()
    blocker.started = anyio.Event()
    graph = build(blocker)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await graph.ainvoke({"log": []}, config, durability=durability)

            tg.start_soon(run)
            await blocker.started.wait()
            tg.cancel_scope.cancel()
    snap = await graph.aget_state(config)
    # The step that was running (fast + slow) did not complete: its checkpoint is the head.
    assert snap.values["log"][:1] == ["first"]
    assert "slow" in snap.next
    assert snap.metadata["source"] == "loop"
    blocker.release = True
    blocker.started = anyio.Event()
    with anyio.fail_after(5):
        result = await graph.ainvoke(None, config)
    assert result == {"log": ["first", "fast", "slow"]}
    assert blocker.runs == 2


async def test_cancel_while_waiting_for_a_streamed_part() -> None:
    """Cancelling the consumer of astream stops the run; the thread resumes afterwards."""
    blocker = Blocker()
    blocker.started = anyio.Event()
    graph = build(blocker)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    seen: list[Any] = []

    async def consume() -> None:
        async for part in graph.astream({"log": []}, config, stream_mode="updates"):
            seen.append(part)

    # As in LangGraph, the next step starts once the reader asks for more, so the reader
    # keeps reading and is cancelled from outside once the slow node has started.
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await blocker.started.wait()
            tg.cancel_scope.cancel()
    assert seen[0] == {"first": {"log": ["first"]}}
    blocker.release = True
    with anyio.fail_after(5):
        assert await graph.ainvoke(None, config) == {"log": ["first", "fast", "slow"]}


async def test_cancel_after_an_answer_keeps_the_interrupt_answerable() -> None:
    """A resume cancelled mid-step keeps its recorded answer: invoke(None) delivers it."""
    started = anyio.Event()
    release = False

    async def ask(state: LogState) -> dict[str, Any]:
        answer = interrupt("q")
        started.set()
        if not release:
            await anyio.Event().wait()
        return {"log": [f"ask:{answer}"]}

    builder = StateGraph(LogState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    [intr] = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def resume() -> None:
                await graph.ainvoke(Command(resume="A"), config)

            tg.start_soon(resume)
            await started.wait()
            tg.cancel_scope.cancel()
    release = True
    with anyio.fail_after(5):
        assert (await graph.aget_state(config)).interrupts == ()  # answered, not yet run
        result = await graph.ainvoke(None, config)
    assert result == {"log": ["ask:A"]}
    assert intr.value == "q"


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_leaving_the_stream_keeps_what_finished_siblings_wrote(durability: str) -> None:
    """A caller that leaves ``astream`` after seeing one node's update: that node does not run
    again when the thread goes on (its writes are kept), as under LangGraph; only the sibling
    still running at the time does. (The in-memory saver, which saves nothing durable, used to
    drop them.)"""
    blocker = Blocker()
    blocker.started = anyio.Event()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    fast_runs = 0

    def fast(state: LogState) -> dict[str, Any]:
        nonlocal fast_runs
        fast_runs += 1
        return {"log": ["fast"]}

    builder = StateGraph(LogState)
    builder.add_node("fast", fast)
    builder.add_node("slow", blocker)
    builder.add_edge(START, "fast")
    builder.add_edge(START, "slow")
    graph = builder.compile(checkpointer=InMemorySaver())
    with anyio.fail_after(5):
        # (aclosing: the run is cancelled when the loop is left, not when the generator is collected)
        async with contextlib.aclosing(graph.astream({"log": []}, config, stream_mode="updates", durability=durability)) as parts:
            async for part in parts:
                assert part == {"fast": {"log": ["fast"]}}
                break
    snap = await graph.aget_state(config)
    assert snap.values == {"log": ["fast"]} and snap.next == ("slow",)
    blocker.release = True
    blocker.started = anyio.Event()
    with anyio.fail_after(5):
        assert await graph.ainvoke(None, config) == {"log": ["fast", "slow"]}
    assert fast_runs == 1 and blocker.runs == 2
