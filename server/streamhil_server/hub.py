"""Per-thread event logs with a ``seq`` each, fanned out to watchers, replayable from any seq.

``publish()`` numbers an event (``seq`` grows by exactly 1 per thread), encodes it once and hands
it to the hub's writer task, which stores a batch of events in SQLite in one transaction and only
then delivers them, in order, to the thread's watchers. So every event a client ever saw is on
disk, and a log replayed after a restart has no gap and no duplicate.

A watcher is a :class:`Subscription` whose ``sink`` must never block (a connection puts the frame
in its bounded send queue and closes itself when that overflows): a slow watcher never slows the
run or the other watchers.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus

from .encoding import dumps_event
from .store import Store

__all__ = ["EventHub", "Subscription", "CursorError", "HubStatistics", "HubEvent"]

Sink = Callable[[str], None]
Listener = Callable[["HubEvent"], None]
Tap = Callable[[str, str], None]
_TERMINAL = frozenset({"run_interrupted", "run_done", "run_error", "run_cancelled"})


class CursorError(Exception):
    """A ``subscribe`` cursor the log cannot serve: ``reason`` is ``cursor_too_old`` or ``cursor_ahead``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Subscription:
    """One watcher of one thread: frames with ``seq >= next_seq`` go to ``sink`` in order.

    It starts *buffering*: live events are kept until :meth:`go_live` sends the ``backlog``
    (the replay) and then the buffer, so the caller can send its ``reply`` first.
    """

    __slots__ = ("thread_id", "sink", "next_seq", "backlog", "_buffer", "_hub", "closed", "_max_buffer", "_overflow")

    def __init__(self, hub: EventHub, thread_id: str, sink: Sink, next_seq: int) -> None:
        self._hub = hub
        self.thread_id = thread_id
        self.sink = sink
        self.next_seq = next_seq
        self.backlog: list[tuple[int, str]] = []
        self._buffer: list[tuple[int, str]] | None = []
        self.closed = False
        self._max_buffer: int | None = None
        self._overflow: Callable[[], None] | None = None

    def push(self, seq: int, frame: str) -> None:
        if self.closed or seq < self.next_seq:
            return
        if self._buffer is not None:
            self._buffer.append((seq, frame))
            if self._max_buffer is not None and len(self._buffer) > self._max_buffer and self._overflow is not None:
                self._overflow()
            return
        self.next_seq = seq + 1
        self.sink(frame)

    async def go_live(
        self, wait_room: Callable[[], Awaitable[None]], *, max_buffer: int, overflow: Callable[[], None]
    ) -> None:
        """Send the backlog (the replay), then what arrived meanwhile, then live events.

        Replayed frames are paced by ``wait_room`` (the connection waits for room in its send
        queue), so a long replay never overflows it; live events wait in the buffer, and if more
        than ``max_buffer`` pile up before the replay is done, ``overflow`` is called: the
        watcher cannot keep up.
        """
        self._max_buffer, self._overflow = max_buffer, overflow
        if self._buffer is not None and len(self._buffer) > max_buffer:
            overflow()
            return
        queue = deque(self.backlog)
        self.backlog = []
        while not self.closed:
            if not queue:
                if not self._buffer:
                    break
                queue.extend(self._buffer)
                self._buffer = []
            await wait_room()
            if self.closed:
                return
            seq, frame = queue.popleft()
            if seq >= self.next_seq:
                self.next_seq = seq + 1
                self.sink(frame)
        self._buffer = None

    def start_live(self) -> None:
        """Go live at once (nothing to replay: a subscription made with :meth:`EventHub.subscribe_live`
        and no await since)."""
        pending = self.backlog + (self._buffer or [])
        self.backlog, self._buffer = [], None
        for seq, frame in pending:
            self.push(seq, frame)

    def close(self) -> None:
        """Stop receiving events."""
        if not self.closed:
            self.closed = True
            self._hub._remove(self)


