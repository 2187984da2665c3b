"""History, record snapshots, replay and fork (T43-T49, difference 8)."""

from __future__ import annotations

from typing import Any

import pytest

from streamhil import START, Command, InMemorySaver, StateGraph
from streamhil.errors import ResumeError

from .helpers import Calls, LogState, chain, history, thread


def finished_abc(calls: Calls) -> tuple[Any, dict[str, Any], Any]:
    graph = chain(["a", "b", "c"], calls)
    config = thread()
    graph.invoke({"log": []}, config)
    before_b = next(s for s in graph.get_state_history(config) if s.next == ("b",))
    return graph, config, before_b


def test_history_of_a_chain() -> None:
    """§4.5: one input checkpoint, then one loop checkpoint per step; ids sort newest first."""
    graph, config, _ = finished_abc(Calls())
    rows = [(s.metadata["source"], s.metadata["step"], s.next, s.values) for s in graph.get_state_history(config)]
    assert rows == [
        ("loop", 3, (), {"log": ["a", "b", "c"]}),
        ("loop", 2, ("c",), {"log": ["a", "b"]}),
        ("loop", 1, ("b",), {"log": ["a"]}),
        ("loop", 0, ("a",), {"log": []}),
        ("input", -1, ("__start__",), {"log": []}),
    ]
    ids = [s.config["configurable"]["checkpoint_id"] for s in graph.get_state_history(config)]
    assert ids == sorted(ids, reverse=True)
    snaps = list(graph.get_state_history(config))
    for child, parent in zip(snaps, snaps[1:]):
        assert child.parent_config["configurable"]["checkpoint_id"] == parent.config["configurable"]["checkpoint_id"]
    assert snaps[-1].parent_config is None


def test_replay_from_an_older_checkpoint_forks() -> None:
    """T43: nodes before the checkpoint are not re-run; a fork checkpoint starts a new branch."""
    calls = Calls()
    graph, config, before_b = finished_abc(calls)
    old = list(graph.get_state_history(config))
    calls.clear()
    assert graph.invoke(None, before_b.config) == {"log": ["a", "b", "c"]}
    assert calls == {"b": 1, "c": 1}
    new = list(graph.get_state_history(config))
    assert len(new) == len(old) + 3
    assert new[3:] == old
    assert [(s.metadata["source"], s.metadata["step"], s.next) for s in new[:3]] == [
        ("loop", 4, ()),
        ("loop", 3, ("c",)),
        ("fork", 2, ("b",)),
    ]
    assert new[2].parent_config["configurable"]["checkpoint_id"] == before_b.config["configurable"]["checkpoint_id"]


def test_fork_by_update() -> None:
    """T44: update_state on an old checkpoint branches from it."""
    calls = Calls()
    graph, config, before_b = finished_abc(calls)
    fork_config = graph.update_state(before_b.config, {"log": ["X"]})
    fork = graph.get_state(fork_config)
    assert (fork.metadata["source"], fork.metadata["step"], fork.next, fork.values) == (
        "update",
        2,
        ("b",),
        {"log": ["a", "X"]},
    )
    assert fork.parent_config["configurable"]["checkpoint_id"] == before_b.config["configurable"]["checkpoint_id"]
    calls.clear()
    assert graph.invoke(None, fork_config) == {"log": ["a", "X", "b", "c"]}
    assert calls == {"b": 1, "c": 1}
    assert graph.get_state(config).values == {"log": ["a", "X", "b", "c"]}


def test_record_snapshot() -> None:
    """T45: an explicit checkpoint_id gives the step-start values and every task with its result."""
    graph, _, before_b = finished_abc(Calls())
    snap = graph.get_state(before_b.config)
    assert snap.values == {"log": ["a"]}
    assert snap.next == ("b",)
    assert [(t.name, t.result) for t in snap.tasks] == [("b", {"log": ["b"]})]


def test_live_and_record_snapshots_differ() -> None:
    """§4.5: live shows finished siblings applied and only what waits; record shows the step."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("ask", calls.asking("ask", "q"))
    builder.add_node("ok", calls.node("ok"))
    builder.add_edge(START, "ask")
    builder.add_edge(START, "ok")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    [intr] = graph.invoke({"log": []}, config)["__interrupt__"]
    live = graph.get_state(config)
    record = graph.get_state(live.config)
    assert (live.values, live.next, live.interrupts) == ({"log": ["ok"]}, ("ask",), (intr,))
    assert (record.values, record.next, record.interrupts) == ({"log": []}, ("ask", "ok"), (intr,))
    assert [(t.name, t.result) for t in record.tasks] == [("ask", None), ("ok", {"log": ["ok"]})]


def test_history_filters() -> None:
    """T46: limit, before and a metadata filter."""
    graph, config, before_b = finished_abc(Calls())
    graph.update_state(config, {"log": ["late"]}, as_node="c")
    steps = lambda **kw: [s.metadata["step"] for s in graph.get_state_history(config, **kw)]  # noqa: E731
    assert steps(limit=3) == [4, 3, 2]
    assert steps(before=before_b.config) == [0, -1]
    assert history(graph, config, filter={"source": "update"}) == [("update", 4, ())]
    assert steps(filter={"source": "loop"}, limit=2) == [3, 2]


def test_replay_before_an_interrupt_refires_it() -> None:
    """T47: replay from before `ask` re-asks with a new id; the old branch stays in history."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [old] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.invoke(Command(resume="old_answer"), config)
    assert graph.get_state(config).values == {"log": ["a", "ask:old_answer", "b"]}
    old_history = list(graph.get_state_history(config))
    before_ask = next(s for s in old_history if s.next == ("ask",))
    calls.clear()
    result = graph.invoke(None, before_ask.config)
    assert result["log"] == ["a"]
    [new] = result["__interrupt__"]
    assert new.value == old.value and new.id != old.id
    assert calls == {"ask": 1}
    assert graph.invoke(Command(resume="new_answer"), config) == {"log": ["a", "ask:new_answer", "b"]}
    history_now = list(graph.get_state_history(config))
    assert history_now[-len(old_history):] == old_history
    assert "fork" in [s.metadata["source"] for s in history_now[: -len(old_history)]]


