"""The rules a graph must satisfy before it compiles; each broken rule is a GraphBuildError subclass."""

from __future__ import annotations

from typing import Any

from ..constants import END, START
from ..errors import GraphBuildError, NoEntryPointError, UnknownNodeError, UnreachableNodeError
from ..executor.spec import GraphSpec
from .targets import branch_targets

__all__ = ["validate_graph"]


def _check_known(graph: GraphSpec, name: str, where: str) -> None:
    if name not in graph.nodes:
        known = ", ".join(sorted(graph.nodes)) or "none"
        raise UnknownNodeError(f"{where} names unknown node {name!r} (known nodes: {known}).")


def validate_graph(graph: GraphSpec, interrupt_before: Any, interrupt_after: Any) -> None:
    """Raise the first broken rule: unknown nodes, no entry point, unreachable nodes, bad breakpoints."""
    for src, dst in graph.edges:
        if src != START:
            _check_known(graph, src, f"An edge {src!r} -> {dst!r}")
        if dst != END:
            _check_known(graph, dst, f"An edge {src!r} -> {dst!r}")
    for sources, dst in graph.joins:
        for src in sources:
            if src != START:
                _check_known(graph, src, f"A join {list(sources)!r} -> {dst!r}")
        if dst != END:
            _check_known(graph, dst, f"A join {list(sources)!r} -> {dst!r}")
    for src, branches in graph.branches.items():
        if src != START:
            _check_known(graph, src, f"A conditional edge from {src!r}")
        for branch in branches:
            for target in branch_targets(branch) or ():
                if target != END:
                    _check_known(graph, target, f"Branch {branch.name!r} from {src!r}")
    for node in graph.nodes.values():
        for target in node.destinations:
            if target != END:
                _check_known(graph, target, f"The Command destinations of node {node.name!r}")
    for label, names in (("interrupt_before", interrupt_before), ("interrupt_after", interrupt_after)):
        if names is None or names == "*":
            continue
        if isinstance(names, str):
            raise GraphBuildError(f"{label} takes a list of node names or '*', got {names!r}.")
        for name in names:
            _check_known(graph, name, label)

    has_entry = any(src == START for src, _ in graph.edges) or START in graph.branches
    if not has_entry:
        raise NoEntryPointError(
            "The graph has no entry point: add an edge from START, e.g. "
            "builder.add_edge(START, 'first_node') or builder.set_entry_point('first_node')."
        )
    _check_reachable(graph)


def _successors(graph: GraphSpec, name: str) -> tuple[set[str], bool]:
    """Nodes reachable in one hop from ``name``, and whether the set is open-ended (a router
    without a path map, a node without declared Command destinations, a subgraph node)."""
    out = {dst for src, dst in graph.edges if src == name}
    out |= {dst for sources, dst in graph.joins if name in sources}
    open_ended = False
    for branch in graph.branches.get(name, ()):
        targets = branch_targets(branch)
        if targets is None:
            open_ended = True
        else:
            out |= set(targets)
    spec = graph.nodes.get(name)
    if spec is not None:
        out |= set(spec.destinations)
        if spec.subgraph is not None or not spec.destinations:
            # A node whose Command destinations are not declared may return Command(goto=...) to
            # any node, static edges or not (as may a subgraph it calls, with Command.PARENT); a
            # subgraph node's own nodes may too.
            open_ended = True
    return out, open_ended


def _check_reachable(graph: GraphSpec) -> None:
    """Refuse nodes nothing can reach from START, when that is known: every node reached declares
    its Command destinations (``-> Command[Literal[...]]`` or ``destinations=``). Otherwise any
    node may be reached, by an undeclared ``Command(goto=...)``, as in LangGraph."""
    seen: set[str] = set()
    frontier = [START]
    while frontier:
        name = frontier.pop()
        succ, open_ended = _successors(graph, name)
        if open_ended:
            return  # an undeclared router or Command may reach any node
        for nxt in succ:
            if nxt != END and nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    unreachable = [n for n in graph.nodes if n not in seen]
    if unreachable:
        names = ", ".join(repr(n) for n in unreachable)
        raise UnreachableNodeError(
            f"Node(s) {names} cannot be reached from START: add an edge to them, declare them in a "
            "conditional edge's path_map, or declare Command destinations (-> Command[Literal[...]] "
            "or add_node(..., destinations=[...]))."
        )
