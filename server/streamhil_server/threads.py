"""The server's view of a thread and of the runs it accepted, and the cache of live threads."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from streamhil.protocol.objects import ThreadStatus

from .storage.records import ThreadRecord

__all__ = ["RunRequest", "ActiveRun", "ThreadRuntime", "ThreadCache", "Accepted", "RunStatistics"]


@dataclass(slots=True)
class RunRequest:
    """A run the server accepted: what to feed the graph and what to stream."""

    run_id: str
    thread_id: str
    kind: str  # "start" or "resume"
    input: Any = None
    resume: dict[str, Any] | None = None
    update: Any = None
    goto: Any = None
    recorded: bool = True
    claimed: bool = False  # a queued answer whose interrupt ids were claimed when it was acknowledged
    claimed_interrupts: list[dict[str, Any]] = field(default_factory=list)  # their wire dicts (in memory)
    stream_modes: tuple[str, ...] = ("values", "updates")
    subgraphs: bool = True
    config: dict[str, Any] | None = None
    interrupt_before: Any = None
    interrupt_after: Any = None
    checkpoint_id: str | None = None
    metadata: dict[str, Any] | None = None
    context: Any = None  # the run's context (nodes' runtime.context)
    check_pending: bool = False
    continuation: bool = False  # continues a run a crash (or a lost process) cut short
    continues: str | None = None  # that cut run's id
    retry_of: str | None = None  # the first run of the chain (a restart may cut a continuation too)
    cancelled: bool = False  # cancelled while queued: ends with run_cancelled when its turn comes
    cancel_reason: str = "cancelled"  # its run_cancelled reason ("superseded": a later run took its place)
    superseding: bool = False  # queued by if_busy "interrupt": a later such run takes its place
    origin: str = ""  # whose share of the run limits it counts against (identity, or connection)
    ended: bool = False  # its terminal event is out (or its thread was lost): its share is given back

    def params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "input": self.input,
            "resume": self.resume,
            "update": self.update,
            "goto": self.goto,
            "recorded": self.recorded,
            "claimed": self.claimed,
            "stream_modes": list(self.stream_modes),
            "subgraphs": self.subgraphs,
            "config": self.config,
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "checkpoint_id": self.checkpoint_id,
            "metadata": self.metadata,
            "context": self.context,
            "check_pending": self.check_pending,
            "continuation": self.continuation,
            "continues": self.continues,
            "retry_of": self.retry_of,
            "cancelled": self.cancelled,
            "cancel_reason": self.cancel_reason,
            "superseding": self.superseding,
            "origin": self.origin,
        }

    @classmethod
    def from_params(cls, run_id: str, thread_id: str, params: Mapping[str, Any]) -> RunRequest:
        return cls(
            run_id=run_id,
            thread_id=thread_id,
            kind=params.get("kind", "resume"),
            input=params.get("input"),
            resume=params.get("resume"),
            update=params.get("update"),
            goto=params.get("goto"),
            recorded=bool(params.get("recorded", True)),
            claimed=bool(params.get("claimed", False)),
            stream_modes=_stream_modes(params.get("stream_modes")),
            subgraphs=bool(params.get("subgraphs", True)),
            config=params.get("config"),
            interrupt_before=params.get("interrupt_before"),
            interrupt_after=params.get("interrupt_after"),
            checkpoint_id=params.get("checkpoint_id"),
            metadata=params.get("metadata"),
            context=params.get("context"),
            check_pending=bool(params.get("check_pending", False)),
            continuation=bool(params.get("continuation", False)),
            continues=params.get("continues"),
            retry_of=params.get("retry_of"),
            cancelled=bool(params.get("cancelled", False)),
            cancel_reason=str(params.get("cancel_reason") or "cancelled"),
            superseding=bool(params.get("superseding", False)),
            origin=str(params.get("origin") or ""),
        )


@dataclass(slots=True)
class ActiveRun:
    request: RunRequest
    scope: anyio.CancelScope | None = None
    cancel_reason: str = "cancelled"
    cancel_requested: bool = False
    over: anyio.Event = field(default_factory=anyio.Event)
    """Set once the thread is no longer running it (its end stored and adopted, or given up)."""


@dataclass(slots=True)
class ThreadRuntime:
    """A thread as the server knows it: its record, its lock, its active and queued runs."""

    record: ThreadRecord
    lock: anyio.Lock = field(default_factory=lambda: anyio.Lock(fast_acquire=True))  # held briefly: no yield when free
    active: ActiveRun | None = None
    queue: deque[RunRequest] = field(default_factory=deque)
    answered: set[str] = field(default_factory=set)
    worker: bool = False
    stored: bool = True  # False for a new thread until its first write commits
    users: int = 0  # commands holding this object (it must stay the one in the cache meanwhile)

    @property
    def thread_id(self) -> str:
        return self.record.thread_id

    @property
    def busy(self) -> bool:
        return self.active is not None or bool(self.queue)

    @property
    def status(self) -> ThreadStatus:
        return "running" if self.busy or self.record.open_run else self.record.status

    @property
    def run_id(self) -> str | None:
        if self.active is not None:
            return self.active.request.run_id
        return self.queue[0].run_id if self.queue else self.record.open_run

    @property
    def pending_ids(self) -> list[str]:
        return [i["id"] for i in self.record.interrupts]

    @property
    def at_rest(self) -> bool:
        """No run, no queued run, no worker and nobody deciding about it: it may leave memory."""
        return not self.busy and not self.worker and not self.users and not self.lock.locked()


class ThreadCache:
    """The threads held in memory: every busy one, and the ``max_idle`` most recently used idle
    ones. Others are loaded from the storage when a command names them.

    Threads that cannot leave when their turn comes (a run, a command using them, a connection
    watching their events) are moved *aside*, out of the least-recently-used order, so that
    letting threads go never walks past them again: each :meth:`shrink` looks at a bounded
    number of threads (those it lets go, plus :data:`RECHECKED` of those aside, oldest first,
    which go back to the order once at rest), however many are pinned. A pinned thread named
    again (:meth:`get`, :meth:`add`) returns to the order as the most recently used.
    """

    RECHECKED = 4
    """Threads aside looked at again per :meth:`shrink`."""

    def __init__(self, max_idle: int, release: Callable[[str], bool]) -> None:
        self.max_idle = max_idle
        self._release = release  # forget the thread's other in-memory parts; False if they are in use
        self._threads: OrderedDict[str, ThreadRuntime] = OrderedDict()  # least recently used first
        self._aside: OrderedDict[str, ThreadRuntime] = OrderedDict()  # could not leave when met

    def __len__(self) -> int:
        return len(self._threads) + len(self._aside)

    def __iter__(self) -> Iterator[ThreadRuntime]:
        return iter(self.values())

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._threads or thread_id in self._aside

    def values(self) -> list[ThreadRuntime]:
        """The threads in memory (not every stored thread: see :meth:`RunManager.load_thread`)."""
        return [*self._aside.values(), *self._threads.values()]

    def peek(self, thread_id: str) -> ThreadRuntime | None:
        """The thread if held, without counting it as used (for per-event bookkeeping)."""
        thread = self._threads.get(thread_id)
        return thread if thread is not None else self._aside.get(thread_id)

    def get(self, thread_id: str) -> ThreadRuntime | None:
        thread = self._threads.get(thread_id)
        if thread is not None:
            self._threads.move_to_end(thread_id)
            return thread
        thread = self._aside.pop(thread_id, None)
        if thread is not None:
            self._threads[thread_id] = thread
        return thread

    def add(self, thread: ThreadRuntime) -> ThreadRuntime:
        """Hold ``thread`` (or return the one already held under its id)."""
        held = self.get(thread.thread_id)
        if held is None:
            held = self._threads[thread.thread_id] = thread
        self.shrink(keep=thread.thread_id)
        return held

    def discard(self, thread_id: str) -> ThreadRuntime | None:
        """Stop holding the thread (what this process knew of it is stale); returns it."""
        thread = self._threads.pop(thread_id, None)
        return thread if thread is not None else self._aside.pop(thread_id, None)

    def shrink(self, keep: str | None = None) -> None:
        """Let the least recently used threads at rest go (never ``keep``), down to
        ``max_idle`` threads in the order; those that cannot go now are moved aside."""
        for _ in range(min(self.RECHECKED, len(self._aside))):  # back in the order once at rest
            thread_id, thread = self._aside.popitem(last=False)
            if thread.at_rest:
                self._threads[thread_id] = thread
                self._threads.move_to_end(thread_id, last=False)  # the least recently used
            else:
                self._aside[thread_id] = thread
        while len(self._threads) > self.max_idle:
            thread_id, thread = next(iter(self._threads.items()))
            if thread_id == keep:  # the most recently used: every other one was looked at
                break
            del self._threads[thread_id]
            if not (thread.at_rest and self._release(thread_id)):
                self._aside[thread_id] = thread


@dataclass(frozen=True, slots=True)
class Accepted:
    """A run was accepted: its id, the thread's head ``seq`` then, and whether it waits in a queue."""

    run_id: str
    thread_id: str
    seq: int
    queued: bool
    answered: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunStatistics:
    """Counts for the metrics endpoint and the dashboard."""

    threads: int
    active_runs: int
    queued_runs: int
    runs_started: int
    runs_finished: int
    interrupts_pending: int


def _stream_modes(stored: Any) -> tuple[str, ...]:
    """A stored run's modes: ``[]`` stays no modes (lifecycle and interrupt events only); absent
    (a run stored before the field) is the default."""
    return ("values", "updates") if stored is None else tuple(stored)
