"""Notices (spec section 6.3): what ``watch_threads`` announces about the caller's threads.

A ``notice`` frame is not a thread event: it has no ``seq`` and is never replayed. It says that a
thread was created or changed status (with the whole Thread object, 4.3), or gives the server's
new counters. A client that reconnects sends ``watch_threads`` again and starts from its reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias

from ._fields import Fields
from .objects import Counters, ThreadInfo

__all__ = [
    "NoticeKind",
    "ThreadCreatedNotice",
    "ThreadStatusNotice",
    "CountersNotice",
    "UnknownNotice",
    "Notice",
    "notice_from_wire",
]


class NoticeKind(StrEnum):
    """The ``notice`` field of a ``notice`` frame."""

    THREAD_CREATED = "thread_created"
    THREAD_STATUS = "thread_status"
    COUNTERS = "counters"


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadCreatedNotice:
    """A thread of the caller's appeared (its first run was accepted)."""

    kind: ClassVar[NoticeKind] = NoticeKind.THREAD_CREATED
    thread: ThreadInfo

    def to_wire(self) -> dict[str, Any]:
        return {"type": "notice", "notice": self.kind.value, "thread": self.thread.to_wire()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadStatusNotice:
    """A thread's status, active run or pending interrupts changed."""

    kind: ClassVar[NoticeKind] = NoticeKind.THREAD_STATUS
    thread: ThreadInfo

    def to_wire(self) -> dict[str, Any]:
        return {"type": "notice", "notice": self.kind.value, "thread": self.thread.to_wire()}


@dataclass(frozen=True, slots=True, kw_only=True)
class CountersNotice:
    """The server's counters changed (sent at most about once a second)."""

    kind: ClassVar[NoticeKind] = NoticeKind.COUNTERS
    counters: Counters

    def to_wire(self) -> dict[str, Any]:
        return {"type": "notice", "notice": self.kind.value, "counters": self.counters.to_wire()}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownNotice:
    """A notice kind this protocol version does not know; kept as is."""

    name: str
    fields: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.name

    def to_wire(self) -> dict[str, Any]:
        return {"type": "notice", "notice": self.name, **self.fields}


Notice: TypeAlias = ThreadCreatedNotice | ThreadStatusNotice | CountersNotice | UnknownNotice


def notice_from_wire(fields: Fields) -> Notice:
    """Read the typed notice of a ``notice`` frame; raises ``ProtocolError`` naming the bad field."""
    name = fields.text("notice", required=True)
    if name in (NoticeKind.THREAD_CREATED, NoticeKind.THREAD_STATUS):
        sub = fields.sub("thread", required=True, strict=False)
        if sub is None:  # unreachable: required=True raises first
            raise fields.fail("thread", "required field is missing")
        thread = ThreadInfo.from_wire(sub)
        return ThreadCreatedNotice(thread=thread) if name == NoticeKind.THREAD_CREATED else ThreadStatusNotice(thread=thread)
    if name == NoticeKind.COUNTERS:
        sub = fields.sub("counters", required=True, strict=False)
        if sub is None:  # unreachable
            raise fields.fail("counters", "required field is missing")
        return CountersNotice(counters=Counters.from_wire(sub))
    rest = {k: v for k, v in fields.obj.items() if k not in ("type", "notice")}
    return UnknownNotice(name=name, fields=rest)
