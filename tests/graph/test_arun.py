"""``arun``: a run on the caller's task, its parts handed to a sink, its outcome what
``aget_state`` would read back (the server relies on that instead of reading it)."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from streamhil import END, START, InMemorySaver, StateGraph, interrupt
from streamhil.config import get_stream_writer
from streamhil.types import Command, Send

from .helpers import LogState, thread

pytestmark = pytest.mark.anyio


def _parallel_askers() -> Any:
    """`fan` sends two askers and a plain worker; `after` runs once all are done."""

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"log": [f"{state['name']}:{interrupt(state['name'])}"]}

    builder = StateGraph(LogState)
    builder.add_node("fan", lambda s: {"log": ["fan"]})
    builder.add_node("ask", ask)
    builder.add_node("work", lambda s: {"log": ["work"]})
    builder.add_node("after", lambda s: {"log": ["after"]})
    builder.add_edge(START, "fan")
    builder.add_conditional_edges("fan", lambda s: [Send("ask", {"name": "x"}), Send("ask", {"name": "y"}), "work"])
    builder.add_edge("ask", "after")
    builder.add_edge("work", "after")
    builder.add_edge("after", END)
    return builder.compile(checkpointer=InMemorySaver())


def _with_subgraph() -> Any:
    inner = StateGraph(LogState)
    inner.add_node("deep", lambda s: {"log": [f"deep:{interrupt('deep?')}"]})
    inner.add_edge(START, "deep")
    outer = StateGraph(LogState)
    outer.add_node("child", inner.compile())
    outer.add_node("last", lambda s: {"log": ["last"]})
    outer.add_edge(START, "child")
    outer.add_edge("child", "last")
    return outer.compile(checkpointer=InMemorySaver())


async def _run_and_compare(graph: Any, input: Any, config: dict[str, Any], **kw: Any) -> Any:
    parts: list[tuple[tuple[str, ...], str, Any]] = []
    outcome = await graph.arun(input, config, sink=lambda ns, mode, payload: parts.append((ns, mode, payload)), **kw)
    snapshot = await graph.aget_state(config)
    assert [i.id for i in outcome.interrupts] == [i.id for i in snapshot.interrupts]
    assert outcome.next == snapshot.next
    assert outcome.checkpoint_id == snapshot.config["configurable"]["checkpoint_id"]
    return outcome, parts


async def test_outcome_matches_the_state_read_back_through_a_whole_thread() -> None:
    graph = _parallel_askers()
    config = thread()
    outcome, parts = await _run_and_compare(graph, {"log": []}, config, stream_mode=["updates"])
    assert {i.value for i in outcome.interrupts} == {"x", "y"} and outcome.next == ("ask", "ask")
    assert ((), "updates", {"fan": {"log": ["fan"]}}) in parts
    # answer one of the two: the other still waits, the worker's result is kept
    first = next(i for i in outcome.interrupts if i.value == "x")
    outcome, _ = await _run_and_compare(graph, Command(resume={first.id: "X"}), config, stream_mode=["updates"])
    assert [i.value for i in outcome.interrupts] == ["y"] and outcome.next == ("ask",)
    outcome, _ = await _run_and_compare(graph, Command(resume="Y"), config, stream_mode=["updates"])
    assert outcome.interrupts == [] and outcome.next == ()
    assert sorted(outcome.values["log"]) == sorted(["fan", "work", "x:X", "y:Y", "after"])


async def test_breakpoints_before_and_after_name_what_runs_next() -> None:
    graph = _parallel_askers()
    config = thread()
    outcome, _ = await _run_and_compare(graph, {"log": []}, config, interrupt_before=["fan"])
    assert outcome.breakpoint and outcome.next == ("fan",) and outcome.interrupts == []
    outcome, _ = await _run_and_compare(graph, None, config, interrupt_after=["fan"])
    assert outcome.breakpoint and sorted(outcome.next) == ["ask", "ask", "work"]


async def test_a_subgraph_interrupt_is_pending_on_the_parent_and_its_parts_carry_their_namespace() -> None:
    graph = _with_subgraph()
    config = thread()
    outcome, parts = await _run_and_compare(graph, {"log": []}, config, stream_mode=["updates"])
    assert [i.value for i in outcome.interrupts] == ["deep?"] and outcome.next == ("child",)
    assert any(ns and ns[0].startswith("child:") for ns, _, _ in parts)
    outcome, _ = await _run_and_compare(graph, Command(resume="ok"), config, stream_mode=["updates"])
    assert outcome.next == () and outcome.values["log"] == ["deep:ok", "last"]


async def test_parts_of_a_sync_node_reach_the_sink_on_the_loop_thread() -> None:
    seen: list[tuple[str, Any, bool]] = []
    loop_thread = threading.get_ident()

    def chatty(state: LogState) -> dict[str, Any]:
        assert threading.get_ident() != loop_thread  # a plain def runs in a worker thread
        get_stream_writer()({"half": True})
        return {"log": ["chatty"]}

    builder = StateGraph(LogState)
    builder.add_node("chatty", chatty)
    builder.add_edge(START, "chatty")
    graph = builder.compile(checkpointer=InMemorySaver())
    outcome = await graph.arun(
        {"log": []}, thread(), sink=lambda ns, mode, payload: seen.append((mode, payload, threading.get_ident() == loop_thread)),
        stream_mode=["custom", "updates"],
    )
    assert seen == [("custom", {"half": True}, True), ("updates", {"chatty": {"log": ["chatty"]}}, True)]
    assert outcome.values == {"log": ["chatty"]} and outcome.next == ()


async def test_cancelling_the_caller_stops_the_run_and_keeps_the_thread_resumable() -> None:
    started = anyio.Event()
    release = anyio.Event()

    async def slow(state: LogState) -> dict[str, Any]:
        started.set()
        await release.wait()
        return {"log": ["slow"]}

    builder = StateGraph(LogState)
    builder.add_node("first", lambda s: {"log": ["first"]})
    builder.add_node("slow", slow)
    builder.add_edge(START, "first")
    builder.add_edge("first", "slow")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: graph.arun({"log": []}, config, sink=lambda *a: None))
            await started.wait()
            tg.cancel_scope.cancel()
        release.set()
        assert (await graph.aget_state(config)).next == ("slow",)
        outcome = await graph.arun(None, config, sink=lambda *a: None)
    assert outcome.values == {"log": ["first", "slow"]}


async def test_the_graph_error_is_raised_to_the_caller() -> None:
    builder = StateGraph(LogState)
    builder.add_node("bad", lambda s: 42)
    builder.add_edge(START, "bad")
    graph = builder.compile()
    with pytest.raises(Exception, match="expected dict"):
        await graph.arun({"log": []}, sink=lambda *a: None)


async def test_a_replay_that_runs_nothing_describes_the_latest_checkpoint() -> None:
    """Replaying a finished checkpoint forks nothing; the outcome names the thread's latest
    checkpoint (here waiting for an answer), as aget_state does."""
    builder = StateGraph(LogState)
    builder.add_node("ask", lambda s: {"log": [f"ask:{interrupt('q')}"]})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    await graph.arun({"log": []}, config, sink=lambda *a: None)
    finished = await graph.arun(Command(resume="a"), config, sink=lambda *a: None)
    assert finished.next == () and finished.interrupts == []
    asking = await graph.arun({"log": ["again"]}, config, sink=lambda *a: None)
    assert len(asking.interrupts) == 1
    replay = {"configurable": {**config["configurable"], "checkpoint_id": finished.checkpoint_id}}
    outcome = await graph.arun(None, replay, sink=lambda *a: None)
    head = await graph.aget_state(config)
    assert outcome.checkpoint_id == asking.checkpoint_id == head.config["configurable"]["checkpoint_id"]
    assert [i.id for i in outcome.interrupts] == [i.id for i in asking.interrupts] and outcome.next == ("ask",)


async def test_inside_a_node_it_is_refused() -> None:
    inner = StateGraph(LogState)
    inner.add_node("x", lambda s: {"log": ["x"]})
    inner.add_edge(START, "x")
    sub = inner.compile()

    ran: list[str] = []

    async def calls(state: LogState) -> dict[str, Any]:
        await sub.arun({"log": []}, sink=lambda *a: ran.append("part"))
        return {}

    outer = StateGraph(LogState)
    outer.add_node("calls", calls)
    outer.add_edge(START, "calls")
    with pytest.raises(TypeError, match="arun"):
        await outer.compile().ainvoke({"log": []})
    assert ran == []  # refused before anything ran
