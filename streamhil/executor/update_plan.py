"""What ``update_state`` leaves of the step it edits: the next step's tasks after an update made
as a node, or as ``END``.

An update as node ``X`` is a step in which only ``X`` ran: the new checkpoint plans what ``X``'s
edges lead to. A task of the edited step survives into it only where LangGraph's does:

- its node is planned again by ``X``'s edges (a ``Send`` again with an equal argument), or
- its trigger outlives a step: a join edge whose sources all finished, or a deferred node's
  trigger (LangGraph's barrier and after-finish channels, which only running the node consumes).

Everything else of the edited step goes, with its interrupts and recorded answers: an edge's
trigger lasts one step in LangGraph too. ``X``'s own task is done: the update is its output.

When the edited step waits on a human, a surviving task keeps its id, its saved writes and the
answers it got (streamhil's "editing keeps the question pending"): a paused task keeps its
question's id and is marked edited (it asked about the old state), a finished sibling does not
run again. Otherwise survivors start afresh under new ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._ids import position_key
from ..constants import EDITED, JOINS
from ..types import Send
from .plan import DEFER_PREFIX, Task, path_sort_key, pin, plan_next
from .spec import GraphSpec
from .view import RESUME_MAP, ROUTES, TaskState, ThreadView

__all__ = ["NextStep", "after_end", "after_node", "task_spec"]


@dataclass(slots=True)
class NextStep:
    """The new checkpoint's task specs and join state, and the edited step's tasks carried into it."""

    specs: list[list[Any]]
    joins: dict[str, list[str]]
    carried: list[TaskState] = field(default_factory=list)
    carried_writes: list[tuple[str, list[tuple[str, Any]]]] = field(default_factory=list)


def after_node(
    graph: GraphSpec,
    view: ThreadView | None,
    as_node: str,
    routes: Sequence[str | Send],
    joins: dict[str, list[str]],
    fake_task: Task,
) -> NextStep:
    """The step after an update as ``as_node`` whose edges lead to ``routes``."""
    planned, new_joins = plan_next([(fake_task, routes)], graph.joins, joins, graph.node_order, graph.deferred)
    old = [t for t in view.tasks if t.task.name != as_node] if view is not None else []
    keep_state = any(t.interrupts and not t.finished for t in old)
    carried: list[TaskState] = []

    def take(task: TaskState, spec: list[Any]) -> list[Any]:
        if keep_state and (task.finished or task.interrupts or task.answers):
            carried.append(task)
            return pin(task_spec(task.task), task.task.id)
        return spec

    specs: list[list[Any]] = []
    unmatched = list(old)
    for spec in planned:
        match = _replanned(unmatched, spec)
        if match is None:
            specs.append(spec)
        else:
            unmatched = [t for t in unmatched if t is not match]
            specs.append(take(match, spec))
    planned_pulls = {s[1] for s in specs if s[0] == "pull"}
    for t in unmatched:
        if t.task.kind == "pull" and t.task.name not in planned_pulls and _lasting(t.task, graph, new_joins):
            for trigger in t.task.triggers:  # its barrier is full until the node runs
                if trigger.startswith("join:"):
                    new_joins.pop(trigger, None)
            specs.append(take(t, task_spec(t.task)))
    specs.sort(key=lambda s: (s[0] == "pull", graph.node_order.get(s[1], 1 << 30) if s[0] == "pull" else 0))
    step = NextStep(specs, new_joins, carried)
    if view is not None and carried:
        step.carried_writes = [(t.task.id, edited(t)) for t in carried]
        step.carried_writes += _answers_for(view, carried)
    return step


def after_end(graph: GraphSpec, view: ThreadView) -> NextStep:
    """The step after ``update_state(None, as_node=END)``: the edited step ends with what already
    finished (their edges planned), and the tasks still waiting are dropped."""
    finished: list[tuple[Task, list[str | Send]]] = [
        (t.task, next((v for k, v in t.writes if k == ROUTES), []))
        for t in sorted(view.tasks, key=lambda t: path_sort_key(t.task))
        if t.finished
    ]
    saved_joins = view.saved.checkpoint.channel_values.get(JOINS) or {}
    specs, joins = plan_next(finished, graph.joins, dict(saved_joins), graph.node_order, graph.deferred)
    return NextStep(specs, joins)


def _replanned(old: list[TaskState], spec: Sequence[Any]) -> TaskState | None:
    """The edited step's task that ``spec`` plans again: a pull of the same node, or a Send to
    the same node with an equal argument."""
    for t in old:
        if t.task.name != spec[1] or t.task.kind != spec[0]:
            continue
        if spec[0] == "pull" or _equal(t.task.arg, spec[2]):
            return t
    return None


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an argument whose == refuses (arrays): not the same Send
        return False


def _lasting(task: Task, graph: GraphSpec, new_joins: dict[str, list[str]]) -> bool:
    """Whether ``task``'s trigger outlives a step: a completed join, or a deferred node's trigger
    (unless the update triggered the node again, which defers it anew)."""
    if task.name in graph.deferred:
        return f"{DEFER_PREFIX}{task.name}" not in new_joins
    return any(trigger.startswith("join:") for trigger in task.triggers)


def edited(task: TaskState) -> list[tuple[str, Any]]:
    """A carried task's saved writes; a paused one is marked edited (it asked about the old state)."""
    if task.finished:
        return list(task.writes)
    return [(ch, v) for ch, v in task.writes if ch != EDITED] + [(EDITED, True)]


def _answers_for(view: ThreadView, carried: list[TaskState]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The recorded answers (resume maps not yet run) to the carried waiting tasks' interrupts,
    by id, with the position key of each (unless another carried question sits at the same
    position, as two ``Send``s to one node do: the answer must not reach the other one)."""
    waiting = [i for t in carried if not t.finished for i in t.interrupts]
    positions = [position_key(i.ns, i.node, i.index) if i.node is not None else None for i in waiting]
    out: list[tuple[str, list[tuple[str, Any]]]] = []
    for task_id, writes in view.command_writes:
        kept = []
        for ch, value in writes:
            if ch != RESUME_MAP:
                continue
            answers: dict[str, Any] = {}
            for interrupt, position in zip(waiting, positions):
                if interrupt.id in value:
                    answers[interrupt.id] = value[interrupt.id]
                    if position is not None and positions.count(position) == 1:
                        answers[position] = value[interrupt.id]
            if answers:
                kept.append((ch, answers))
        if kept:
            out.append((task_id, kept))
    return out


def task_spec(task: Task) -> list[Any]:
    """The ``__tasks__`` spec that plans ``task`` again."""
    if task.kind == "push":
        return ["push", task.name, task.arg]
    return ["pull", task.name, list(task.triggers)]
