"""Reading and editing a thread's state: snapshots (live or record) and ``update_state``."""

from __future__ import annotations

from typing import Any, overload

from ..checkpoint.base import Checkpoint, CheckpointTuple, new_checkpoint_id
from ..constants import EDITED, END, JOINS, LAST_NODES, START, TASKS
from ..errors import CheckpointNotFoundError, InvalidUpdateError
from ..types import PregelTask, StateSnapshot
from .apply import apply_writes
from .plan import Task, pin, plan_next, prepare_tasks, start_spec
from .runner import routes_for, writes_from_return
from .discover import child_graph
from .scope import RunScope
from .spec import GraphSpec
from .state_objects import is_state_object, object_updates
from .view import RESUME_MAP, TaskState, ThreadView, load_view, now_iso

__all__ = ["build_snapshot", "spec_for_ns", "update_state", "with_checkpoint_map"]


def spec_for_ns(graph: GraphSpec, checkpoint_ns: str) -> GraphSpec:
    """The (sub)graph whose checkpoints live in ``checkpoint_ns`` ("child:<task>|inner:<task>")."""
    for segment in checkpoint_ns.split("|") if checkpoint_ns else ():
        node = graph.nodes.get(segment.split(":", 1)[0])
        if node is None or node.subgraph is None:
            break
        graph = node.subgraph
    return graph


async def build_snapshot(
    graph: GraphSpec, scope: RunScope, saved: CheckpointTuple, *, live: bool, subgraphs: bool
) -> StateSnapshot:
    """A StateSnapshot of ``saved``. Live: finished siblings applied, only what still waits.
    Record: the step-start values, every task and every interrupt of the step."""
    view = load_view(graph, saved, scope.checkpoint_ns)
    values = view.live_values(graph) if live else dict(view.values)
    tasks = []
    for t in view.tasks:
        result = None
        if t.finished:
            result = {k: v for k, v in t.writes if k in graph.channels} or None
        if live:
            interrupts = tuple(i for i in t.interrupts if not t.finished)
        else:
            interrupts = tuple(t.interrupts)
        state: Any = None
        child = child_graph(graph.nodes.get(t.task.name))
        if child is not None:  # finished or not, as LangGraph
            state = await _child_state(child, scope, t.task.ns, subgraphs)
        tasks.append(PregelTask(t.task.id, t.task.name, t.task.path, t.error, interrupts, state, result))
    # Both views list every task of the step (finished ones with their result); they differ in
    # what still waits: the live view names only unfinished tasks and unanswered interrupts.
    if live:
        next_names = tuple(t.task.name for t in view.tasks if not t.finished)
        interrupts = tuple(view.pending_interrupts)
    else:
        next_names = tuple(t.task.name for t in view.tasks)
        interrupts = tuple(i for t in view.tasks for i in t.interrupts)
    shown = graph.shown(values)  # the whole state, as in LangGraph
    parents = (saved.metadata or {}).get("parents") or {}
    return StateSnapshot(
        values=shown,
        next=next_names,
        config=with_checkpoint_map(saved.config, parents),
        metadata=saved.metadata,
        created_at=saved.checkpoint.ts,
        parent_config=with_checkpoint_map(saved.parent_config, parents),
        tasks=tuple(tasks),
        interrupts=interrupts,
    )


async def _child_state(child: GraphSpec, scope: RunScope, ns: str, subgraphs: bool) -> Any:
    """A task's ``state``: the config of its subgraph's checkpoints, or (``subgraphs``) their
    live snapshot (empty when the subgraph has not run yet)."""
    child_config = {"configurable": {"thread_id": scope.thread_id, "checkpoint_ns": ns}}
    if not subgraphs:
        return child_config
    saver = child.saver if child.saver is not None else scope.saver
    child_scope = RunScope(graph=child, saver=saver, thread_id=scope.thread_id, checkpoint_ns=ns)
    child_saved = await saver.aget_tuple(child_scope.address()) if saver is not None else None
    if child_saved is None:
        return StateSnapshot({}, (), child_config, None, None, None, (), ())
    return await build_snapshot(child, child_scope, child_saved, live=True, subgraphs=True)


