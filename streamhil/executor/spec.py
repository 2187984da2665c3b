"""What the executor runs: a frozen description of a compiled graph (``GraphSpec``) with its
channels, nodes, edges and breakpoints, as plain data and callables.

The ``graph`` package builds one per ``compile()``; the executor reads only this, never the
builder or the public ``CompiledStateGraph``. A subgraph node carries its child's ``GraphSpec``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..checkpoint.base import BaseCheckpointSaver
from ..constants import END
from ..types import Overwrite, RetryPolicy

__all__ = [
    "ChannelSpec", "StateSchema", "Branch", "NodeSpec", "GraphSpec", "reduce_value", "MISSING",
    "ENTRY_INPUT", "ENTRY_OUTPUT", "ENTRY_SAVE",
]

MISSING: Any = object()
"""A channel's ``default`` when it has none."""

ENTRY_INPUT = "input"
"""State key of an entrypoint graph (``GraphSpec.entry``): the run's input."""
ENTRY_OUTPUT = "output"
"""State key of an entrypoint graph: what its function returned (what the graph shows)."""
ENTRY_SAVE = "previous"
"""State key of an entrypoint graph: what the next run receives as ``previous``."""


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One state key: a plain value (at most one write per step) or a reducer that folds writes."""

    key: str
    reducer: Callable[[Any, Any], Any] | None = None
    default: Any = MISSING  # the initial value (or a factory of it), when the key has one

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


def reduce_value(spec: ChannelSpec, current: Any, update: Any, has_current: bool) -> Any:
    """Apply one write to a reducer channel: ``Overwrite`` replaces, a first write folds into the
    default (or is taken as is when the key has none)."""
    if isinstance(update, Overwrite):
        return update.value
    if not has_current:
        if spec.has_default:
            current = spec.default() if callable(spec.default) else spec.default
        else:
            return update
    if spec.reducer is None:
        raise TypeError(f"State key {spec.key!r} has no reducer to fold a write into.")
    return spec.reducer(current, update)


@dataclass(frozen=True, slots=True)
class StateSchema:
    """The channels of a state schema (a TypedDict, dataclass or pydantic model), and how to
    build a node's input from the values."""

    cls: Any
    channels: dict[str, ChannelSpec]
    is_dataclass: bool = False
    is_pydantic: bool = False
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Turns the state's values into what ``cls`` accepts, when they differ (a pydantic field
    of LangChain messages: see ``model_messages``)."""
    managed: Mapping[str, Callable[[int], Any]] = field(default_factory=dict)
    """Keys that are not channels (``RemainingSteps``, ``IsLastStep``): each maps the steps the
    run has left to the value a node sees."""

    @property
    def builds_objects(self) -> bool:
        """Whether nodes receive an instance of ``cls`` (a dataclass or a pydantic model)."""
        return self.is_dataclass or self.is_pydantic

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.channels)

    def initial_values(self) -> dict[str, Any]:
        """Values a fresh thread starts with: reducer keys whose type can be built empty."""
        out = {}
        for key, spec in self.channels.items():
            if spec.has_default:
                default = spec.default
                out[key] = default() if callable(default) else default
        return out

    def node_input(self, values: dict[str, Any], remaining_steps: int = 0) -> Any:
        """What a node reading this schema receives: a dict of its keys, or an instance of
        ``cls`` built from them (a pydantic model validates them here and may raise); managed
        keys are computed from ``remaining_steps``."""
        # In the schema's order, as LangGraph reads a node's channels (not the order they were written)
        picked = {k: values[k] for k in self.channels if k in values}
        if self.managed:  # after the channels, as LangGraph
            for key, get in self.managed.items():
                picked[key] = get(remaining_steps)
        return self._build(picked) if self.builds_objects else picked

    def as_output(self, values: dict[str, Any]) -> Any:
        """``values`` as ``version="v2"`` outputs give them: an instance of ``cls`` for a
        dataclass or pydantic schema, else the dict itself."""
        return self._build(values) if self.builds_objects else values

    def _build(self, values: dict[str, Any]) -> Any:
        if self.prepare is not None:
            values = self.prepare(values)
        return self.cls(**values)


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: ``router(state)`` picks the next nodes (names, ``Send``s or END)."""

    router: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    is_async: bool
    name: str


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as the executor runs it. A subgraph node's ``fn`` runs the child graph nested in the
    calling task; ``subgraph`` describes that child (for its checkpoints and snapshots)."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    subgraph: GraphSpec | None = None
    inject: tuple[str, ...] = ()  # keyword parameters the runtime passes (executor/runtime.py)
    retry: tuple[RetryPolicy, ...] = ()  # the first whose retry_on covers a failure applies
    timeout: float | None = None
    input_schema: StateSchema | None = None
    destinations: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    defer: bool = False  # runs only once nothing else is left to run


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """A compiled graph, as the executor runs it.

    ``checkpointer`` is the graph's own setting: a saver, ``True`` (a subgraph keeping a thread
    of its own), ``False`` (no checkpoints) or ``None`` (the parent's saver, if any).
    """

    name: str
    schema: StateSchema
    nodes: Mapping[str, NodeSpec]
    edges: tuple[tuple[str, str], ...] = ()  # static edges, END included (drawing)
    joins: tuple[tuple[tuple[str, ...], str], ...] = ()  # (sources, target): target runs after all
    branches: Mapping[str, tuple[Branch, ...]] = field(default_factory=dict)
    input_schema: StateSchema | None = None  # None: the state schema
    output_schema: StateSchema | None = None  # None: the state schema
    interrupt_before: frozenset[str] = frozenset()
    interrupt_after: frozenset[str] = frozenset()
    checkpointer: BaseCheckpointSaver | bool | None = None
    store: Any = None  # compile(store=...): handed to nodes that take ``store`` / ``runtime``
    # The functional API's entrypoint graph: any value is its input (saved under ENTRY_INPUT,
    # the input checkpoint plans this node directly), and it shows ENTRY_OUTPUT, not a dict.
    entry: str | None = None
    # Derived from the fields above in __post_init__ (read on every step):
    channels: Mapping[str, ChannelSpec] = field(init=False)
    node_order: Mapping[str, int] = field(init=False)
    static_targets: Mapping[str, tuple[str, ...]] = field(init=False)
    input_keys: tuple[str, ...] = field(init=False)
    output_keys: tuple[str, ...] = field(init=False)  # what invoke returns
    state_keys: tuple[str, ...] = field(init=False)  # what get_state and the `values` stream show
    deferred: frozenset[str] = field(init=False)  # nodes added with defer=True
    node_triggers: Mapping[str, tuple[str, ...]] = field(init=False)  # what a node's tasks report

    def __post_init__(self) -> None:
        channels = self.schema.channels
        static: dict[str, list[str]] = {}
        for src, dst in self.edges:
            if dst != END:
                static.setdefault(src, []).append(dst)
        inputs = self.input_schema or self.schema
        set_ = object.__setattr__  # frozen: set the derived fields once, here
        set_(self, "channels", channels)
        set_(self, "node_order", {name: n for n, name in enumerate(self.nodes)})
        set_(self, "static_targets", {src: tuple(dsts) for src, dsts in static.items()})
        set_(self, "input_keys", tuple(k for k in inputs.channels if k in channels) or inputs.keys)
        set_(self, "deferred", frozenset(name for name, node in self.nodes.items() if node.defer))
        set_(self, "output_keys", tuple(k for k in (self.output_schema or self.schema).channels if k in channels))
        set_(self, "state_keys", tuple(channels))
        set_(self, "node_triggers", self._node_triggers())

    def _node_triggers(self) -> dict[str, tuple[str, ...]]:
        """The triggers a node's tasks report (``tasks``/``debug`` parts, ``langgraph_triggers``):
        as LangGraph's, every channel that can start the node, whichever started it — its
        ``branch:to:<node>`` channel and each join edge's into it, sorted."""
        triggers: dict[str, set[str]] = {name: {f"branch:to:{name}"} for name in self.nodes}
        for sources, target in self.joins:
            if target in triggers:
                triggers[target].add(f"join:{'+'.join(sources)}:{target}")
        return {name: tuple(sorted(channels)) for name, channels in triggers.items()}

    def reported_triggers(self, node: str, triggers: tuple[str, ...]) -> tuple[str, ...]:
        """What a pull task of ``node`` that ``triggers`` started reports (see
        ``node_triggers``); an entrypoint graph's and ``START``'s tasks report their own."""
        if self.entry is not None or not triggers:
            return triggers
        return self.node_triggers.get(node, triggers)

    def shown(self, values: dict[str, Any]) -> Any:
        """The state as runs return it and snapshots show it: the whole dict, or an entrypoint
        graph's return value."""
        if self.entry is not None:
            return values.get(ENTRY_OUTPUT)
        return {k: values[k] for k in self.state_keys if k in values}

    @property
    def saver(self) -> BaseCheckpointSaver | None:
        """The graph's own saver, when it was compiled with one."""
        return self.checkpointer if isinstance(self.checkpointer, BaseCheckpointSaver) else None
