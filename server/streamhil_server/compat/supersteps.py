"""``POST /threads {supersteps}``: a thread created with a state, as LangGraph's server makes one.

The body's ``supersteps`` is a list of ``{updates: [{values, as_node, command?}]}``, applied in
order to the new thread as ``update_state`` calls (``threads.create(graph_id=..., supersteps=...)``
in langgraph-sdk; the thread's graph is ``metadata.graph_id``). streamhil's ``update_state``
writes one node's update per checkpoint, so a superstep holds exactly one update, given as
``values``; several updates in one superstep, and ``command``, are refused with 422 before
anything is created, as are node names and state keys the graph lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..registry import GraphEntry
from .http_access import invalid
from .langgraph_views import known_input

__all__ = ["SeedUpdate", "seed_updates"]

_SPECIAL_NODES = ("__input__", "__start__", "__end__", "__copy__")


@dataclass(frozen=True, slots=True)
class SeedUpdate:
    """One superstep: ``values`` written as ``as_node``'s output (None: the node update_state picks)."""

    values: Any
    as_node: str | None


def seed_updates(entry: GraphEntry | None, graph_id: Any, supersteps: Any) -> list[SeedUpdate]:
    """The updates of ``supersteps`` for the graph ``entry`` (the one ``graph_id`` names), checked;
    422 for anything streamhil cannot apply as it was meant."""
    if not isinstance(supersteps, list):
        raise invalid("supersteps must be a list of {updates: [{values, as_node}]}", "supersteps")
    if entry is None:
        if graph_id is None:
            raise invalid("supersteps need the thread's graph: pass graph_id (metadata.graph_id)", "metadata.graph_id")
        raise invalid(f"graph_id {graph_id!r} names no graph this server serves", "metadata.graph_id")
    graph = entry.graph
    out = []
    for i, step in enumerate(supersteps):
        where = f"supersteps[{i}]"
        updates = step.get("updates") if isinstance(step, Mapping) else None
        if not isinstance(updates, list) or not updates:
            raise invalid(f"{where}.updates must be a non-empty list of {{values, as_node}}", f"{where}.updates")
        if len(updates) > 1:
            raise invalid(
                f"{where} has {len(updates)} updates: streamhil-server applies one update per superstep "
                "(several nodes' writes in one superstep are not supported); give each its own superstep",
                f"{where}.updates",
            )
        update = updates[0]
        where = f"{where}.updates[0]"
        if not isinstance(update, Mapping):
            raise invalid(f"{where} must be an object {{values, as_node}}", where)
        if update.get("command") is not None:
            raise invalid(f"{where}.command is not supported by streamhil-server: give the update as values", f"{where}.command")
        as_node = update.get("as_node")
        if as_node is not None and (not isinstance(as_node, str) or (as_node not in graph.nodes and as_node not in _SPECIAL_NODES)):
            raise invalid(f"{where}.as_node: graph {entry.name!r} has no node {as_node!r}; nodes: {', '.join(graph.nodes)}", f"{where}.as_node")
        values = update.get("values")
        if as_node == "__input__":
            values = known_input(graph, values)  # keys the input lacks are dropped, as for a run's input
        elif isinstance(values, Mapping):
            unknown = next((k for k in values if k not in graph.channels), None)
            if unknown is not None:
                raise invalid(
                    f"{where}.values: the graph's state has no key {unknown!r}; its keys are {', '.join(map(str, graph.channels))}",
                    f"{where}.values.{unknown}",
                )
        out.append(SeedUpdate(values, as_node))
    return out
