"""Objects shared by several messages: interrupts, states, threads, graphs (spec section 4).

Each has ``to_wire()`` (a JSON-ready dict) and ``from_wire(fields)`` (lenient: unknown keys are
ignored, as clients must). The ``from_*`` builders read streamhil's runtime objects by attribute,
so this package stays free of imports from the rest of streamhil.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ._fields import Fields

__all__ = [
    "ThreadStatus",
    "THREAD_STATUSES",
    "InterruptInfo",
    "TaskInfo",
    "StateView",
    "ThreadInfo",
    "EdgeInfo",
    "InputField",
    "INPUT_TYPES",
    "GraphInfo",
    "Counters",
    "split_ns",
]

ThreadStatus = Literal["idle", "running", "interrupted", "error"]
THREAD_STATUSES: tuple[ThreadStatus, ...] = get_args(ThreadStatus)


def split_ns(ns: str | Sequence[str] | None) -> tuple[str, ...]:
    """A namespace as a tuple: ``"a:1|b:2"`` → ``("a:1", "b:2")``, ``""``/``None`` → ``()``."""
    if ns is None or ns == "":
        return ()
    if isinstance(ns, str):
        return tuple(ns.split("|"))
    return tuple(str(part) for part in ns)


def _ns_from(fields: Fields, key: str = "ns") -> tuple[str, ...]:
    return fields.texts(key, unique=False, max_len=None) or ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InterruptInfo:
    """A pending question: ``{id, value, node, task_id, ns}``.

    Hashable by its ``id`` whatever its ``value`` (usually a dict), so the interrupt objects
    themselves can key a resume's ``answers``; equality still compares every field.
    """

    id: str
    value: Any = None
    node: str | None = None
    task_id: str | None = None
    ns: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash(self.id)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": self.value,
            "node": self.node,
            "task_id": self.task_id,
            "ns": list(self.ns),
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> InterruptInfo:
        return cls(
            id=fields.text("id", required=True),
            value=fields.any("value"),
            node=fields.text("node"),
            task_id=fields.text("task_id"),
            ns=_ns_from(fields),
        )

    @classmethod
    def from_interrupt(cls, interrupt: Any) -> InterruptInfo:
        """From a :class:`streamhil.types.Interrupt` (or anything with its attributes).

        The core's ``Interrupt.ns`` is the namespace of the asking *task* (it ends with its own
        ``node:task_id`` segment); the wire's ``ns`` is the namespace of the graph that node
        belongs to, so that last segment is dropped (``[]`` at the root).
        """
        ns = split_ns(getattr(interrupt, "ns", None))
        return cls(
            id=str(interrupt.id),
            value=interrupt.value,
            node=getattr(interrupt, "node", None),
            task_id=getattr(interrupt, "task_id", None),
            ns=ns[:-1],
        )


def _interrupts_from(fields: Fields, key: str = "interrupts") -> tuple[InterruptInfo, ...]:
    items = fields.array(key) or []
    base = fields.path(key)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise fields.fail(f"{base}[{i}]", "expected object")
        out.append(InterruptInfo.from_wire(Fields(item, prefix=f"{base}[{i}]", strict=False)))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskInfo:
    """One task of a state's next step."""

    id: str
    name: str
    error: str | None = None
    interrupts: tuple[InterruptInfo, ...] = ()
    result: Any = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "error": self.error,
            "interrupts": [i.to_wire() for i in self.interrupts],
            "result": self.result,
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> TaskInfo:
        return cls(
            id=fields.text("id", required=True),
            name=fields.text("name", required=True),
            error=fields.text("error", min_len=0),
            interrupts=_interrupts_from(fields),
            result=fields.any("result"),
        )

    @classmethod
    def from_task(cls, task: Any) -> TaskInfo:
        """From a :class:`streamhil.types.PregelTask`."""
        error = getattr(task, "error", None)
        return cls(
            id=str(task.id),
            name=str(task.name),
            error=None if error is None else str(error),
            interrupts=tuple(InterruptInfo.from_interrupt(i) for i in getattr(task, "interrupts", ())),
            result=getattr(task, "result", None),
        )


