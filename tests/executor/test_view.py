"""Reading a thread on its own (executor/view.py): a checkpoint and its pending writes, built by
hand, read into the tasks of its step, with a hand-written GraphSpec (no StateGraph, no saver)."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from streamhil.checkpoint.base import Checkpoint, CheckpointTuple, PendingWrite, thread_config
from streamhil.constants import COMMAND_TASK, EDITED, ERROR, INTERRUPT, RESUME, TASKS
from streamhil.executor.plan import prepare_tasks
from streamhil.executor.spec import ChannelSpec, GraphSpec, NodeSpec, StateSchema
from streamhil.executor.view import GOTO, RESUME_MAP, UPDATE, fresh_view, is_resume_map, load_view, state_values
from streamhil.types import Interrupt

STATE = StateSchema(dict, {"q": ChannelSpec("q"), "log": ChannelSpec("log", operator.add, list)})
SPEC = GraphSpec(
    name="view",
    schema=STATE,
    nodes={n: NodeSpec(name=n, fn=lambda s: None, is_async=False) for n in ("a", "b", "c")},
)
SPECS = [["pull", "a", ["branch:to:a"]], ["pull", "b", ["branch:to:b"]]]


def saved(writes: list[PendingWrite], values: dict[str, Any] | None = None, specs: list[Any] = SPECS) -> CheckpointTuple:
    channel_values = {"q": "start", "log": ["x"], TASKS: specs, **(values or {})}
    checkpoint = Checkpoint("cp-1", "2026-01-01T00:00:00+00:00", channel_values, {})
    return CheckpointTuple(thread_config("t", "", "cp-1"), checkpoint, {"step": 4}, None, list(writes))


def ids() -> tuple[str, str]:
    a, b = prepare_tasks(SPECS, "cp-1", "", 5)
    return a.id, b.id


def test_a_checkpoint_without_writes_lists_its_tasks_unfinished() -> None:
    view = load_view(SPEC, saved([]), "")
    assert view.step == 5
    assert [(t.task.name, t.finished) for t in view.tasks] == [("a", False), ("b", False)]
    assert view.values == {"q": "start", "log": ["x"]}  # hidden channels are not state
    assert view.pending_interrupts == [] and view.resume_map == {}


def test_pending_writes_say_which_task_finished_paused_or_failed() -> None:
    a, b = ids()
    question = Interrupt("ok?", id="i" * 32, node="b", task_id=b)
    view = load_view(SPEC, saved([
        (a, "log", ["a"]),
        (b, INTERRUPT, [question]),
        (b, RESUME, [[0, "earlier answer"]]),
    ]), "")
    ta, tb = view.tasks
    assert ta.finished and ta.writes == [("log", ["a"])]
    assert not tb.finished and tb.interrupts == [question] and tb.answers == {0: "earlier answer"}
    assert view.pending_interrupts == [question]
    # live values: the finished sibling's writes through the reducer; step-start values unchanged
    assert view.live_values(SPEC) == {"q": "start", "log": ["x", "a"]}
    assert view.values == {"q": "start", "log": ["x"]}
    failed = load_view(SPEC, saved([(a, ERROR, "ValueError('boom')"), (b, EDITED, True)]), "")
    assert failed.tasks[0].error == "ValueError('boom')" and not failed.tasks[0].finished
    assert failed.tasks[1].edited


def test_command_writes_answer_update_and_route() -> None:
    _, b = ids()
    question = Interrupt("ok?", id="f" * 32, node="b", task_id=b)
    view = load_view(SPEC, saved([
        (b, INTERRUPT, [question]),
        (f"{COMMAND_TASK}:1", RESUME_MAP, {"f" * 32: "yes"}),
        (f"{COMMAND_TASK}:1", UPDATE, [("log", ["cmd"]), ("q", "edited")]),
        (f"{COMMAND_TASK}:1", GOTO, ["c"]),
    ]), "")
    assert view.resume_map == {"f" * 32: "yes"}
    assert view.pending_interrupts == []  # answered by the recorded resume
    assert view.values == {"q": "edited", "log": ["x", "cmd"]}
    assert [t.task.name for t in view.tasks] == ["a", "b", "c"]  # the goto adds a task
    assert [tid for tid, _ in view.command_writes] == [f"{COMMAND_TASK}:1"]


def test_live_values_apply_each_finished_task_in_path_order_skipping_refused_writes() -> None:
    a, b = ids()
    view = load_view(SPEC, saved([(a, "q", 1), (b, "q", 2)]), "")
    assert view.live_values(SPEC)["q"] == 2  # task by task, in path order: b's write is the last
    refused = load_view(SPEC, saved([(a, "q", 1), (a, "q", 2), (b, "log", ["b"])]), "")
    assert refused.live_values(SPEC) == {"q": "start", "log": ["x", "b"]}  # a's two writes to q: skipped
    # recorded Command updates (checked when recorded) apply one at a time, in recorded order
    updated = load_view(SPEC, saved([(f"{COMMAND_TASK}:1", UPDATE, [("q", 1)]), (f"{COMMAND_TASK}:2", UPDATE, [("q", 2)])]), "")
    assert updated.values["q"] == 2
    with pytest.raises(TypeError):  # a reducer that cannot take a stored write says so
        load_view(SPEC, saved([(f"{COMMAND_TASK}:1", UPDATE, [("log", "not a list")])]), "")


def test_a_fresh_view_has_no_writes_to_read() -> None:
    view = fresh_view(SPEC, saved([]), "", {"q": "new", "log": [], TASKS: SPECS})
    assert view.values == {"q": "new", "log": []}
    assert all(not t.finished and not t.writes for t in view.tasks)
    assert state_values({"q": 1, TASKS: [], "other": 2}, SPEC) == {"q": 1}


def test_the_resume_map_rule() -> None:
    assert is_resume_map({"a" * 32: 1, "0123456789abcdef" * 2: 2})
    assert is_resume_map({})
    assert not is_resume_map({"A" * 32: 1})  # not lowercase hex
    assert not is_resume_map({"approve": True})  # an answer that happens to be a dict
    assert not is_resume_map(["a" * 32])
