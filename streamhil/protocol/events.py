"""Thread events (spec section 6): one dataclass per ``event`` kind.

Every event has ``thread_id``, ``run_id``, ``seq`` and ``ns``. Stream events keep the LangGraph
payload in ``data``; HITL and lifecycle events have typed fields. ``to_wire()`` gives the whole
``event`` frame; :func:`event_from_wire` reads one back (kinds this version does not know become
:class:`UnknownEvent`, as the spec requires of clients).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

from ._fields import Fields, Unset
from .objects import InterruptInfo, ThreadStatus, _interrupts_from

__all__ = [
    "EventKind",
    "STREAM_EVENT_KINDS",
    "TERMINAL_EVENT_KINDS",
    "THREAD_STATUS_AFTER",
    "BaseEvent",
    "StreamEvent",
    "ValuesEvent",
    "UpdatesEvent",
    "CustomEvent",
    "MessagesEvent",
    "DebugEvent",
    "TasksEvent",
    "CheckpointsEvent",
    "EventsEvent",
    "InterruptEvent",
    "RunStartedEvent",
    "RunInterruptedEvent",
    "RunDoneEvent",
    "RunErrorEvent",
    "RunCancelledEvent",
    "StateUpdatedEvent",
    "UnknownEvent",
    "ThreadEvent",
    "EVENT_TYPES",
    "event_from_wire",
    "make_event",
]


class EventKind(StrEnum):
    """The ``event`` field of an ``event`` frame."""

    VALUES = "values"
    UPDATES = "updates"
    CUSTOM = "custom"
    MESSAGES = "messages"
    DEBUG = "debug"
    TASKS = "tasks"
    CHECKPOINTS = "checkpoints"
    EVENTS = "events"
    INTERRUPT = "interrupt"
    RUN_STARTED = "run_started"
    RUN_INTERRUPTED = "run_interrupted"
    RUN_DONE = "run_done"
    RUN_ERROR = "run_error"
    RUN_CANCELLED = "run_cancelled"
    STATE_UPDATED = "state_updated"


STREAM_EVENT_KINDS = frozenset(
    {
        EventKind.VALUES,
        EventKind.UPDATES,
        EventKind.CUSTOM,
        EventKind.MESSAGES,
        EventKind.DEBUG,
        EventKind.TASKS,
        EventKind.CHECKPOINTS,
        EventKind.EVENTS,
    }
)
TERMINAL_EVENT_KINDS = frozenset(
    {EventKind.RUN_INTERRUPTED, EventKind.RUN_DONE, EventKind.RUN_ERROR, EventKind.RUN_CANCELLED}
)
THREAD_STATUS_AFTER: Mapping[str, ThreadStatus] = MappingProxyType(
    {
        EventKind.RUN_STARTED: "running",
        EventKind.RUN_INTERRUPTED: "interrupted",
        EventKind.RUN_DONE: "idle",
        EventKind.RUN_ERROR: "error",
        EventKind.RUN_CANCELLED: "idle",
    }
)
"""A thread's status after each lifecycle event (a queued run may start right after)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseEvent:
    """Fields every event has."""

    kind: ClassVar[str] = ""
    thread_id: str
    run_id: str | None
    seq: int
    ns: tuple[str, ...] = ()

    @property
    def event(self) -> str:
        """The wire name of this event's kind."""
        return self.kind

    @property
    def is_terminal(self) -> bool:
        """Whether this is the last event of its run."""
        return self.event in TERMINAL_EVENT_KINDS

    def data_to_wire(self) -> Any:
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "event",
            "event": self.event,
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "seq": self.seq,
            "ns": list(self.ns),
            "data": self.data_to_wire(),
        }

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamEvent(BaseEvent):
    """A LangGraph stream part; ``data`` is its payload as JSON."""

    data: Any = None

    def data_to_wire(self) -> Any:
        return self.data


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.VALUES


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatesEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.UPDATES


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.CUSTOM


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagesEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.MESSAGES


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.DEBUG