def _checkpoint_id(config: Mapping[str, Any] | None) -> str | None:
    if not config:
        return None
    value = config.get("configurable", {}).get("checkpoint_id")
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateView:
    """A thread's state at one checkpoint (spec 4.2)."""

    values: Any = None
    next: tuple[str, ...] = ()
    checkpoint_id: str | None = None
    parent_checkpoint_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: str | None = None
    tasks: tuple[TaskInfo, ...] = ()
    interrupts: tuple[InterruptInfo, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "next": list(self.next),
            "checkpoint_id": self.checkpoint_id,
            "parent_checkpoint_id": self.parent_checkpoint_id,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "tasks": [t.to_wire() for t in self.tasks],
            "interrupts": [i.to_wire() for i in self.interrupts],
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> StateView:
        tasks = []
        base = fields.path("tasks")
        for i, item in enumerate(fields.array("tasks") or []):
            if not isinstance(item, Mapping):
                raise fields.fail(f"{base}[{i}]", "expected object")
            tasks.append(TaskInfo.from_wire(Fields(item, prefix=f"{base}[{i}]", strict=False)))
        return cls(
            values=fields.any("values"),
            next=fields.texts("next", unique=False) or (),
            checkpoint_id=fields.text("checkpoint_id"),
            parent_checkpoint_id=fields.text("parent_checkpoint_id"),
            metadata=fields.mapping("metadata"),
            created_at=fields.text("created_at"),
            tasks=tuple(tasks),
            interrupts=_interrupts_from(fields),
        )

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> StateView:
        """From a :class:`streamhil.types.StateSnapshot`."""
        return cls(
            values=snapshot.values,
            next=tuple(snapshot.next),
            checkpoint_id=_checkpoint_id(snapshot.config),
            parent_checkpoint_id=_checkpoint_id(snapshot.parent_config),
            metadata=None if snapshot.metadata is None else dict(snapshot.metadata),
            created_at=snapshot.created_at,
            tasks=tuple(TaskInfo.from_task(t) for t in snapshot.tasks),
            interrupts=tuple(InterruptInfo.from_interrupt(i) for i in snapshot.interrupts),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadInfo:
    """One entry of ``list_threads`` (spec 4.3)."""

    thread_id: str
    graph: str
    status: ThreadStatus
    run_id: str | None = None
    head_seq: int = 0
    interrupts: tuple[InterruptInfo, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "graph": self.graph,
            "status": self.status,
            "run_id": self.run_id,
            "head_seq": self.head_seq,
            "interrupts": [i.to_wire() for i in self.interrupts],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> ThreadInfo:
        return cls(
            thread_id=fields.text("thread_id", required=True),
            graph=fields.text("graph", required=True),
            status=fields.text("status", required=True, choices=THREAD_STATUSES),
            run_id=fields.text("run_id"),
            head_seq=fields.integer("head_seq", minimum=0, default=0),
            interrupts=_interrupts_from(fields),
            created_at=fields.text("created_at"),
            updated_at=fields.text("updated_at"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeInfo:
    """One edge of a graph; ``conditional`` for a possible target of a branch."""

    source: str
    target: str
    conditional: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "conditional": self.conditional}

    @classmethod
    def from_wire(cls, fields: Fields) -> EdgeInfo:
        return cls(
            source=fields.text("source", required=True),
            target=fields.text("target", required=True),
            conditional=fields.boolean("conditional", default=False),
        )


INPUT_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object", "any")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputField:
    """One key of a graph's input schema: its JSON type, whether a run must set it, and the
    allowed values when there is a fixed set (``choices``, empty otherwise)."""

    name: str
    type: str = "any"
    required: bool = False
    choices: tuple[Any, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.choices:
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_wire(cls, fields: Fields) -> InputField:
        kind = fields.text("type", default="any")
        return cls(
            name=fields.text("name", required=True),
            type=kind if kind in INPUT_TYPES else "any",  # a newer type: treat as any JSON
            required=fields.boolean("required", default=False),
            choices=tuple(fields.array("choices") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphInfo:
    """One entry of ``list_graphs`` (spec 4.4)."""

    name: str
    nodes: tuple[str, ...] = ()
    edges: tuple[EdgeInfo, ...] = ()
    description: str | None = None
    input_keys: tuple[str, ...] = ()
    input_schema: tuple[InputField, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "nodes": list(self.nodes),
            "edges": [e.to_wire() for e in self.edges],
            "input_keys": list(self.input_keys),
            "input_schema": [f.to_wire() for f in self.input_schema],
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> GraphInfo:
        edges = []
        base = fields.path("edges")
        for i, item in enumerate(fields.array("edges") or []):
            if not isinstance(item, Mapping):
                raise fields.fail(f"{base}[{i}]", "expected object")
            edges.append(EdgeInfo.from_wire(Fields(item, prefix=f"{base}[{i}]", strict=False)))
        schema = []
        base = fields.path("input_schema")
        for i, item in enumerate(fields.array("input_schema") or []):
            if not isinstance(item, Mapping):
                raise fields.fail(f"{base}[{i}]", "expected object")
            schema.append(InputField.from_wire(Fields(item, prefix=f"{base}[{i}]", strict=False)))
        return cls(
            name=fields.text("name", required=True),
            description=fields.text("description", min_len=0),
            nodes=fields.texts("nodes", unique=False) or (),
            edges=tuple(edges),
            input_keys=fields.texts("input_keys", unique=False) or (),
            input_schema=tuple(schema),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Counters:
    """Activity figures, as a ``counters`` notice carries them (spec 4.5 and 6.3): server-wide, or on a
    server with tokens the identity's own."""

    connections: int = 0
    runs_active: int = 0
    runs_queued: int = 0
    runs_started: int = 0
    runs_finished: int = 0
    events_total: int = 0
    events_per_second: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "runs_active": self.runs_active,
            "runs_queued": self.runs_queued,
            "runs_started": self.runs_started,
            "runs_finished": self.runs_finished,
            "events_total": self.events_total,
            "events_per_second": self.events_per_second,
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> Counters:
        rate = fields.raw("events_per_second")
        return cls(
            connections=fields.integer("connections", minimum=0, default=0),
            runs_active=fields.integer("runs_active", minimum=0, default=0),
            runs_queued=fields.integer("runs_queued", minimum=0, default=0),
            runs_started=fields.integer("runs_started", minimum=0, default=0),
            runs_finished=fields.integer("runs_finished", minimum=0, default=0),
            events_total=fields.integer("events_total", minimum=0, default=0),
            events_per_second=float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else 0.0,
        )
