"""The node-level events of ``astream_events`` (LangChain's "v2" event schema): a node's
``on_chain_start`` before it runs, then ``on_chain_stream`` and ``on_chain_end`` with what it
returned, as LangGraph's nodes make them through LangChain callbacks.

A run that makes events has one :class:`EventTap`, shared with its subgraphs; a run that does not
has none and pays nothing. Events go to the run's sink under the internal mode ``"events"`` (the
graph's own start, stream and end events are made by ``astream_events`` around the run). What
LangChain runnables called inside a node report (chat models, tools, custom events) is turned
into events by :mod:`.langchain_events`, with the node's run as their parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from .scope import TaskContext

__all__ = ["EventTap", "EVENTS", "INTEGRATION", "graph_event"]

EVENTS = "events"
"""The internal stream mode the events travel under (not one of ``astream``'s modes)."""

INTEGRATION = {"ls_integration": "langgraph"}
"""What LangGraph adds to the metadata of its graph's and its tasks' events."""

_FROM_CONFIGURABLE = ("thread_id", "checkpoint_id", "checkpoint_ns", "task_id", "run_id", "assistant_id", "graph_id")


def graph_event(kind: str, name: str, run_id: str, config: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """One of the graph's own events (``on_chain_start`` / ``_stream`` / ``_end``) for a run with
    ``config``: its ``tags``, and as metadata its ``metadata``, the addressing keys of its
    ``configurable`` and ``ls_integration``, as LangGraph's."""
    metadata = dict(config.get("metadata") or {})
    configurable = config.get("configurable") or {}
    for key in _FROM_CONFIGURABLE:
        if key not in metadata and configurable.get(key):
            metadata[key] = configurable[key]
    for key, value in INTEGRATION.items():
        metadata.setdefault(key, value)
    return {
        "event": kind, "name": name, "run_id": run_id, "parent_ids": [], "tags": list(config.get("tags") or ()),
        "metadata": metadata, "data": data,
    }


class EventTap:
    """Makes one run's node events (see the module's docstring)."""

    __slots__ = ("root_run_id",)

    def __init__(self, root_run_id: str) -> None:
        self.root_run_id = root_run_id  # the graph's own run: every node event's first parent

    def node_started(self, ctx: TaskContext, node_input: Any) -> None:
        """Before an attempt of ``ctx``'s node: a run id of its own, and ``on_chain_start``."""
        ctx.event_run_id = str(uuid4())
        self._emit(ctx, "on_chain_start", {"input": node_input})

    def node_returned(self, ctx: TaskContext, node_input: Any, output: Any) -> None:
        """After the node returned ``output``: ``on_chain_stream``, then ``on_chain_end``. (A
        node that raised or was interrupted has no end event, as under LangGraph.)"""
        self._emit(ctx, "on_chain_stream", {"chunk": output})
        self._emit(ctx, "on_chain_end", {"output": output, "input": node_input})

    def parents(self, ctx: TaskContext) -> list[str]:
        """The run ids above the node's run: the graph's, then those of the nodes whose subgraph
        it runs in."""
        return [self.root_run_id, *ctx.run.event_parents]

    def _emit(self, ctx: TaskContext, kind: str, data: dict[str, Any]) -> None:
        assert ctx.event_run_id is not None
        scope = ctx.run
        event = {
            "event": kind,
            "name": ctx.node,
            "run_id": ctx.event_run_id,
            "parent_ids": self.parents(ctx),
            "tags": [*(scope.config.get("tags") or ()), f"graph:step:{ctx.step}"],
            "metadata": scope.task_metadata(ctx, run_keys=INTEGRATION),
            "data": data,
        }
        scope.emit(scope.ns_tuple, EVENTS, event)
