"""Pure planning: the tasks of a superstep, and the task specs of the next one.

A checkpoint's ``__tasks__`` channel lists what its step will run: ``["pull", node, triggers]``
for a node triggered by edges, ``["push", node, arg]`` for a ``Send``. An optional fourth
element pins the task's id: ``update_state`` carries a paused task over to the checkpoint
it writes under its old id, so the task's interrupts keep their ids (see ``pinned``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..constants import END, JOINS, START, TASKS
from ..types import Send
from .._ids import task_id

DEFER_PREFIX = "defer:"
"""``join_state`` key prefix of a deferred node's waiting triggers."""

__all__ = ["Task", "prepare_tasks", "plan_next", "path_sort_key", "stream_sort_key", "pinned", "pin", "unpin"]


@dataclass(slots=True)
class Task:
    """One task of a superstep."""

    id: str
    name: str
    kind: str  # "pull" (edge-triggered) or "push" (a Send)
    triggers: tuple[str, ...]
    arg: Any
    index: int
    ns: str  # full namespace of the task: "<parent ns>|<name>:<id>"

    @property
    def path(self) -> tuple[Any, ...]:
        if self.kind == "push":
            return ("__pregel_push", self.index, False)
        return ("__pregel_pull", self.name)


def path_sort_key(task: Task) -> tuple[int, str, int]:
    """Write-application order: edge-triggered tasks by node name, then Sends in send order."""
    return (0, task.name, 0) if task.kind == "pull" else (1, "", task.index)


def stream_sort_key(task: Task) -> tuple[int, str, int]:
    """The order LangGraph streams and starts a step's tasks in: Sends first (in send order),
    then edge-triggered tasks by node name. (Snapshots list them as planned: ``next``.)"""
    return (0, "", task.index) if task.kind == "push" else (1, task.name, 0)


def pinned(spec: Sequence[Any]) -> str | None:
    """The task id a spec pins (``update_state`` carried the task over), or None."""
    return spec[3] if len(spec) > 3 else None


def pin(spec: Sequence[Any], task_id: str) -> list[Any]:
    """``spec`` with its task's id pinned to ``task_id``."""
    return [spec[0], spec[1], spec[2], task_id]


def unpin(spec: Sequence[Any]) -> list[Any]:
    """``spec`` without a pinned id (a replayed copy gets fresh ids, so its interrupts re-fire)."""
    return list(spec[:3])


def prepare_tasks(
    specs: Sequence[Sequence[Any]],
    checkpoint_id: str,
    checkpoint_ns: str,
    step: int,
    extra: Iterable[str | Send] = (),
) -> list[Task]:
    """Tasks of the step a checkpoint starts: its stored specs plus ``extra`` targets (Command gotos)."""
    prefix = f"{checkpoint_ns}|" if checkpoint_ns else ""
    pushes: list[Task] = []
    pulls: list[Task] = []
    pulled: set[str] = set()
    push_index = 0

    def add_push(name: str, arg: Any, pin: str | None = None) -> None:
        nonlocal push_index
        tid = pin or task_id(checkpoint_id, checkpoint_ns, step, name, "push", str(push_index))
        pushes.append(Task(tid, name, "push", (), arg, push_index, f"{prefix}{name}:{tid}"))
        push_index += 1

    def add_pull(name: str, triggers: tuple[str, ...], pin: str | None = None) -> None:
        pulled.add(name)
        tid = pin or task_id(checkpoint_id, checkpoint_ns, step, name, "pull", ",".join(sorted(triggers)))
        pulls.append(Task(tid, name, "pull", triggers, None, 0, f"{prefix}{name}:{tid}"))

    for spec in specs:
        if spec[0] == "push":
            add_push(spec[1], spec[2], pinned(spec))
        elif spec[1] not in pulled:
            add_pull(spec[1], tuple(spec[2]), pinned(spec))
    for target in extra:
        if isinstance(target, Send):
            add_push(target.node, target.arg)
        elif target != END and target not in pulled:
            add_pull(target, (f"branch:to:{target}",))
    return pushes + pulls


def plan_next(
    finished: Sequence[tuple[Task, Sequence[str | Send]]],
    joins: Sequence[tuple[tuple[str, ...], str]],
    join_state: dict[str, list[str]],
    node_order: Mapping[str, int],
    deferred: frozenset[str] = frozenset(),
) -> tuple[list[list[Any]], dict[str, list[str]]]:
    """The next step's task specs from this step's finished tasks (in path order) and their routes.

    ``routes`` are node names and ``Send``s; joins fire once every source has finished. A
    ``deferred`` node's triggers wait in ``join_state`` (under ``defer:<node>``) until a step
    plans no other edge-triggered task (Sends may still run beside it), as LangGraph's
    ``defer=True``.
    """
    triggers: dict[str, set[str]] = {}
    sends: list[list[Any]] = []
    new_joins = {key: list(seen) for key, seen in join_state.items()}
    ran = [task.name for task, _ in finished]
    for _task, routes in finished:
        for target in routes:
            if isinstance(target, Send):
                sends.append(["push", target.node, target.arg])
            elif target != END:
                triggers.setdefault(target, set()).add(f"branch:to:{target}")
    for sources, target in joins:
        key = f"join:{'+'.join(sources)}:{target}"
        seen = new_joins.get(key, [])
        hit = [name for name in ran if name in sources and name not in seen]
        if not hit:
            continue
        seen = seen + hit
        if set(seen) >= set(sources):
            new_joins.pop(key, None)
            if target != END:
                triggers.setdefault(target, set()).add(key)
        else:
            new_joins[key] = seen
    for name in [n for n in triggers if n in deferred]:
        waiting = set(new_joins.get(f"{DEFER_PREFIX}{name}", [])) | triggers.pop(name)
        new_joins[f"{DEFER_PREFIX}{name}"] = sorted(waiting)
    if not triggers:
        for key in [k for k in new_joins if k.startswith(DEFER_PREFIX)]:
            triggers[key.removeprefix(DEFER_PREFIX)] = set(new_joins.pop(key))
    pulls = [
        ["pull", name, sorted(trig)]
        for name, trig in sorted(triggers.items(), key=lambda item: node_order.get(item[0], 1 << 30))
    ]
    return sends + pulls, new_joins


def start_spec() -> list[Any]:
    return ["pull", START, [START]]


def task_specs(values: dict[str, Any]) -> list[list[Any]]:
    return values.get(TASKS) or []


def join_state(values: dict[str, Any]) -> dict[str, list[str]]:
    return values.get(JOINS) or {}
