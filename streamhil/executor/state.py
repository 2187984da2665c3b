"""Reading and editing a thread's state: snapshots (live or record) and ``update_state``."""

from __future__ import annotations

import reprlib
from typing import Any, overload

from ..checkpoint.base import Checkpoint, CheckpointTuple, new_checkpoint_id
from ..constants import END, JOINS, LAST_NODES, START, TASKS
from ..errors import CheckpointNotFoundError, InvalidUpdateError
from ..types import Command, PregelTask, StateSnapshot
from .apply import apply_writes
from .plan import prepare_tasks, start_spec, unpin
from .runner import routes_for, writes_from_return
from .discover import child_graph
from .scope import RunScope
from .spec import GraphSpec
from .state_objects import is_state_object, object_updates
from .update_plan import after_end, after_node
from .view import ThreadView, load_view, now_iso

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
    view: ThreadView | None = None
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
        source = "fork"  # a sibling of the copied checkpoint; its tasks get new ids, as a replay's
        parent_config = saved.parent_config
        specs = [unpin(spec) for spec in specs]
    elif as_node == "__input__":
        source = "input"
        new_step = step + 1 if saved is not None else -1
        specs = [start_spec()]
        new_values[START] = object_updates(values) if is_state_object(values) else values
        changed.add(START)
    elif as_node == END:
        if values is not None:
            raise InvalidUpdateError(
                "Node __end__ does not exist: as_node=END takes no values (update_state(config, None, as_node=END) "
                "ends the paused step); write values as a node of the graph."
            )
        specs = []
        if view is not None:
            new_values = dict(view.live_values(graph))
            changed = {k for k in new_values if new_values.get(k) is not base_values.get(k)}
            ended = after_end(graph, view)
            specs, joins = ended.specs, ended.joins
            last = [t.task.name for t in view.tasks if t.finished and t.task.name != START] or last
    else:
        if isinstance(values, dict):
            managed = graph.schema.managed  # RemainingSteps / IsLastStep: ignored, as LangGraph
            unknown = next((key for key in values if key not in graph.channels and key not in managed), None)
            if unknown is not None:
                known = ", ".join(repr(k) for k in graph.channels)
                raise InvalidUpdateError(
                    f"update_state: the graph's state has no key {unknown!r}; its keys are {known}."
                )
        _check_update_values(values)
        writes, gotos, _ = writes_from_return(graph, as_node, values) if values is not None else ([], [], None)
        changed = apply_writes(graph.channels, new_values, writes)
        # LangGraph runs the node's edges as a task two steps before its stop
        routes = await routes_for(graph, as_node, base_values, writes, 2) + gotos
        fake_task = prepare_tasks([["pull", as_node, []]], "update", scope.checkpoint_ns, new_step)[0]
        planned = after_node(graph, view, as_node, routes, joins, fake_task)
        specs, joins, carried_writes = planned.specs, planned.joins, planned.carried_writes
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


def _check_update_values(values: Any) -> None:
    """Refuse ``values`` that are no update, naming the caller's argument rather than the node the
    update is made as, which the caller may not have named (LangGraph: "Expected dict, got x")."""
    if values is None or isinstance(values, (dict, Command)) or is_state_object(values):
        return
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, Command) for v in values):
        return
    raise InvalidUpdateError(
        f"update_state: expected dict as values, got {type(values).__name__} {reprlib.repr(values)}. "
        "Pass a dict of state updates (keys of the state), None, or a Command."
    )
