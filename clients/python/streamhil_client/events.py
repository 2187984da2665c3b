"""The typed events a client yields: the protocol's thread events plus :class:`ResyncEvent`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from streamhil.protocol import (
    BaseEvent,
    CheckpointsEvent,
    Counters,
    CountersNotice,
    CustomEvent,
    DebugEvent,
    EventsEvent,
    InterruptEvent,
    InterruptInfo,
    MessagesEvent,
    RunCancelledEvent,
    RunDoneEvent,
    RunErrorEvent,
    RunInterruptedEvent,
    RunStartedEvent,
    StateUpdatedEvent,
    StateView,
    StreamEvent,
    TasksEvent,
    ThreadCreatedNotice,
    ThreadInfo,
    ThreadStatus,
    ThreadStatusNotice,
    UnknownEvent,
    UnknownNotice,
    UpdatesEvent,
    ValuesEvent,
)

__all__ = [
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
    "ResyncEvent",
    "ThreadCreatedNotice",
    "ThreadStatusNotice",
    "CountersNotice",
    "UnknownNotice",
    "ThreadsSnapshot",
    "NOTICE_TYPES",
]

NOTICE_TYPES = (ThreadCreatedNotice, ThreadStatusNotice, CountersNotice, UnknownNotice)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadsSnapshot:
    """What ``watch_threads`` answered again after a reconnect: start over from these threads
    (notices sent while the client was away are lost; this is the state after them)."""

    threads: tuple[ThreadInfo, ...]
    counters: Counters
    reconnected: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncEvent:
    """Events were missed and cannot be replayed (old cursor, or a new server epoch).

    Drop what was built from earlier events and start again from ``state``; the events that
    follow continue from ``head_seq``.
    """

    event: ClassVar[str] = "resync"
    thread_id: str
    epoch: str
    head_seq: int
    status: ThreadStatus
    reason: str | None
    state: StateView | None
    interrupts: tuple[InterruptInfo, ...] = ()
