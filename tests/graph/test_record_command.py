"""arecord_command: validate and save an answer without running; a later run delivers it."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, StateGraph
from streamhil.errors import (
    AlreadyAnsweredError,
    AmbiguousResumeError,
    CheckpointError,
    EmptyInputError,
    NothingPendingError,
    UnknownInterruptError,
)

from .helpers import Calls, LogState, chain, thread

pytestmark = pytest.mark.anyio


def two_askers(calls: Calls) -> Any:
    builder = StateGraph(LogState)
    builder.add_node("a", calls.asking("a", "qa"))
    builder.add_node("b", calls.asking("b", "qb"))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    return builder.compile(checkpointer=InMemorySaver())


async def test_record_then_run_delivers_the_answer() -> None:
    calls = Calls()
    graph = two_askers(calls)
    config = thread()
    with anyio.fail_after(5):
        qa, qb = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
        answered = await graph.arecord_command(config, Command(resume={qa.id: "A"}))
        assert answered == [qa]
        assert calls == {"a": 1, "b": 1}  # nothing ran
        snap = await graph.aget_state(config)
        assert snap.interrupts == (qb,)  # qa is answered, waiting to run
        parts = [p async for p in graph.astream(None, config, stream_mode="updates")]
    # b is parked, not re-run; the stream shows its pending interrupt as LangGraph's re-run would
    assert parts == [{"a": {"log": ["a:A"]}}, {"__interrupt__": (qb,)}]
    assert calls == {"a": 2, "b": 1}
    assert (await graph.aget_state(config)).interrupts == (qb,)


async def test_recorded_answers_accumulate() -> None:
    calls = Calls()
    graph = two_askers(calls)
    config = thread()
    qa, qb = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
    await graph.arecord_command(config, Command(resume={qb.id: "B"}))
    # One question is left, so a plain value is no longer ambiguous.
    assert await graph.arecord_command(config, Command(resume="A")) == [qa]
    assert await graph.ainvoke(None, config) == {"log": ["a:A", "b:B"]}


async def test_recording_errors_save_nothing() -> None:
    calls = Calls()
    graph = two_askers(calls)
    config = thread()
    qa, qb = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
    head = await graph.checkpointer.aget_tuple(config)
    with pytest.raises(AmbiguousResumeError):
        await graph.arecord_command(config, Command(resume="x"))
    with pytest.raises(UnknownInterruptError):
        await graph.arecord_command(config, Command(resume={"f" * 32: "x"}))
    await graph.arecord_command(config, Command(resume={qa.id: "first"}))
    recorded = await graph.checkpointer.aget_tuple(config)
    with pytest.raises(AlreadyAnsweredError):
        await graph.arecord_command(config, Command(resume={qa.id: "second"}))
    assert (await graph.checkpointer.aget_tuple(config)).pending_writes == recorded.pending_writes
    assert len(recorded.pending_writes) == len(head.pending_writes) + 1
    assert await graph.ainvoke(Command(resume={qb.id: "B"}), config) == {"log": ["a:first", "b:B"]}


async def test_recording_on_threads_with_nothing_pending() -> None:
    graph = chain(["a"], Calls())
    with pytest.raises(NothingPendingError):
        await graph.arecord_command(thread(), Command(resume="x"))
    config = thread()
    await graph.ainvoke({"log": []}, config)
    with pytest.raises(NothingPendingError, match="Its run has ended: start it again with an input"):
        await graph.arecord_command(config, Command(resume="x"))
    with pytest.raises(EmptyInputError):
        await graph.ainvoke(Command(), config)


async def test_resuming_a_thread_whose_node_failed_says_so() -> None:
    """Not "paused at a static breakpoint": the node failed, and invoke(None) runs it again."""
    def boom(state: Any) -> dict[str, Any]:
        raise RuntimeError("api down")

    builder = StateGraph(LogState)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with pytest.raises(RuntimeError, match="api down"):
        await graph.ainvoke({"log": []}, config)
    with pytest.raises(NothingPendingError, match=r"failed in node 'boom' \(RuntimeError\('api down'\)\): run the step again"):
        await graph.ainvoke(Command(resume="retry"), config)
    with pytest.raises(RuntimeError, match="api down"):  # the advice holds: the node runs again
        await graph.ainvoke(None, config)


async def test_recording_needs_a_checkpointer() -> None:
    graph = chain(["a"], Calls(), checkpointer=None)
    with pytest.raises(CheckpointError):
        await graph.arecord_command(thread(), Command(resume="x"))


def test_record_command_sync() -> None:
    calls = Calls()
    graph = chain(["ask"], calls, ask={"ask"})
    config = thread()
    [intr] = graph.invoke({"log": []}, config)["__interrupt__"]
    assert graph.record_command(config, Command(resume="yes")) == [intr]
    assert graph.invoke(None, config) == {"log": ["ask:yes"]}


async def test_concurrent_recordings_keep_both_answers() -> None:
    """Two answers to two different interrupts, recorded at the same time (two clients, say),
    are both kept: each call that returned normally was a durable acknowledgement."""
    calls = Calls()
    graph = two_askers(calls)
    config = thread()
    qa, qb = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(graph.arecord_command, config, Command(resume={qa.id: "A"}))
            tg.start_soon(graph.arecord_command, config, Command(resume={qb.id: "B"}))
        assert (await graph.aget_state(config)).interrupts == ()
        assert await graph.ainvoke(None, config) == {"log": ["a:A", "b:B"]}


def _concat(a: list[Any], b: list[Any]) -> list[Any]:
    return a + b


class Items(TypedDict, total=False):
    items: Annotated[list[Any], _concat]


async def test_an_update_the_reducers_refuse_is_not_recorded() -> None:
    """A resume whose ``update`` a reducer refuses raises InvalidUpdateError and saves nothing:
    recording it would make every later read of the thread fail."""
    from streamhil import interrupt
    from streamhil.errors import InvalidUpdateError

    builder = StateGraph(Items)
    builder.add_node("ask", lambda s: {"items": [interrupt("more?")]})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    await graph.ainvoke({"items": []}, config)
    with pytest.raises(InvalidUpdateError, match="refused by the state's reducers"):
        await graph.arecord_command(config, Command(resume="x", update={"items": 1}))
    state = await graph.aget_state(config)  # still readable, still waiting
    assert [i.value for i in state.interrupts] == ["more?"]
    assert await graph.ainvoke(Command(resume="y"), config) == {"items": ["y"]}
