"""RunScope: what one run of one graph (root or nested) shares with its tasks; TaskContext: what
one running task knows about itself and its run."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..checkpoint.base import BaseCheckpointSaver, thread_config
from .spec import GraphSpec


def _default_recursion_limit() -> int:
    """LangGraph 1.2.22's default step budget (10,007), or the environment's:
    ``STREAMHIL_DEFAULT_RECURSION_LIMIT``, else LangGraph's ``LANGGRAPH_DEFAULT_RECURSION_LIMIT``."""
    for name in ("STREAMHIL_DEFAULT_RECURSION_LIMIT", "LANGGRAPH_DEFAULT_RECURSION_LIMIT"):
        text = os.environ.get(name)
        if text:
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"{name} must be an integer, got {text!r}") from None
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
            return value
    return 10_007


DEFAULT_RECURSION_LIMIT = _default_recursion_limit()
"""The ``recursion_limit`` of a run whose config names none (read once, at import)."""

__all__ = ["RunScope", "TaskContext", "Sink", "PRIVATE_LOOP", "PUSH_TRIGGERS"]

PRIVATE_LOOP: ContextVar[bool] = ContextVar("streamhil_private_loop", default=False)
"""True on an event loop the sync API started for one call: nothing else runs on it, so a step
with a single sync task runs that task inline instead of in a worker thread."""

Sink = Callable[[tuple[str, ...], str, Any], None]


def _drop(ns: tuple[str, ...], mode: str, payload: Any) -> None:
    return None


_NOT_METADATA = frozenset({"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map"})

_METADATA_FROM_CONFIGURABLE = ("thread_id", "checkpoint_id", "checkpoint_ns", "task_id", "run_id", "assistant_id", "graph_id")
"""Configurable keys LangGraph copies into a run's metadata (when set and not already there)."""

PUSH_TRIGGERS = ("__pregel_push",)
"""The triggers LangGraph names for a ``Send``'s task (its push channel)."""