@overload
def with_checkpoint_map(config: dict[str, Any], parents: dict[str, str]) -> dict[str, Any]: ...
@overload
def with_checkpoint_map(config: None, parents: dict[str, str]) -> None: ...
def with_checkpoint_map(config: dict[str, Any] | None, parents: dict[str, str]) -> dict[str, Any] | None:
    """A subgraph checkpoint's config with LangGraph's ``checkpoint_map``: the checkpoint id of
    every enclosing graph by namespace, then its own. A root config is returned as it is."""
    if config is None:
        return None
    configurable = config.get("configurable") or {}
    ns = configurable.get("checkpoint_ns")
    if not ns:
        return config
    checkpoint_map = {**parents, ns: configurable.get("checkpoint_id")}
    return {**config, "configurable": {**configurable, "checkpoint_map": checkpoint_map}}


async def update_state(
    graph: GraphSpec, scope: RunScope, checkpoint_id: str | None, values: Any, as_node: str | None
) -> dict[str, Any]:
    """Write ``values`` as ``as_node``'s output on the addressed checkpoint; save and return a new one."""
    saver = scope.saver
    assert saver is not None
    saved = await saver.aget_tuple(scope.address(checkpoint_id))
    if checkpoint_id is not None and saved is None:
        raise CheckpointNotFoundError(f"Thread {scope.thread_id!r} has no checkpoint {checkpoint_id!r}.")
    if as_node is not None and as_node not in graph.nodes and as_node not in (START, END, "__copy__", "__input__"):
        raise InvalidUpdateError(f"Node {as_node} does not exist; as_node must name a node of the graph.")
    if saved is None:
        base_values = graph.schema.initial_values()
        versions: dict[str, int] = {k: 1 for k in base_values}
        step = -1
        last: list[str] = []
        specs: list[Any] = []
        joins: dict[str, list[str]] = {}
        parent_config = None
    else:
        view = load_view(graph, saved, scope.checkpoint_ns)
        base_values = dict(view.values)
        versions = dict(saved.checkpoint.channel_versions)
        step = int(saved.metadata.get("step", -1))
        last = list(saved.checkpoint.channel_values.get(LAST_NODES) or [])
        specs = list(saved.checkpoint.channel_values.get(TASKS) or [])
        joins = dict(saved.checkpoint.channel_values.get(JOINS) or {})
        parent_config = saved.config
    if as_node is None:
        if saved is None or not last:
            as_node = START
        elif len(set(last)) == 1:
            as_node = last[0]
        else:
            raise InvalidUpdateError("Ambiguous update, specify as_node: the last step ran " + ", ".join(sorted(set(last))) + ".")
    source = "update"
    new_step = step + 1
    carried_writes: list[tuple[str, list[tuple[str, Any]]]] = []
    new_values = dict(base_values)
    changed: set[str] = set()
    if as_node == "__copy__":
        if saved is None:
            raise InvalidUpdateError("There is no checkpoint to copy.")
        source = "fork"
        new_step = step
        parent_config = saved.parent_config
    elif as_node == "__input__":
        source = "input"
        new_step = step + 1 if saved is not None else -1
        specs = [start_spec()]
        new_values[START] = object_updates(values) if is_state_object(values) else values
        changed.add(START)
    elif as_node == END:
        if saved is not None:
            new_values = dict(load_view(graph, saved, scope.checkpoint_ns).live_values(graph))
            changed = {k for k in new_values if new_values.get(k) is not base_values.get(k)}
        specs = []
    else:
        if isinstance(values, dict):
            unknown = next((key for key in values if key not in graph.channels), None)
            if unknown is not None:
                known = ", ".join(repr(k) for k in graph.channels)
                raise InvalidUpdateError(
                    f"update_state: the graph's state has no key {unknown!r}; its keys are {known}."
                )
        writes, gotos, _ = writes_from_return(graph, as_node, values) if values is not None else ([], [], None)
        changed = apply_writes(graph.channels, new_values, writes)
        routes = await routes_for(graph, as_node, base_values, writes) + gotos
        carried = carried_tasks(view, as_node) if saved is not None else []
        carried_pulls = {t.task.name for t in carried if t.task.kind == "pull"}
        kept = [s for s in specs if s[1] != as_node and s[0] == "pull" and s[1] not in carried_pulls]
        fake_task = prepare_tasks([["pull", as_node, []]], "update", scope.checkpoint_ns, new_step)[0]
        planned, joins = plan_next([(fake_task, routes)], graph.joins, joins, graph.node_order, graph.deferred)
        planned_names = {s[1] for s in planned if s[0] == "pull"} | carried_pulls
        specs = [s for s in planned if s[0] == "push"] + [s for s in kept if s[1] not in planned_names] + [
            s for s in planned if s[0] == "pull" and s[1] not in carried_pulls
        ]
        # A paused step survives the edit: its tasks keep their ids (so their interrupts keep
        # theirs) and their saved writes; Sends first in their order, then pulls in node order.
        specs = [pin(task_spec(t.task), t.task.id) for t in carried] + specs
        specs.sort(key=lambda s: (s[0] == "pull", graph.node_order.get(s[1], 1 << 30) if s[0] == "pull" else 0))
        if carried:  # with the answers already recorded for them (a resume map not yet run)
            carried_writes = [(t.task.id, edited(t)) for t in carried]
            carried_writes += [(tid, [(ch, v) for ch, v in w if ch == RESUME_MAP]) for tid, w in view.command_writes]
        last = [as_node] if as_node != START else last
    channel_values = {k: v for k, v in new_values.items() if k in graph.channels or k == START}
    channel_values[TASKS] = specs
    if joins:
        channel_values[JOINS] = joins
    if last:
        channel_values[LAST_NODES] = last
    top = max(versions.values(), default=0) + 1
    for key in changed | {TASKS, LAST_NODES, JOINS}:
        if key in channel_values:
            versions[key] = top
        else:
            versions.pop(key, None)
    if saved is None:
        new_versions = dict(versions)
    else:
        new_versions = {k: versions[k] for k in changed | {TASKS, LAST_NODES, JOINS} if k in versions}
    metadata = scope.checkpoint_metadata(source, new_step)
    checkpoint = Checkpoint(new_checkpoint_id(new_step), now_iso(), channel_values, versions)
    new_config = await saver.aput(parent_config or scope.address(), checkpoint, metadata, new_versions)
    for task_id, task_writes in carried_writes:
        if task_writes:
            await saver.aput_writes(new_config, task_writes, task_id)
    return new_config


def carried_tasks(view: ThreadView, as_node: str) -> list[TaskState]:
    """The tasks of a paused step that an update (not made as their node) keeps: the ones
    waiting on an interrupt, and the siblings that already finished (they do not run again).
    Nothing is carried unless some task is waiting on a human."""
    if not any(t.interrupts and not t.finished for t in view.tasks):
        return []
    return [t for t in view.tasks if t.task.name != as_node and (t.finished or t.interrupts or t.answers)]


def edited(task: TaskState) -> list[tuple[str, Any]]:
    """A carried task's saved writes; a paused one is marked edited (it asked about the old state)."""
    if task.finished:
        return list(task.writes)
    return [(ch, v) for ch, v in task.writes if ch != EDITED] + [(EDITED, True)]


def task_spec(task: Task) -> list[Any]:
    """The ``__tasks__`` spec that plans ``task`` again."""
    if task.kind == "push":
        return ["push", task.name, task.arg]
    return ["pull", task.name, list(task.triggers)]