@dataclass(frozen=True, slots=True)
class HubEvent:
    """One published event as Python data, for in-process listeners (:meth:`EventHub.add_listener`).

    ``data`` is the payload as given to :meth:`EventHub.publish` (not copied: do not modify it).
    """

    thread_id: str
    seq: int
    event: str
    run_id: str | None
    ns: tuple[str, ...]
    data: Any


@dataclass(slots=True)
class _ThreadLog:
    thread_id: str
    assigned: int = 0
    delivered: int = 0
    first_seq: int = 1
    ring: deque[tuple[int, str]] = field(default_factory=deque)
    watchers: list[Subscription] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HubStatistics:
    """What the hub holds and how busy it is."""

    threads: int
    watchers: int
    events_total: int
    events_per_second: float
    unwritten: int


class EventHub:
    """The event logs of every thread; run :meth:`run` in a task group before publishing."""

    def __init__(
        self, store: Store, *, ring_size: int = 256, max_events_per_thread: int = 100_000, deliver_chunk: int = 256
    ) -> None:
        if ring_size < 1 or max_events_per_thread < 1 or deliver_chunk < 1:
            raise ValueError("ring_size, max_events_per_thread and deliver_chunk must be at least 1")
        self.deliver_chunk = deliver_chunk
        self.store = store
        self.ring_size = ring_size
        self.max_events_per_thread = max_events_per_thread
        self._logs: dict[str, _ThreadLog] = {}
        self._pending: list[tuple[_ThreadLog, int, str | None, str, bool]] = []
        self._wake = anyio.Event()
        self._published = 0
        self._written = 0
        self._written_event = anyio.Event()
        self._events_total = 0
        self._window: deque[tuple[int, int]] = deque()
        self._running = False
        self._started = False
        self.taps: list[Tap] = []
        """Called with ``(thread_id, event)`` as each event is published (must not block)."""
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(HubEvent)`` for every event, synchronously when it is published
        (before it is stored or sent). It must return quickly and never raise. Returns a
        function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    async def load(self) -> None:
        """Read the stored logs' bounds (at startup, before anything is published)."""
        for thread_id, (first, last) in (await self.store.event_heads()).items():
            log = self._log(thread_id)
            log.first_seq, log.assigned, log.delivered = first, last, last

    def _log(self, thread_id: str) -> _ThreadLog:
        log = self._logs.get(thread_id)
        if log is None:
            log = self._logs[thread_id] = _ThreadLog(thread_id)
        return log

    def head(self, thread_id: str) -> int:
        """The ``seq`` of the thread's latest event (0 if none)."""
        log = self._logs.get(thread_id)
        return 0 if log is None else log.assigned

    def watcher_count(self, thread_id: str) -> int:
        log = self._logs.get(thread_id)
        return 0 if log is None else len(log.watchers)

    # --- publishing ----------------------------------------------------------------------------

    def publish(self, thread_id: str, event: str, run_id: str | None, data: Any, ns: tuple[str, ...] = ()) -> int:
        """Append an event to the thread's log; returns its ``seq``. Never blocks."""
        if not self._started:
            raise RuntimeError("the event hub is not running: start EventHub.run in a task group first")
        # after the writer stopped (shutdown) events are numbered but never stored nor sent,
        # as after a crash; the run they belong to is recovered at the next start
        log = self._log(thread_id)
        log.assigned += 1
        seq = log.assigned
        frame = dumps_event(event, thread_id, run_id, seq, ns, data)
        self._pending.append((log, seq, run_id, frame, event in _TERMINAL))
        self._published += 1
        self._wake.set()
        for tap in self.taps:
            tap(thread_id, event)
        if self._listeners:
            hub_event = HubEvent(thread_id, seq, event, run_id, tuple(ns), data)
            for listener in list(self._listeners):
                listener(hub_event)
        return seq

    async def wait_written(self) -> None:
        """Wait until every event published so far is stored and delivered."""
        target = self._published
        while self._written < target:
            await self._written_event.wait()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer: store batches of events, then deliver them. Runs until cancelled."""
        self._running = self._started = True
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                batch, self._pending = self._pending, []
                if batch:
                    await self._write(batch)
        finally:
            self._running = False

    async def _write(self, batch: list[tuple[_ThreadLog, int, str | None, str, bool]]) -> None:
        await self.store.append_events([(log.thread_id, seq, run_id, frame) for log, seq, run_id, frame, _ in batch])
        trims: list[_ThreadLog] = []
        for n, (log, seq, _, frame, terminal) in enumerate(batch):
            if n and n % self.deliver_chunk == 0:
                await anyio.lowlevel.checkpoint()  # let the connections' writers drain their queues
            log.delivered = seq
            log.ring.append((seq, frame))
            if len(log.ring) > self.ring_size:
                log.ring.popleft()
            for watcher in list(log.watchers):
                watcher.push(seq, frame)
            if terminal and not log.watchers:
                log.ring.clear()  # nobody watches a thread at rest: later replays come from SQLite
            if seq - log.first_seq + 1 > self.max_events_per_thread * 1.1:
                trims.append(log)
        self._count(len(batch))
        for log in trims:
            keep_after = log.delivered - self.max_events_per_thread
            await self.store.trim_events(log.thread_id, keep_after)
            log.first_seq = keep_after + 1
        self._written += len(batch)
        event, self._written_event = self._written_event, anyio.Event()
        event.set()

    def _count(self, n: int) -> None:
        self._events_total += n
        second = int(time.monotonic())
        if self._window and self._window[-1][0] == second:
            self._window[-1] = (second, self._window[-1][1] + n)
        else:
            self._window.append((second, n))
        while self._window and self._window[0][0] < second - 10:
            self._window.popleft()

    # --- watching ------------------------------------------------------------------------------

    async def subscribe(self, thread_id: str, sink: Sink, after: int | None) -> tuple[Subscription, int]:
        """Watch a thread from ``after`` (None: live only). Returns the subscription, still
        buffering, and the number of replayed events; the caller sends its reply and then calls
        ``go_live()``. Raises :class:`CursorError` when ``after`` cannot be served."""
        log = self._log(thread_id)
        if after is None:
            sub = Subscription(self, thread_id, sink, log.assigned + 1)
            log.watchers.append(sub)
            return sub, 0
        if after > log.assigned:
            raise CursorError("cursor_ahead", f"after={after} is beyond the thread's head_seq {log.assigned}")
        if after < log.first_seq - 1:
            raise CursorError(
                "cursor_too_old", f"events after seq {after} were discarded; the oldest kept is {log.first_seq}"
            )
        sub = Subscription(self, thread_id, sink, after + 1)
        log.watchers.append(sub)
        replayed = log.assigned - after
        upto = log.delivered
        if after < upto:
            if log.ring and log.ring[0][0] <= after + 1:
                sub.backlog = [(s, f) for s, f in log.ring if after < s <= upto]
            else:
                try:
                    sub.backlog = await self.store.read_events(thread_id, after, upto)
                except BaseException:
                    sub.close()
                    raise
                if len(sub.backlog) != upto - after:
                    sub.close()
                    raise CursorError("cursor_too_old", f"events after seq {after} were discarded")
        return sub, replayed

    def subscribe_live(self, thread_id: str, sink: Sink, next_seq: int) -> Subscription:
        """Watch a thread from ``next_seq`` on, with no replay (still buffering until ``go_live``)."""
        sub = Subscription(self, thread_id, sink, next_seq)
        self._log(thread_id).watchers.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        log = self._logs.get(sub.thread_id)
        if log is not None and sub in log.watchers:
            log.watchers.remove(sub)

    def statistics(self) -> HubStatistics:
        now = int(time.monotonic())
        recent = [(s, n) for s, n in self._window if s >= now - 10]
        span = max(1, now - recent[0][0] + 1) if recent else 1
        rate = sum(n for _, n in recent) / span if recent else 0.0
        return HubStatistics(
            threads=len(self._logs),
            watchers=sum(len(log.watchers) for log in self._logs.values()),
            events_total=self._events_total,
            events_per_second=round(rate, 2) if math.isfinite(rate) else 0.0,
            unwritten=len(self._pending),
        )