@dataclass(slots=True)
class RunScope:
    """One run of one graph: its address, saver, stream sink and the answers it may deliver."""

    graph: GraphSpec
    saver: BaseCheckpointSaver | None
    thread_id: str | None
    checkpoint_ns: str = ""
    ns_tuple: tuple[str, ...] = ()
    modes: frozenset[str] = frozenset()
    subgraphs: bool = False
    sink: Sink = _drop
    resume_map: dict[str, Any] = field(default_factory=dict)
    dropped_answers: set[str] = field(default_factory=set)  # ids consumed by tasks that then failed
    config: dict[str, Any] = field(default_factory=dict)
    recursion_limit: int = DEFAULT_RECURSION_LIMIT
    remaining_steps: int = DEFAULT_RECURSION_LIMIT  # recursion_limit minus the steps run so far: what RemainingSteps shows
    durability: str = "async"
    limiter: anyio.CapacityLimiter | None = None
    parents: dict[str, str] = field(default_factory=dict)
    nested: bool = False
    run_id: str | None = None
    context: Any = None  # the run's context (``invoke(..., context=...)``), nodes' ``runtime.context``
    inline_sync: bool = False
    # Stream, as a resumed step starts, the starts and (``cached``) updates of its tasks that
    # finished in an earlier run, as LangGraph does; off for a host whose log has them (arun).
    repeat_finished: bool = True
    checkpoint_id: str = ""  # the checkpoint the current step started from
    pace: Callable[[], Awaitable[None]] | None = None  # waits until the stream's reader caught up
    messages: Any = None  # a message_tap.MessageTap when the run streams ``messages`` (shared with subgraphs)
    events: Any = None  # a node_events.EventTap when the run makes ``astream_events`` events (shared too)
    event_parents: tuple[str, ...] = ()  # event run ids of the nodes whose subgraph this run is
    # The functional API (streamhil.func): task calls' saved outcomes on the current checkpoint,
    # by call id, and the run's persist.CheckpointWriter that saves a finished call's.
    calls: dict[str, Any] = field(default_factory=dict)
    writer: Any = None

    def wants(self, mode: str) -> bool:
        """Whether events of ``mode`` from this graph reach the stream."""
        return mode in self.modes and (not self.ns_tuple or self.subgraphs)

    def wants_messages(self) -> bool:
        return "messages" in self.modes

    def emit(self, ns: tuple[str, ...], mode: str, payload: Any) -> None:
        self.sink(ns, mode, payload)

    def emit_message(self, ns: tuple[str, ...], payload: Any) -> None:
        self.sink(ns, "messages", payload)

    def address(self, checkpoint_id: str | None = None) -> dict[str, Any]:
        return thread_config(self.thread_id or "", self.checkpoint_ns, checkpoint_id)

    def checkpoint_metadata(self, source: str, step: int) -> dict[str, Any]:
        """A checkpoint's metadata: the run's ``config["metadata"]`` and scalar ``configurable``
        values (as LangGraph's savers store them; not the addressing or ``langgraph_*`` keys),
        then ``source``, ``step`` and ``parents``."""
        extra: dict[str, Any] = {}
        for key, value in (self.config.get("configurable") or {}).items():
            if key in _NOT_METADATA or key.startswith(("__", "langgraph_")):
                continue
            if value is None or isinstance(value, (str, int, float, bool)):
                extra[key] = value
        if self.run_id is not None:
            extra["run_id"] = self.run_id
        for key, value in (self.config.get("metadata") or {}).items():
            if key not in _NOT_METADATA and not str(key).startswith(("__", "langgraph_")):
                extra[key] = value  # not a task's keys: a node passing its config on (sub.invoke(x, config))
        return {**extra, "source": source, "step": step, "parents": dict(self.parents)}

    def task_config(self, ctx: TaskContext) -> dict[str, Any]:
        """The config a node that takes ``config`` receives (and ``get_config()`` returns): the
        run's, its ``metadata`` saying which task this is (:meth:`task_metadata`)."""
        configurable = dict(self.config.get("configurable", {}))
        configurable.update(
            thread_id=self.thread_id,
            checkpoint_ns=ctx.ns,
            langgraph_node=ctx.node,
            langgraph_step=ctx.step,
            langgraph_path=ctx.path,
        )
        config = {**self.config, "configurable": configurable}
        if ctx.lc_config is not None:  # the run streams LangChain messages: callbacks, metadata, tags
            config.update(ctx.lc_config)
        else:
            config["metadata"] = self.task_metadata(ctx)
        return config

    def task_metadata(self, ctx: TaskContext, run_keys: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A task's ``config["metadata"]``, as LangGraph gives it: the run's ``metadata``, the
        addressing keys of its ``configurable`` (and ``run_keys`` the run lacks), then the task's
        node, step, triggers, path and namespace (``langgraph_node``, ...)."""
        metadata = dict(self.config.get("metadata") or {})
        configurable = self.config.get("configurable") or {}
        for key in _METADATA_FROM_CONFIGURABLE:
            if key not in metadata and configurable.get(key):
                metadata[key] = configurable[key]
        for key, value in (run_keys or {}).items():
            metadata.setdefault(key, value)
        metadata.update(
            langgraph_step=ctx.step,
            langgraph_node=ctx.node,
            # As LangGraph's: every channel that can start the node; a Send's task: its push channel.
            langgraph_triggers=self.graph.reported_triggers(ctx.node, tuple(ctx.triggers)) or PUSH_TRIGGERS,
            langgraph_path=ctx.path,
            langgraph_checkpoint_ns=ctx.ns,
        )
        if self.ns_tuple and "checkpoint_ns" not in metadata:
            metadata["checkpoint_ns"] = ctx.ns.split("|", 1)[0]  # the outermost task's, as LangGraph's subgraphs inherit it
        return metadata


@dataclass(slots=True)
class TaskContext:
    """What one running task knows about itself and its run (an ``InterruptSite`` for
    ``interrupt()``)."""

    run: RunScope
    task_id: str
    node: str
    ns: str  # full namespace of the task, e.g. "child:<tid>|ask:<tid>"
    step: int
    path: tuple[Any, ...]
    triggers: tuple[str, ...]
    answers: dict[int, Any]  # answers already given to this task's interrupts, by position
    consumed: list[str] = field(default_factory=list)  # interrupt ids answered during this execution
    counter: int = 0  # interrupt() calls made during this execution
    subgraph_calls: int = 0  # subgraphs invoked from inside this task, for their namespaces
    lc_config: dict[str, Any] | None = None  # LangChain config keys, when the run streams its messages
    event_run_id: str | None = None  # the node attempt's run id in ``astream_events`` events

    @property
    def resume_map(self) -> dict[str, Any]:
        return self.run.resume_map
