"""The typed events a client yields: the protocol's thread events plus :class:`ResyncEvent`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from streamhil.protocol import (
    BaseEvent,
    CheckpointsEvent,
    CustomEvent,
    DebugEvent,
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
    UnknownEvent,
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
    "InterruptEvent",
    "RunStartedEvent",
    "RunInterruptedEvent",
    "RunDoneEvent",
    "RunErrorEvent",
    "RunCancelledEvent",
    "StateUpdatedEvent",
    "UnknownEvent",
    "ResyncEvent",
]


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
    status: str
    reason: str | None
    state: StateView | None
    interrupts: tuple[InterruptInfo, ...] = ()
