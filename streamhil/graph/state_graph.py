"""StateGraph: the builder. Add nodes and edges, then ``compile()``."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import typing
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, get_type_hints

from ..constants import END, RESERVED_CHARACTERS, RESERVED_NAMES, START
from ..errors import DuplicateNodeError, GraphBuildError, ReservedNameError
from ..executor.nested import subgraph_node
from ..executor.spec import Branch, GraphSpec, NodeSpec
from ..executor.state_objects import is_pydantic_model
from ..types import RetryPolicy
from .compiled import CompiledStateGraph
from .node_params import injected_parameters, is_runnable, runnable_name, runnable_node
from .schema import StateSchema, read_schema
from .targets import return_literal
from .validate import validate_graph

__all__ = ["StateGraph", "NodeSpec", "Branch"]


def _is_async_callable(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    return callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)


def _refuse_unsupported(**options: Any) -> None:
    """add_node options of LangGraph that streamhil does not implement: a TypeError, not silence."""
    for option, value in options.items():
        if value is not None:
            raise TypeError(
                f"add_node({option}=...) is not supported by streamhil (see docs/langgraph-differences.md)."
            )


def _node_input_schema(fn: Any, state: StateSchema) -> StateSchema | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
        hints = get_type_hints(fn)
    except Exception:
        return None
    if not params or params[0].name not in hints:
        return None
    annotation = hints[params[0].name]
    if annotation is state.cls or not isinstance(annotation, type) or not hasattr(annotation, "__annotations__"):
        return None
    if typing.is_typeddict(annotation) or is_pydantic_model(annotation) or dataclasses.is_dataclass(annotation):
        try:
            return read_schema(annotation)
        except GraphBuildError:
            return None
    return None


class StateGraph:
    """A graph whose nodes read and write a shared state.

    ``schema`` is a TypedDict, dataclass or pydantic model; a key annotated ``Annotated[T, reducer]`` folds the
    writes of one step through ``reducer``, any other key takes at most one write per step.
    """

    def __init__(
        self,
        state_schema: Any,
        context_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
    ) -> None:
        self.schema = read_schema(state_schema)
        self.context_schema = context_schema  # the type of a run's ``context`` (see CompiledStateGraph)
        self.input_schema = read_schema(input_schema) if input_schema is not None else self.schema
        self.output_schema = read_schema(output_schema) if output_schema is not None else self.schema
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.joins: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, list[Branch]] = {}
        self.compiled = False

    # -- nodes ---------------------------------------------------------------------------------
    def add_node(
        self,
        node: str | Callable[..., Any],
        action: Callable[..., Any] | None = None,
        *,
        defer: bool = False,
        metadata: dict[str, Any] | None = None,
        input_schema: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: Any = None,
        error_handler: Any = None,
        destinations: Sequence[str] | dict[str, str] | None = None,
        timeout: float | datetime.timedelta | None = None,
        trace_policy: Any = None,
        retry: RetryPolicy | Sequence[RetryPolicy] | None = None,
    ) -> StateGraph:
        """Add ``action`` under the name ``node`` (or add a function under its own ``__name__``).

        ``action`` is a function (sync or async), a compiled graph (a subgraph) or a LangChain
        Runnable. A ``defer=True`` node runs only once nothing else is left to run.
        """
        _refuse_unsupported(cache_policy=cache_policy, error_handler=error_handler, trace_policy=trace_policy)
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        elif timeout is not None and not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be seconds or a timedelta, got {timeout!r} (no TimeoutPolicy).")
        if action is None:
            if isinstance(node, str):
                raise GraphBuildError(f"add_node({node!r}) needs the node's function as its second argument.")
            action = node
            name = (runnable_name(node) if is_runnable(node) else None) or getattr(node, "name", None) or getattr(
                node, "__name__", None
            )
            if not isinstance(name, str):
                raise GraphBuildError(f"Cannot infer a name for node {node!r}; pass it: add_node('name', fn).")
        else:
            if not isinstance(node, str):
                raise GraphBuildError(f"A node name must be a str, got {node!r}.")
            name = node
        if name in RESERVED_NAMES:
            raise ReservedNameError(f"Node name {name!r} is reserved; choose another name.")
        for ch in RESERVED_CHARACTERS:
            if ch in name:
                raise ReservedNameError(f"Node name {name!r} holds {ch!r}, a reserved character; choose another name.")
        if name in self.nodes:
            raise DuplicateNodeError(f"Node {name!r} is already present; node names must be unique.")
        subgraph = action.spec if isinstance(action, CompiledStateGraph) else None
        runnable = subgraph is None and is_runnable(action)
        if subgraph is None and not runnable and not callable(action):
            raise GraphBuildError(f"Node {name!r} must be callable or a LangChain Runnable, got {action!r}.")
        declared: tuple[str, ...] = ()
        if destinations is not None:
            declared = tuple(destinations.keys() if isinstance(destinations, dict) else destinations)
        elif subgraph is None and not runnable:
            declared = tuple(return_literal(action) or ())
        inject: tuple[str, ...]
        if subgraph is not None:
            fn, is_async, inject = subgraph_node(subgraph), True, ()
        elif runnable:
            fn, is_async, inject = runnable_node(action), False, ("config",)
        else:
            fn, is_async, inject = action, _is_async_callable(action), injected_parameters(action)
        self.nodes[name] = NodeSpec(
            name=name,
            fn=fn,
            is_async=is_async,
            subgraph=subgraph,
            retry=_retry_policies(name, retry_policy or retry),
            timeout=timeout,
            input_schema=read_schema(input_schema) if input_schema is not None else (
                None if subgraph is not None or runnable else _node_input_schema(action, self.schema)
            ),
            destinations=declared,
            metadata=dict(metadata or {}),
            inject=inject,
            defer=defer,
        )
        return self

    def add_sequence(self, nodes: Sequence[Callable[..., Any] | tuple[str, Callable[..., Any]]]) -> StateGraph:
        """Add the nodes in order, each with an edge to the next."""
        if not nodes:
            raise GraphBuildError("add_sequence needs at least one node.")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                self.add_node(item[0], item[1])
                name = item[0]
            else:
                self.add_node(item)
                name = getattr(item, "name", None) or item.__name__
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # -- edges ---------------------------------------------------------------------------------
    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> StateGraph:
        """``start → end``; with a list of starts, ``end`` runs once after all of them (a join)."""
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphBuildError("END cannot be the start of an edge.")
            if end_key == START:
                raise GraphBuildError("START cannot be the end of an edge.")
            self.edges.append((start_key, end_key))
            return self
        starts = tuple(start_key)
        if not starts:
            raise GraphBuildError("add_edge needs at least one start node.")
        for s in starts:
            if s == END:
                raise GraphBuildError("END cannot be the start of an edge.")
        if end_key == START:
            raise GraphBuildError("START cannot be the end of an edge.")
        if len(starts) == 1:
            self.edges.append((starts[0], end_key))
        else:
            self.joins.append((starts, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source`` runs, ``path(state)`` picks what runs next: a name, a list, END or ``Send``s."""
        if source == END:
            raise GraphBuildError("END cannot be the source of a conditional edge.")
        if not callable(path):
            raise GraphBuildError(f"The router of a conditional edge from {source!r} must be callable.")
        mapping: dict[Hashable, str] | None
        if path_map is None:
            mapping = None
        elif isinstance(path_map, dict):
            mapping = dict(path_map)
        else:
            mapping = {name: name for name in path_map}
        name = getattr(path, "__name__", "condition")
        existing = self.branches.setdefault(source, [])
        if any(b.name == name for b in existing) and name != "<lambda>":
            raise GraphBuildError(f"Branch {name!r} already exists for node {source!r}.")
        existing.append(Branch(path, mapping, _is_async_callable(path), name))
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        return self.add_edge(START, key)

    def set_conditional_entry_point(self, path: Callable[..., Any], path_map: Any = None) -> StateGraph:
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        return self.add_edge(key, END)

    # -- compile -------------------------------------------------------------------------------
    def compile(
        self,
        checkpointer: Any = None,
        *,
        interrupt_before: Sequence[str] | Literal["*"] | None = None,
        interrupt_after: Sequence[str] | Literal["*"] | None = None,
        name: str | None = None,
        debug: bool = False,
        store: Any = None,
        cache: Any = None,
    ) -> Any:
        """Check the graph and return a runnable ``CompiledStateGraph``."""
        spec = self._spec(name=name or "LangGraph", checkpointer=checkpointer, store=store)
        validate_graph(spec, interrupt_before, interrupt_after)
        self.compiled = True
        return CompiledStateGraph(
            spec,
            builder=self,
            checkpointer=checkpointer,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
        )

    def _spec(self, *, name: str = "LangGraph", checkpointer: Any = None, store: Any = None) -> GraphSpec:
        """The graph as it stands, frozen for the executor (breakpoints are set by compile)."""
        return GraphSpec(
            name=name,
            schema=self.schema,
            nodes=dict(self.nodes),
            edges=tuple(self.edges),
            joins=tuple(self.joins),
            branches={src: tuple(branches) for src, branches in self.branches.items()},
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            checkpointer=checkpointer,
            store=store,
        )


def _retry_policies(node: str, given: RetryPolicy | Sequence[RetryPolicy] | None) -> tuple[RetryPolicy, ...]:
    """A node's retry policies as a tuple (LangGraph takes one or a sequence)."""
    policies = () if given is None else (given,) if isinstance(given, RetryPolicy) else tuple(given)
    for policy in policies:
        if not isinstance(policy, RetryPolicy):
            raise GraphBuildError(f"Node {node!r}: retry_policy must be a RetryPolicy or a list of them, got {policy!r}.")
    return policies
