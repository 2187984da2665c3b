"""The ``result`` of a ``reply`` frame, one dataclass per command (spec section 5.1).

The server builds these and passes them to ``ServerSession.send_reply``; the client session
decodes each ``reply`` into the class registered for the command it answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ._fields import Fields
from .messages import MessageType
from .objects import THREAD_STATUSES, Counters, GraphInfo, InterruptInfo, StateView, ThreadInfo, ThreadStatus

__all__ = [
    "StartRunResult",
    "ResumeResult",
    "CancelResult",
    "SubscribeResult",
    "UnsubscribeResult",
    "GetStateResult",
    "GetHistoryResult",
    "UpdateStateResult",
    "ListThreadsResult",
    "ListGraphsResult",
    "PingResult",
    "WatchThreadsResult",
    "UnwatchThreadsResult",
    "Result",
    "RESULT_TYPES",
    "ResyncReason",
]

ResyncReason = Literal["epoch_changed", "cursor_too_old", "cursor_ahead"]


def _objects(fields: Fields, key: str, cls: Any) -> tuple[Any, ...]:
    base = fields.path(key)
    out = []
    for i, item in enumerate(fields.array(key, required=True)):
        if not isinstance(item, Mapping):
            raise fields.fail(f"{base}[{i}]", "expected object")
        out.append(cls.from_wire(Fields(item, prefix=f"{base}[{i}]", id=fields.id, strict=False)))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRunResult:
    """The run was accepted; every event of it has a ``seq`` above ``seq``."""

    run_id: str
    thread_id: str
    seq: int
    queued: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "thread_id": self.thread_id, "seq": self.seq, "queued": self.queued}

    @classmethod
    def from_wire(cls, fields: Fields) -> StartRunResult:
        return cls(
            run_id=fields.text("run_id", required=True),
            thread_id=fields.text("thread_id", required=True),
            seq=fields.integer("seq", required=True, minimum=0),
            queued=fields.boolean("queued", default=False),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeResult:
    """The answers were accepted (and stored); ``answered`` lists the interrupt ids."""

    run_id: str
    thread_id: str
    seq: int
    queued: bool = False
    answered: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "seq": self.seq,
            "queued": self.queued,
            "answered": list(self.answered),
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> ResumeResult:
        return cls(
            run_id=fields.text("run_id", required=True),
            thread_id=fields.text("thread_id", required=True),
            seq=fields.integer("seq", required=True, minimum=0),
            queued=fields.boolean("queued", default=False),
            answered=fields.texts("answered", unique=False) or (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResult:
    run_id: str
    thread_id: str

    def to_wire(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "thread_id": self.thread_id}

    @classmethod
    def from_wire(cls, fields: Fields) -> CancelResult:
        return cls(run_id=fields.text("run_id", required=True), thread_id=fields.text("thread_id", required=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeResult:
    """Subscribed. Without ``resync``, ``replayed`` events follow; with it, rebuild from ``state``."""

    thread_id: str
    epoch: str
    head_seq: int
    status: ThreadStatus
    replayed: int = 0
    resync: bool = False
    reason: ResyncReason | None = None
    state: StateView | None = None
    interrupts: tuple[InterruptInfo, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "thread_id": self.thread_id,
            "epoch": self.epoch,
            "head_seq": self.head_seq,
            "status": self.status,
            "replayed": self.replayed,
            "resync": self.resync,
        }
        if self.resync:
            data["reason"] = self.reason
            data["state"] = None if self.state is None else self.state.to_wire()
            data["interrupts"] = [i.to_wire() for i in self.interrupts]
        return data

    @classmethod
    def from_wire(cls, fields: Fields) -> SubscribeResult:
        resync = fields.boolean("resync", default=False)
        state = None
        interrupts: tuple[InterruptInfo, ...] = ()
        reason = None
        if resync:
            reason = fields.text("reason", choices=("epoch_changed", "cursor_too_old", "cursor_ahead"))
            sub = fields.sub("state", required=True, strict=False)
            state = None if sub is None else StateView.from_wire(sub)
            interrupts = _objects(fields, "interrupts", InterruptInfo) if fields.raw("interrupts") else ()
        return cls(
            thread_id=fields.text("thread_id", required=True),
            epoch=fields.text("epoch", required=True),
            head_seq=fields.integer("head_seq", required=True, minimum=0),
            status=fields.text("status", required=True, choices=THREAD_STATUSES),
            replayed=fields.integer("replayed", minimum=0, default=0),
            resync=resync,
            reason=reason,
            state=state,
            interrupts=interrupts,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeResult:
    thread_id: str

    def to_wire(self) -> dict[str, Any]:
        return {"thread_id": self.thread_id}

    @classmethod
    def from_wire(cls, fields: Fields) -> UnsubscribeResult:
        return cls(thread_id=fields.text("thread_id", required=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class GetStateResult:
    state: StateView

    def to_wire(self) -> dict[str, Any]:
        return {"state": self.state.to_wire()}

    @classmethod
    def from_wire(cls, fields: Fields) -> GetStateResult:
        sub = fields.sub("state", required=True, strict=False)
        if sub is None:  # unreachable: required=True raises first
            raise fields.fail("state", "required field is missing")
        return cls(state=StateView.from_wire(sub))


@dataclass(frozen=True, slots=True, kw_only=True)
class GetHistoryResult:
    """A page of checkpoints, newest first; ``next_before`` (when set) asks for the next page."""

    history: tuple[StateView, ...]
    next_before: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"history": [s.to_wire() for s in self.history], "next_before": self.next_before}

    @classmethod
    def from_wire(cls, fields: Fields) -> GetHistoryResult:
        return cls(history=_objects(fields, "history", StateView), next_before=fields.text("next_before", max_len=None))


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateStateResult:
    thread_id: str
    checkpoint_id: str
    seq: int

    def to_wire(self) -> dict[str, Any]:
        return {"thread_id": self.thread_id, "checkpoint_id": self.checkpoint_id, "seq": self.seq}

    @classmethod
    def from_wire(cls, fields: Fields) -> UpdateStateResult:
        return cls(
            thread_id=fields.text("thread_id", required=True),
            checkpoint_id=fields.text("checkpoint_id", required=True),
            seq=fields.integer("seq", required=True, minimum=0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ListThreadsResult:
    threads: tuple[ThreadInfo, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"threads": [t.to_wire() for t in self.threads]}

    @classmethod
    def from_wire(cls, fields: Fields) -> ListThreadsResult:
        return cls(threads=_objects(fields, "threads", ThreadInfo))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGraphsResult:
    graphs: tuple[GraphInfo, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"graphs": [g.to_wire() for g in self.graphs]}

    @classmethod
    def from_wire(cls, fields: Fields) -> ListGraphsResult:
        return cls(graphs=_objects(fields, "graphs", GraphInfo))


@dataclass(frozen=True, slots=True, kw_only=True)
class PingResult:
    payload: Any = None

    def to_wire(self) -> dict[str, Any]:
        return {"payload": self.payload}

    @classmethod
    def from_wire(cls, fields: Fields) -> PingResult:
        return cls(payload=fields.any("payload"))


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchThreadsResult:
    """The caller's threads (newest update first) and the counters, as of the reply; every
    change after it arrives as a ``notice``."""

    threads: tuple[ThreadInfo, ...]
    counters: Counters = Counters()

    def to_wire(self) -> dict[str, Any]:
        return {"threads": [t.to_wire() for t in self.threads], "counters": self.counters.to_wire()}

    @classmethod
    def from_wire(cls, fields: Fields) -> WatchThreadsResult:
        counters = fields.sub("counters", strict=False)
        return cls(
            threads=_objects(fields, "threads", ThreadInfo),
            counters=Counters() if counters is None else Counters.from_wire(counters),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnwatchThreadsResult:
    def to_wire(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_wire(cls, fields: Fields) -> UnwatchThreadsResult:
        return cls()


Result: TypeAlias = (
    StartRunResult
    | ResumeResult
    | CancelResult
    | SubscribeResult
    | UnsubscribeResult
    | GetStateResult
    | GetHistoryResult
    | UpdateStateResult
    | ListThreadsResult
    | ListGraphsResult
    | PingResult
    | WatchThreadsResult
    | UnwatchThreadsResult
)

RESULT_TYPES: dict[MessageType, type[Result]] = {
    MessageType.START_RUN: StartRunResult,
    MessageType.RESUME: ResumeResult,
    MessageType.CANCEL: CancelResult,
    MessageType.SUBSCRIBE: SubscribeResult,
    MessageType.UNSUBSCRIBE: UnsubscribeResult,
    MessageType.GET_STATE: GetStateResult,
    MessageType.GET_HISTORY: GetHistoryResult,
    MessageType.UPDATE_STATE: UpdateStateResult,
    MessageType.LIST_THREADS: ListThreadsResult,
    MessageType.LIST_GRAPHS: ListGraphsResult,
    MessageType.PING: PingResult,
    MessageType.WATCH_THREADS: WatchThreadsResult,
    MessageType.UNWATCH_THREADS: UnwatchThreadsResult,
}