@dataclass(frozen=True, slots=True, kw_only=True)
class TasksEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.TASKS


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointsEvent(StreamEvent):
    kind: ClassVar[str] = EventKind.CHECKPOINTS


@dataclass(frozen=True, slots=True, kw_only=True)
class EventsEvent(StreamEvent):
    """One of LangChain's "v2" events (``astream_events``): ``{event, name, run_id, parent_ids,
    tags, metadata, data}``."""

    kind: ClassVar[str] = EventKind.EVENTS


@dataclass(frozen=True, slots=True, kw_only=True)
class InterruptEvent(BaseEvent):
    """The run paused: ``interrupts`` lists every interrupt pending on the thread."""

    kind: ClassVar[str] = EventKind.INTERRUPT
    interrupts: tuple[InterruptInfo, ...] = ()

    def data_to_wire(self) -> Any:
        return {"interrupts": [i.to_wire() for i in self.interrupts]}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        raw = data.raw("interrupts")
        if raw is None or isinstance(raw, Unset):
            raise data.fail(data.path("interrupts"), "required field is missing")
        return cls(**common, interrupts=_interrupts_from(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStartedEvent(BaseEvent):
    """First event of every run; a resume names the answers it delivers (``answers``: interrupt
    id → value), so every watcher can show what was answered, wherever it was answered."""

    kind: ClassVar[str] = EventKind.RUN_STARTED
    graph: str = ""
    run_kind: Literal["start", "resume"] = "start"
    checkpoint_id: str | None = None
    answers: dict[str, Any] | None = None

    def data_to_wire(self) -> Any:
        data: dict[str, Any] = {"graph": self.graph, "kind": self.run_kind, "checkpoint_id": self.checkpoint_id}
        if self.answers is not None:
            data["answers"] = dict(self.answers)
        return data

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        return cls(
            **common,
            graph=data.text("graph", required=True),
            run_kind=data.text("kind", choices=("start", "resume"), default="start"),
            checkpoint_id=data.text("checkpoint_id"),
            answers=data.mapping("answers"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInterruptedEvent(BaseEvent):
    """The run paused (terminal); ``interrupt_ids`` is empty for a static breakpoint."""

    kind: ClassVar[str] = EventKind.RUN_INTERRUPTED
    interrupt_ids: tuple[str, ...] = ()
    next: tuple[str, ...] = ()

    def data_to_wire(self) -> Any:
        return {"interrupt_ids": list(self.interrupt_ids), "next": list(self.next)}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        return cls(
            **common,
            interrupt_ids=data.texts("interrupt_ids", unique=False) or (),
            next=data.texts("next", unique=False) or (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDoneEvent(BaseEvent):
    """The run finished (terminal)."""

    kind: ClassVar[str] = EventKind.RUN_DONE
    checkpoint_id: str | None = None

    def data_to_wire(self) -> Any:
        return {"checkpoint_id": self.checkpoint_id}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        return cls(**common, checkpoint_id=data.text("checkpoint_id"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunErrorEvent(BaseEvent):
    """The run failed (terminal); ``code`` is an error code when a queued run could not start."""

    kind: ClassVar[str] = EventKind.RUN_ERROR
    error_type: str = "Exception"
    message: str = ""
    code: str | None = None

    def data_to_wire(self) -> Any:
        return {"error": {"type": self.error_type, "message": self.message}, "code": self.code}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        error = data.sub("error", required=True, strict=False)
        if error is None:  # unreachable: required=True raises first
            raise data.fail(data.path("error"), "required field is missing")
        return cls(
            **common,
            error_type=error.text("type", required=True),
            message=error.text("message", min_len=0, default=""),
            code=data.text("code"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelledEvent(BaseEvent):
    """The run was cancelled (terminal)."""

    kind: ClassVar[str] = EventKind.RUN_CANCELLED
    reason: str = "cancelled"

    def data_to_wire(self) -> Any:
        return {"reason": self.reason}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        return cls(**common, reason=data.text("reason", default="cancelled"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StateUpdatedEvent(BaseEvent):
    """``update_state`` wrote a checkpoint."""

    kind: ClassVar[str] = EventKind.STATE_UPDATED
    checkpoint_id: str = ""
    as_node: str | None = None

    def data_to_wire(self) -> Any:
        return {"checkpoint_id": self.checkpoint_id, "as_node": self.as_node}

    @classmethod
    def from_data(cls, common: dict[str, Any], data: Fields) -> BaseEvent:
        return cls(**common, checkpoint_id=data.text("checkpoint_id", required=True), as_node=data.text("as_node"))


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(BaseEvent):
    """An event kind this protocol version does not know; kept as is."""

    name: str = ""
    data: Any = None

    @property
    def event(self) -> str:
        return self.name

    def data_to_wire(self) -> Any:
        return self.data


ThreadEvent: TypeAlias = (
    ValuesEvent
    | UpdatesEvent
    | CustomEvent
    | MessagesEvent
    | DebugEvent
    | TasksEvent
    | CheckpointsEvent
    | EventsEvent
    | InterruptEvent
    | RunStartedEvent
    | RunInterruptedEvent
    | RunDoneEvent
    | RunErrorEvent
    | RunCancelledEvent
    | StateUpdatedEvent
    | UnknownEvent
)

EVENT_TYPES: dict[str, type[BaseEvent]] = {
    cls.kind: cls
    for cls in (
        ValuesEvent,
        UpdatesEvent,
        CustomEvent,
        MessagesEvent,
        DebugEvent,
        TasksEvent,
        CheckpointsEvent,
        EventsEvent,
        InterruptEvent,
        RunStartedEvent,
        RunInterruptedEvent,
        RunDoneEvent,
        RunErrorEvent,
        RunCancelledEvent,
        StateUpdatedEvent,
    )
}


def _common(fields: Fields) -> dict[str, Any]:
    return {
        "thread_id": fields.text("thread_id", required=True),
        "run_id": fields.text("run_id"),
        "seq": fields.integer("seq", required=True, minimum=1),
        "ns": fields.texts("ns", unique=False) or (),
    }


def event_from_wire(fields: Fields) -> BaseEvent:
    """Read the typed event of an ``event`` frame; raises ``ProtocolError`` naming the bad field."""
    name = fields.text("event", required=True)
    common = _common(fields)
    data = fields.raw("data")
    cls = EVENT_TYPES.get(name)
    if cls is None:
        return UnknownEvent(**common, name=name, data=None if isinstance(data, Unset) else data)
    if issubclass(cls, StreamEvent):
        return cls(**common, data=None if isinstance(data, Unset) else data)
    if not isinstance(data, Mapping):
        raise fields.fail(fields.path("data"), f"expected object for a {name} event")
    return cls.from_data(common, Fields(data, prefix=fields.path("data"), id=fields.id, strict=False))


def make_event(
    event: str,
    *,
    thread_id: str,
    run_id: str | None,
    seq: int,
    data: Any = None,
    ns: tuple[str, ...] | list[str] = (),
) -> BaseEvent:
    """Build a typed event from its wire pieces (server side: a stream part → an event)."""
    common: dict[str, Any] = {"thread_id": thread_id, "run_id": run_id, "seq": seq, "ns": tuple(ns)}
    cls = EVENT_TYPES.get(str(event))
    if cls is None:
        raise ValueError(f"unknown event kind {event!r}; expected one of {', '.join(EVENT_TYPES)}")
    if issubclass(cls, StreamEvent):
        return cls(**common, data=data)
    if not isinstance(data, Mapping):
        raise ValueError(f"a {event} event needs a mapping as data, got {type(data).__name__}")
    return cls.from_data(common, Fields(data, prefix="data", strict=False))