def test_command_addressed_at_an_old_checkpoint_is_refused() -> None:
    """T48 / difference 8: LangGraph reuses the old stored answer; a Command with an old
    checkpoint_id is a ResumeError and saves nothing."""
    calls = Calls()
    graph = chain(["pre", "ask"], calls, ask={"ask"})
    config = thread()
    graph.invoke({"log": []}, config)
    at_interrupt = graph.get_state(config).config
    graph.invoke(Command(resume="R1"), config)
    before = list(graph.get_state_history(config))
    with pytest.raises(ResumeError):
        graph.invoke(Command(resume="R2"), at_interrupt)
    assert list(graph.get_state_history(config)) == before


def test_replaying_the_finished_head_forks_nothing() -> None:
    """T49 / difference 8: LangGraph appends `fork <step+1> ()`; we return the state as is."""
    calls = Calls()
    graph, config, _ = finished_abc(calls)
    before = list(graph.get_state_history(config))
    calls.clear()
    assert graph.invoke(None, graph.get_state(config).config) == {"log": ["a", "b", "c"]}
    assert calls == {}
    assert list(graph.get_state_history(config)) == before


@pytest.mark.anyio
async def test_replay_async() -> None:
    calls = Calls()
    graph = chain(["a", "b", "c"], calls)
    config = thread()
    await graph.ainvoke({"log": []}, config)
    before_b = [s async for s in graph.aget_state_history(config) if s.next == ("b",)][0]
    calls.clear()
    parts = [p async for p in graph.astream(None, before_b.config, stream_mode="values")]
    assert parts == [{"log": ["a"]}, {"log": ["a", "b"]}, {"log": ["a", "b", "c"]}]
    assert calls == {"b": 1, "c": 1}


def test_replay_reruns_every_task_of_the_step() -> None:
    """§4.6: replaying a step re-runs all its tasks, those that had finished included; the
    interrupt is asked again with a new id."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("pre", calls.node("pre"))
    builder.add_node("ask", calls.asking("ask"))
    builder.add_node("ok", calls.node("ok"))
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "ask")
    builder.add_edge("pre", "ok")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    [old] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.invoke(Command(resume="R1"), config)
    step = next(s for s in graph.get_state_history(config) if s.next == ("ask", "ok"))
    calls.clear()
    result = graph.invoke(None, step.config)
    assert result["log"] == ["pre", "ok"]
    [new] = result["__interrupt__"]
    assert new.id != old.id
    assert calls == {"ask": 1, "ok": 1}
    assert graph.invoke(Command(resume="R2"), config) == {"log": ["pre", "ask:R2", "ok"]}


def test_config_metadata_is_stored_with_the_runs_checkpoints() -> None:
    """LangGraph's savers merge ``config["metadata"]`` and scalar ``configurable`` values into
    each checkpoint's metadata (reference §checkpointers); so does streamhil."""
    from streamhil import START, InMemorySaver, StateGraph

    from .helpers import LogState

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {
        "configurable": {"thread_id": "m", "user_tag": "abc", "__private": 1, "obj": {"not": "scalar"}},
        "metadata": {"run_note": "hello"},
        "run_id": "r-1",
    }
    graph.invoke({"log": []}, config)
    history = list(graph.get_state_history({"configurable": {"thread_id": "m"}}))
    assert [h.metadata["source"] for h in history] == ["loop", "loop", "input"]
    for snapshot in history:
        assert snapshot.metadata["run_note"] == "hello" and snapshot.metadata["user_tag"] == "abc"
        assert snapshot.metadata["run_id"] == "r-1"
        assert "__private" not in snapshot.metadata and "obj" not in snapshot.metadata
        assert "thread_id" not in snapshot.metadata
    # a later run without metadata stores none of it
    graph.invoke({"log": []}, {"configurable": {"thread_id": "m"}})
    latest = graph.get_state({"configurable": {"thread_id": "m"}})
    assert "run_note" not in latest.metadata and latest.metadata["source"] == "loop"
