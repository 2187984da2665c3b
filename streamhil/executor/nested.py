"""Nested runs: a graph run as a subgraph of a running task, on the same thread, its checkpoints
in a namespace under that task. Two ways in: a subgraph added as a node (``subgraph_node``), and
a compiled graph called from inside a node function (``run_nested`` with ``node_call=False``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..checkpoint.base import BaseCheckpointSaver
from ..constants import TASKS
from ..errors import GraphInterrupt
from .context import require_task
from .loop import execute
from .message_tap import tap_for
from .node_events import EVENTS, EventTap
from .scope import RunScope, Sink, TaskContext
from .spec import GraphSpec
from .state_objects import is_state_object, object_updates

__all__ = ["OwnStream", "run_nested", "subgraph_node"]

OwnStream = tuple[frozenset[str], Sink, bool, Callable[[], Awaitable[None]] | None]
"""``(modes, sink, subgraphs, pace)`` of a graph streamed from inside a node with its own stream."""


def subgraph_node(spec: GraphSpec) -> Callable[[Any], Awaitable[Any]]:
    """The node function of a subgraph added as a node: runs it nested in the calling task."""

    async def run_subgraph(graph_input: Any) -> Any:
        return await run_nested(spec, graph_input, require_task(f"subgraph {spec.name!r}"), node_call=True)

    return run_subgraph


def _namespace(spec: GraphSpec, parent: TaskContext, node_call: bool) -> str:
    """Where the nested run's checkpoints live. A subgraph with a thread of its own
    (``checkpointer=True``) keeps one namespace per node; otherwise it is the calling task's,
    and the second, third... graph a node calls gets ``|1``, ``|2``..."""
    outer = parent.run
    if spec.checkpointer is True:
        ns = parent.node if not outer.checkpoint_ns else f"{outer.checkpoint_ns}|{parent.node}"
    else:
        ns = parent.ns
    if not node_call:
        parent.subgraph_calls += 1
        if parent.subgraph_calls > 1:
            ns = f"{ns}|{parent.subgraph_calls - 1}"
    return ns


def _saver(spec: GraphSpec, outer: RunScope) -> BaseCheckpointSaver | None:
    if spec.checkpointer is False:
        return None
    own = spec.saver
    return own if own is not None else outer.saver


async def run_nested(
    spec: GraphSpec, graph_input: Any, parent: TaskContext, *, node_call: bool, own_stream: OwnStream | None = None,
    events_run_id: str | None = None, context: Any = None,
) -> Any:
    """Run ``spec`` as a subgraph of the task ``parent``: same thread, namespace under the task.
    Returns its output values; its interrupts (or a static breakpoint) pause the calling task.
    ``context``: the nested run's context (None: the calling run's)."""
    outer = parent.run
    ns = _namespace(spec, parent, node_call)
    saver = _saver(spec, outer)
    prefix = f"{outer.checkpoint_ns}|" if outer.checkpoint_ns else ""
    segment = ns[len(prefix):] if prefix and ns.startswith(prefix) else ns
    scope = RunScope(
        graph=spec,
        saver=saver,
        thread_id=outer.thread_id,
        checkpoint_ns=ns,
        ns_tuple=outer.ns_tuple + (segment,),
        modes=outer.modes,
        subgraphs=outer.subgraphs,
        sink=outer.sink,
        resume_map=outer.resume_map,
        dropped_answers=outer.dropped_answers,
        config=outer.config,
        recursion_limit=outer.recursion_limit,
        durability=outer.durability,
        limiter=outer.limiter,
        parents={**outer.parents, outer.checkpoint_ns: outer.checkpoint_id},
        nested=True,
        context=outer.context if context is None else context,
        inline_sync=outer.inline_sync,
        repeat_finished=outer.repeat_finished,
        messages=outer.messages,
        events=outer.events,
        event_parents=outer.event_parents + ((parent.event_run_id,) if parent.event_run_id else ()),
    )
    if own_stream is not None:
        scope.modes, scope.sink, scope.subgraphs, scope.pace = own_stream
        scope.ns_tuple = ()
        scope.messages = tap_for(scope.modes)
        # sub.astream_events(...) inside a node: events of its own, its nodes hanging from its run
        scope.events = EventTap(events_run_id) if EVENTS in scope.modes and events_run_id else None
        scope.event_parents = ()
    saved = await saver.aget_tuple(scope.address()) if saver is not None else None
    if node_call and is_state_object(graph_input):  # a dataclass or pydantic parent state
        graph_input = object_updates(graph_input)
    if isinstance(graph_input, dict):  # the parent's state, restricted to this graph's input keys
        graph_input = {k: v for k, v in graph_input.items() if k in spec.input_keys}
    if saved is not None:
        pending = bool(saved.checkpoint.channel_values.get(TASKS))
        if pending or spec.checkpointer is not True:
            graph_input = None  # resume it, or replay its finished output
        # checkpointer=True: a finished subgraph thread takes the new input, keeping its state
    outcome = await execute(
        scope, graph_input, saved, replay=False,
        interrupt_before=spec.interrupt_before, interrupt_after=spec.interrupt_after,
    )
    if outcome.interrupts or outcome.breakpoint:
        # Its interrupts (or its static breakpoint, with no payload) pause the calling task.
        raise GraphInterrupt(tuple(outcome.interrupts))
    return outcome.values
