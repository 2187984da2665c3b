"""Reading a thread: a checkpoint and its pending writes read into the tasks of its step, as
``get_state`` and the loop see them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._clock import now_iso
from ..checkpoint.base import CheckpointTuple
from ..constants import CALL, COMMAND_TASK, EDITED, ERROR, INTERRUPT, RESUME, TASKS
from ..types import Interrupt, Send
from .apply import apply_all_or_none, apply_writes
from .plan import Task, path_sort_key, prepare_tasks
from .runner import group_writes
from .spec import GraphSpec

__all__ = [
    "CONTROL", "GOTO", "RESUME_MAP", "ROUTES", "UPDATE", "TaskState", "ThreadView", "fresh_view",
    "is_resume_map", "load_view", "now_iso", "state_values",
]

ROUTES = "__routes__"  # pending-write channel: where a finished task's edges lead
UPDATE = "__update__"  # command write: Command(update=...)
GOTO = "__goto__"  # command write: Command(goto=...)
RESUME_MAP = "__resume_map__"  # command write: answers, {interrupt id: value}
CONTROL = frozenset({INTERRUPT, RESUME, ERROR, EDITED})


@dataclass(slots=True)
class TaskState:
    """A task of the current step with what its pending writes say about it."""

    task: Task
    writes: list[tuple[str, Any]]
    finished: bool
    interrupts: list[Interrupt]
    answers: dict[int, Any]
    error: str | None
    edited: bool = False  # paused, then the state changed (update_state): runs again on None


@dataclass(slots=True)
class ThreadView:
    """A checkpoint with its pending writes read into tasks: what ``get_state`` and the loop see."""

    saved: CheckpointTuple
    step: int
    values: dict[str, Any]  # state keys at the start of the step, command updates applied
    tasks: list[TaskState]
    command_writes: list[tuple[str, list[tuple[str, Any]]]]
    resume_map: dict[str, Any]
    gotos: list[str | Send]
    calls: dict[str, Any] = field(default_factory=dict)  # functional-API task calls' outcomes, by call id

    @property
    def pending_interrupts(self) -> list[Interrupt]:
        """Interrupts that wait for an answer (not yet answered by a recorded resume)."""
        return [
            i for t in self.tasks if not t.finished for i in t.interrupts if i.id not in self.resume_map
        ]

    def live_values(self, graph: GraphSpec) -> dict[str, Any]:
        """The step-start values plus the writes of the tasks that already finished."""
        values = dict(self.values)
        finished = sorted((t for t in self.tasks if t.finished), key=lambda t: path_sort_key(t.task))
        for t in finished:
            apply_all_or_none(graph.channels, values, [(k, v) for k, v in t.writes if k in graph.channels])
        return values


def state_values(channel_values: dict[str, Any], graph: GraphSpec) -> dict[str, Any]:
    channels = graph.channels
    return {k: v for k, v in channel_values.items() if k in channels}


def load_view(graph: GraphSpec, saved: CheckpointTuple, checkpoint_ns: str) -> ThreadView:
    """Read a checkpoint and its pending writes into the tasks of its step."""
    checkpoint = saved.checkpoint
    step = int(saved.metadata.get("step", -1)) + 1
    by_task = group_writes(saved.pending_writes)
    values = state_values(checkpoint.channel_values, graph)
    command_writes: list[tuple[str, list[tuple[str, Any]]]] = []
    resume_map: dict[str, Any] = {}
    gotos: list[str | Send] = []
    updates: list[tuple[str, Any]] = []
    calls: dict[str, Any] = {}
    for task_id, writes in by_task.items():
        if not task_id.startswith(COMMAND_TASK):
            if writes[0][0] == CALL:
                calls[task_id] = writes[0][1]
            continue
        command_writes.append((task_id, writes))
        for channel, value in writes:
            if channel == RESUME_MAP:
                resume_map.update(value)
            elif channel == UPDATE:
                updates.extend(value)
            elif channel == GOTO:
                gotos.extend(value)
    if updates:
        values = dict(values)
        for key, value in updates:
            apply_writes(graph.channels, values, [(key, value)])
    tasks = prepare_tasks(checkpoint.channel_values.get(TASKS) or [], checkpoint.id, checkpoint_ns, step, gotos)
    states = []
    for task in tasks:
        writes = by_task.get(task.id, [])
        finished = any(ch not in CONTROL for ch, _ in writes)
        interrupts: list[Interrupt] = []
        answers: dict[int, Any] = {}
        error = None
        edited = False
        for ch, value in writes:
            if ch == EDITED:
                edited = True
            elif ch == INTERRUPT:
                interrupts = list(value)
            elif ch == RESUME:
                answers = {int(k): v for k, v in value}
            elif ch == ERROR:
                error = value
        states.append(TaskState(task, writes, finished, interrupts, answers, error, edited))
    return ThreadView(saved, step, values, states, command_writes, resume_map, gotos, calls)


def fresh_view(graph: GraphSpec, saved: CheckpointTuple, checkpoint_ns: str, values: dict[str, Any]) -> ThreadView:
    """The view of a checkpoint just written by this run: no pending writes to read."""
    checkpoint = saved.checkpoint
    step = int(saved.metadata["step"]) + 1
    tasks = prepare_tasks(checkpoint.channel_values.get(TASKS) or [], checkpoint.id, checkpoint_ns, step)
    states = [TaskState(task, [], False, [], {}, None) for task in tasks]
    state_only = {k: v for k, v in values.items() if k in graph.channels}
    return ThreadView(saved, step, state_only, states, [], {}, [])


_INTERRUPT_ID = re.compile("[0-9a-f]{32}")


def is_resume_map(value: Any) -> bool:
    """LangGraph's rule: a dict whose every key is a 32-character lowercase hex id is a map."""
    return isinstance(value, dict) and all(isinstance(k, str) and _INTERRUPT_ID.fullmatch(k) for k in value)
