"""Runs one task: calls the node (async as a coroutine, sync in a worker thread), turns its return
value into writes and routes, and reports how it ended. Never raises except on cancellation."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from .._retry import next_wait
from .._threads import run_sync_node
from ..constants import END, START
from ..errors import GraphInterrupt, InvalidUpdateError, NodeTimeoutError, ParentCommand, UnknownBranchKeyError
from ..types import Command, Interrupt, Send
from .apply import apply_writes
from .context import _current
from .plan import Task
from .runtime import injected_kwargs
from .scope import RunScope, TaskContext
from .spec import ENTRY_INPUT, GraphSpec, NodeSpec
from .state_objects import is_state_object, object_updates

__all__ = ["TaskResult", "run_task", "routes_for", "shown_update", "writes_from_return"]


@dataclass(slots=True)
class TaskResult:
    """How a task ended: ``done`` (writes and routes), ``interrupt`` or ``error``."""

    task: Task
    status: str
    writes: list[tuple[str, Any]] = field(default_factory=list)
    routes: list[str | Send] = field(default_factory=list)
    update: Any = None  # what the ``updates`` stream shows for this task
    interrupts: tuple[Interrupt, ...] = ()
    answers: dict[int, Any] = field(default_factory=dict)
    answered: tuple[Interrupt, ...] = ()  # earlier interrupts of a task that has now finished
    consumed: list[str] = field(default_factory=list)
    error: BaseException | None = None


def writes_from_return(
    graph: GraphSpec, node: str, result: Any, *, lenient: bool = False
) -> tuple[list[tuple[str, Any]], list[str | Send], Any]:
    """A node's return value as ``(writes, goto targets, update shown in the stream)``.

    ``lenient`` drops unknown keys silently (a subgraph's output, whose schema differs).
    """
    if result is None:
        return [], [], None
    if isinstance(result, Command):
        writes, targets, _ = _command_writes(graph, node, result)
        return writes, targets, shown_update(writes)
    if isinstance(result, dict):
        writes = _dict_writes(graph, node, result, lenient)
        return writes, [], _without_managed(graph, result) if writes else None
    if isinstance(result, (list, tuple)) and result and all(isinstance(r, Command) for r in result):
        writes = []
        gotos: list[str | Send] = []
        for command in result:
            w, g, _ = _command_writes(graph, node, command)
            writes += w
            gotos += g
        return writes, gotos, shown_update(writes)
    if is_state_object(result):
        values = object_updates(result)
        writes = _dict_writes(graph, node, values, True)
        return writes, [], _without_managed(graph, values) if writes else None
    raise InvalidUpdateError(
        f"Node {node!r} returned {result!r}: expected dict, got {type(result).__name__}. "
        "A node returns a dict of state updates, None, or a Command."
    )


def shown_update(writes: list[tuple[str, Any]]) -> Any:
    """What the ``updates`` stream shows for a task's state writes, as LangGraph: None for none,
    a dict of them, or a list of one-key dicts when a key was written more than once."""
    if not writes:
        return None
    if len({key for key, _ in writes}) == len(writes):
        return dict(writes)
    return [{key: value} for key, value in writes]


def _without_managed(graph: GraphSpec, update: dict[str, Any]) -> dict[str, Any]:
    """A node's update as the ``updates`` stream shows it: without the managed keys
    (``RemainingSteps``/``IsLastStep``) it may have returned, whose writes are ignored."""
    managed = graph.schema.managed
    if not managed or not any(key in managed for key in update):
        return update
    return {key: value for key, value in update.items() if key not in managed}


def _dict_writes(graph: GraphSpec, node: str, update: dict[str, Any], lenient: bool) -> list[tuple[str, Any]]:
    channels = graph.channels
    writes = []
    for key, value in update.items():
        if key in channels:
            writes.append((key, value))
        elif not lenient and key not in graph.schema.managed:  # a managed key's write is ignored, as LangGraph
            known = ", ".join(repr(k) for k in channels)
            raise InvalidUpdateError(
                f"Node {node!r} wrote unknown state key {key!r}; the state has keys {known}."
            )
    return writes


def _command_writes(graph: GraphSpec, node: str, command: Command[Any]) -> tuple[list[tuple[str, Any]], list[str | Send], Any]:
    if command.graph == Command.PARENT:
        raise ParentCommand(Command(update=command.update, goto=command.goto, resume=command.resume))
    update = command.update
    writes: list[tuple[str, Any]]
    if update is None:
        writes = []
    elif isinstance(update, dict):
        writes = _dict_writes(graph, node, update, False)
    elif isinstance(update, (list, tuple)) and all(isinstance(w, tuple) and len(w) == 2 for w in update):
        writes = _dict_writes(graph, node, {}, False)
        for key, value in update:
            writes += _dict_writes(graph, node, {key: value}, False)
    elif is_state_object(update):
        writes = _dict_writes(graph, node, object_updates(update), True)
    else:
        raise InvalidUpdateError(f"Node {node!r} returned Command(update={update!r}): expected a dict.")
    gotos = command.goto_targets()
    for target in gotos:
        name = target.node if isinstance(target, Send) else target
        if name != END and name not in graph.nodes:
            raise InvalidUpdateError(f"Node {node!r} returned Command(goto={name!r}), an unknown node.")
    return writes, gotos, update


def check_start_command(graph: GraphSpec, command: Command[Any]) -> None:
    """Refuse a thread-starting ``Command`` whose update or goto the ``__start__`` task would
    refuse, before its input checkpoint is saved."""
    _command_writes(graph, START, command)


async def routes_for(
    graph: GraphSpec, node: str, values: dict[str, Any], writes: list[tuple[str, Any]], remaining_steps: int
) -> list[str | Send]:
    """Where ``node``'s edges and conditional edges lead, given the state with its own writes
    applied (and ``remaining_steps`` for its managed keys)."""
    routes: list[str | Send] = list(graph.static_targets.get(node, ()))
    branches = graph.branches.get(node)
    if not branches:
        return routes
    view = dict(values)
    if writes:
        apply_writes(graph.channels, view, writes)
    arg = graph.schema.node_input(view, remaining_steps)
    for branch in branches:
        result = await branch.router(arg) if branch.is_async else branch.router(arg)
        routes += _normalise_branch(graph, node, branch.name, branch.path_map, result)
    return routes


def _normalise_branch(
    graph: GraphSpec, node: str, name: str, path_map: dict[Hashable, str] | None, result: Any
) -> list[str | Send]:
    items = result if isinstance(result, (list, tuple)) else [result]
    out: list[str | Send] = []
    for item in items:
        if isinstance(item, Send):
            if item.node not in graph.nodes:
                raise InvalidUpdateError(f"Branch {name!r} from {node!r} sent to unknown node {item.node!r}.")
            out.append(item)
            continue
        target = item
        if path_map is not None:
            if item not in path_map:
                raise UnknownBranchKeyError(
                    f"Branch {name!r} from {node!r} returned {item!r}, which is not in its path_map "
                    f"({list(path_map)!r})."
                )
            target = path_map[item]
        if target == END or target is None:
            continue
        if target not in graph.nodes:
            raise InvalidUpdateError(f"Branch {name!r} from {node!r} returned unknown node {target!r}.")
        out.append(target)
    return out


async def run_task(
    scope: RunScope,
    spec: NodeSpec,
    task: Task,
    values: dict[str, Any],
    answers: dict[int, Any],
    step: int,
    inline: bool = False,
) -> TaskResult:
    """Run one task to its end; retries follow the node's RetryPolicy."""
    graph = scope.graph
    ctx = TaskContext(scope, task.id, task.name, task.ns, step, task.path, task.triggers, dict(answers))
    if task.kind == "push":
        arg = task.arg
    else:
        try:  # a pydantic schema validates the state here; a failure is not retried
            arg = (spec.input_schema or graph.schema).node_input(values, scope.remaining_steps)
        except Exception as exc:
            return TaskResult(task, "error", error=exc, answers=answers)
    tap = scope.messages  # None unless the run streams ``messages`` or makes events
    events = scope.events  # None unless the run makes ``astream_events`` events
    attempt = 0
    while True:
        attempt += 1
        ctx.counter = 0
        ctx.subgraph_calls = 0
        token = _current.set(ctx)
        if events is not None:
            events.node_started(ctx, arg)
        lc_token = tap.start_task(ctx, arg) if tap is not None else None
        try:
            try:
                kwargs = injected_kwargs(ctx, spec.inject, attempt) if spec.inject else {}
                if inline and not spec.is_async and spec.subgraph is None and spec.timeout is None:
                    result = spec.fn(arg, **kwargs)
                else:
                    result = await _call(spec, arg, kwargs)
            except ParentCommand as pc:
                # A graph this node called sent a Command to its parent: it is this node's result.
                result = pc.command
            if tap is not None:
                tap.node_returned(ctx, result, plain_messages=spec.subgraph is not None)
            if events is not None:
                events.node_returned(ctx, arg, result)
            writes, gotos, update = writes_from_return(graph, task.name, result, lenient=spec.subgraph is not None)
            routes = await routes_for(graph, task.name, values, writes, scope.remaining_steps) + gotos
            return TaskResult(task, "done", writes, routes, update, answers=ctx.answers, consumed=ctx.consumed)
        except GraphInterrupt as gi:
            # Control flow, not an error: its traceback (the node's frames, which hold the
            # exception again through the futures they awaited) would only be a cycle for the
            # garbage collector to find, once per interrupt.
            gi.__traceback__ = None
            return TaskResult(task, "interrupt", interrupts=gi.interrupts, answers=ctx.answers, consumed=ctx.consumed)
        except anyio.get_cancelled_exc_class():
            raise
        except ParentCommand:
            raise
        except Exception as exc:
            wait = next_wait(spec.retry, exc, attempt)
            if wait is not None:
                await anyio.sleep(wait)
                continue
            return TaskResult(task, "error", error=exc, answers=answers, consumed=ctx.consumed)
        finally:
            if lc_token is not None:
                tap.end_task(lc_token)
            _current.reset(token)


async def _call(spec: NodeSpec, arg: Any, kwargs: dict[str, Any]) -> Any:
    if spec.timeout is None:
        return await _invoke(spec, arg, kwargs)
    try:
        with anyio.fail_after(spec.timeout):
            return await _invoke(spec, arg, kwargs)
    except TimeoutError as exc:
        raise NodeTimeoutError(f"Node {spec.name!r} ran longer than its timeout of {spec.timeout} s.") from exc


async def _invoke(spec: NodeSpec, arg: Any, kwargs: dict[str, Any]) -> Any:
    fn = spec.fn  # a subgraph node's runs the child graph nested in this task (nested.py)
    if spec.is_async:
        return await fn(arg, **kwargs)
    if kwargs:
        return await run_sync_node(functools.partial(fn, **kwargs), arg)
    return await run_sync_node(fn, arg)


def start_writes(graph: GraphSpec, value: Any) -> list[tuple[str, Any]]:
    """The writes the hidden ``__start__`` task makes from the graph input (an entrypoint graph
    takes any value as its input)."""
    if graph.entry is not None:
        return [(ENTRY_INPUT, value)]
    if is_state_object(value):
        value = object_updates(value)
    if not isinstance(value, dict):
        raise InvalidUpdateError(
            f"Expected dict as graph input, got {type(value).__name__}: {value!r}. "
            f"The input is a dict of the state keys ({', '.join(map(repr, graph.input_keys))})."
        )
    writes = []
    allowed = graph.input_keys
    for key, item in value.items():
        if key not in allowed:
            if key in graph.schema.managed:
                continue  # RemainingSteps / IsLastStep in the input: ignored, as LangGraph
            raise InvalidUpdateError(
                f"Graph input has unknown key {key!r}; the input keys are {', '.join(map(repr, allowed))}."
            )
        writes.append((key, item))
    return writes


async def run_start(scope: RunScope, task: Task, values: dict[str, Any], graph_input: Any) -> TaskResult:
    """The hidden ``__start__`` task: write the input, then follow START's edges (and, for a
    ``Command(update=..., goto=...)`` that starts a new thread, its goto targets too)."""
    try:
        if isinstance(graph_input, Command):
            writes, gotos, _ = _command_writes(scope.graph, START, graph_input)
        else:
            writes, gotos = start_writes(scope.graph, graph_input), []
        routes = await routes_for(scope.graph, START, values, writes, scope.remaining_steps) + gotos
    except Exception as exc:
        return TaskResult(task, "error", error=exc)
    return TaskResult(task, "done", writes, routes, None)


def group_writes(pending: Sequence[tuple[str, str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in pending:
        out.setdefault(task_id, []).append((channel, value))
    return out
