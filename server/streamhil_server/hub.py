"""Per-thread event logs with a ``seq`` each, fanned out to watchers, replayable from any seq.

``publish()`` numbers an event (``seq`` grows by exactly 1 per thread) and encodes it once. The
event then waits in its thread's journal for the thread's next durable write: the superstep's
checkpoint (see :class:`~.storage.saver.StorageSaver`), an answer, or the run's end take it
into their transaction, so a step's events and its checkpoint are stored together. Events no
write took within ``flush_delay`` (a long step streaming tokens, events between runs) are
stored by the hub's own task. Events are delivered to watchers only once committed, in order:
every event a client ever saw is stored, and a log replayed after a restart has no gap and no
duplicate.

A watcher is a :class:`Subscription` whose ``sink`` must never block (a connection puts the frame
in its bounded send queue and closes itself when that overflows): a slow watcher never slows the
run or the other watchers.

On a database that several processes share, another process may store events of a thread this
one has loaded. The storage's :meth:`~.storage.base.Storage.follow` says so
(:meth:`EventHub.note_remote`); the hub then reads the new events from the table, which is the
truth, and delivers them as its own, in ``seq`` order, to its watchers. A thread with events of
this process not yet delivered is left alone: this process is writing it.
"""

from __future__ import annotations

import logging
import math
from functools import partial
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import orjson
from anyio.abc import TaskStatus

from streamhil.protocol import TERMINAL_EVENT_KINDS

from .encoding import dumps_event
from .hub_subscription import CursorError, Sink, Subscription
from .storage.base import LeaseLostError, Storage, StorageUnavailableError
from .storage.records import EventRow, Write

__all__ = ["EventHub", "Subscription", "CursorError", "HubStatistics", "HubEvent", "LogNotLoadedError"]

logger = logging.getLogger("streamhil_server.hub")

Listener = Callable[["HubEvent"], None]
Tap = Callable[[str, str], None]
_TERMINAL = TERMINAL_EVENT_KINDS


_FIRST_PAUSE, _LAST_PAUSE = 0.1, 2.0
"""Seconds before the hub tries again to store events a write failed to store; doubling while
the storage is unavailable (and cut short when it is back)."""


class LogNotLoadedError(RuntimeError):
    """An event was published on a thread whose log was not loaded (``await hub.ensure(id)``)."""


_Entry = tuple[int, "str | None", str, bool, float, str]  # seq, run_id, frame, terminal, published at, event


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


@dataclass(slots=True, eq=False)
class _ThreadLog:
    thread_id: str
    assigned: int = 0  # the last seq given out
    delivered: int = 0  # the last seq stored and delivered
    first_seq: int = 1
    ring: deque[tuple[int, str]] = field(default_factory=deque)
    watchers: list[Subscription] = field(default_factory=list)
    unwritten: list[_Entry] = field(default_factory=list)
    staged: Write | None = None  # records stored with the thread's next write of any kind
    staged_for_checkpoint: Write | None = None  # records stored only with its next checkpoint write
    committed: dict[int, _Entry] = field(default_factory=dict)  # stored, waiting to be delivered in order

    @property
    def at_rest(self) -> bool:
        return (
            not self.watchers and not self.unwritten and not self.committed and self.delivered == self.assigned
            and self.staged is None and self.staged_for_checkpoint is None
        )


@dataclass(frozen=True, slots=True)
class HubStatistics:
    """What the hub holds and how busy it is."""

    threads: int
    watchers: int
    events_total: int
    events_per_second: float
    unwritten: int


class EventHub:
    """The event logs of live threads; run :meth:`run` in a task group before publishing.

    A thread's log must be loaded (:meth:`ensure`, or :meth:`create` for a new thread) before
    events are published on it or it is watched; :meth:`forget` drops a log at rest.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        ring_size: int = 256,
        max_events_per_thread: int = 100_000,
        deliver_chunk: int = 256,
        flush_delay: float = 0.0,
    ) -> None:
        if ring_size < 1 or max_events_per_thread < 1 or deliver_chunk < 1:
            raise ValueError("ring_size, max_events_per_thread and deliver_chunk must be at least 1")
        if flush_delay < 0:
            raise ValueError("flush_delay must be >= 0")
        self.deliver_chunk = deliver_chunk
        self.storage = storage
        self.ring_size = ring_size
        self.max_events_per_thread = max_events_per_thread
        self.flush_delay = flush_delay
        self._logs: dict[str, _ThreadLog] = {}
        self._dirty: dict[str, _ThreadLog] = {}  # logs with unwritten events
        self._ready: deque[_ThreadLog] = deque()  # logs with committed events to deliver
        self._trims: set[str] = set()
        self._wake = anyio.Event()
        self._published = 0
        self._written = 0
        self._written_event = anyio.Event()
        self._events_total = 0
        self._window: deque[tuple[int, int]] = deque()
        self._started = False
        self._behind: set[str] = set()  # loaded threads another process may have written
        self._following = False  # set once the storage reports other processes' events
        self.taps: list[Tap] = []
        """Called with ``(thread_id, event)`` as each event is delivered, once stored (must not block)."""
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(HubEvent)`` for every event, synchronously when it is published
        (before it is stored or sent: unlike ``taps``, which hear an event once it is stored).
        It must return quickly and never raise. Returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # --- logs ----------------------------------------------------------------------------------

    async def ensure(self, thread_id: str) -> None:
        """Load the thread's log bounds from the storage if they are not in memory."""
        if thread_id in self._logs:
            return
        bounds = await self.storage.event_bounds(thread_id)
        if thread_id in self._logs:  # loaded meanwhile
            return
        log = self._logs[thread_id] = _ThreadLog(thread_id)
        if bounds is not None:
            log.first_seq, log.assigned = bounds
            log.delivered = log.assigned
        if self._following:  # a wake-up sent while the bounds were read found no log to update
            self._behind.add(thread_id)
            self._wake.set()

    def note_remote(self, thread_id: str | None, seq: int) -> None:
        """Another process stored events of ``thread_id`` up to ``seq`` (``None``: of any thread,
        as far as this process knows). Never blocks; the hub's task reads them."""
        self._following = True
        if thread_id is None:
            self._behind.update(tid for tid, log in self._logs.items() if log.watchers)
        else:
            log = self._logs.get(thread_id)
            if log is None or seq <= log.assigned:
                return
            self._behind.add(thread_id)
        if self._behind:
            self._wake.set()

    async def _catch_up(self) -> None:
        """Read and deliver what other processes stored of the threads in ``_behind`` (those
        the storage could not read now are read again once it is back)."""
        behind, self._behind = self._behind, set()
        missed = {thread_id for thread_id in behind if not await self._read_remote(thread_id)}
        await self._deliver()
        if missed:
            self._behind |= missed
            await self.storage.health.pause(1.0)

    async def _read_remote(self, thread_id: str) -> bool:
        """Take the thread's events stored after its head by another process as committed (the
        next :meth:`_deliver` hands them out). A failed read is left to the next wake-up; False
        if the storage was unavailable (read it again once it is back)."""
        log = self._logs.get(thread_id)
        if log is None or log.unwritten or log.committed or log.delivered != log.assigned:
            return True  # this process is writing the thread: its events are the log
        try:
            rows = await self.storage.read_events(thread_id, log.assigned, 2**62)
        except StorageUnavailableError:
            return False
        except Exception:
            logger.exception("reading events of thread %r stored by another process failed", thread_id)
            return True
        if self._logs.get(thread_id) is not log or log.unwritten or log.committed or log.delivered != log.assigned:
            return True  # this process started writing it meanwhile
        entries: list[_Entry] = []
        now = time.monotonic()
        for seq, frame in rows:
            if seq != log.assigned + 1:
                break
            log.assigned = seq
            parsed = orjson.loads(frame)
            event = str(parsed.get("event", ""))
            entries.append((seq, parsed.get("run_id"), frame, event in _TERMINAL, now, event))
        if entries:
            self._published += len(entries)  # delivered as this hub's own (wait_written counts them)
            self._committed(log, entries)
        return True

    async def resync(self, thread_id: str) -> None:
        """This process just took the thread's lease from another: catch its log up with the
        table (its seq counter continues from the stored head; watchers get what they missed)."""
        if thread_id not in self._logs:
            await self.ensure(thread_id)
            return
        await self._read_remote(thread_id)
        await self._deliver()

    def abandon(self, thread_id: str) -> None:
        """This process lost the thread's lease: drop what it had not stored of it (never
        delivered to anyone) and follow the table again, watchers kept."""
        log = self._logs.get(thread_id)
        if log is None:
            return
        self._dirty.pop(thread_id, None)
        lost = LeaseLostError([thread_id])
        for staged in (log.staged, log.staged_for_checkpoint):  # never stored: say so to who staged it
            for failed in staged.after_failure if staged is not None else ():
                failed(lost)
        fresh = self._logs[thread_id] = _ThreadLog(
            thread_id, assigned=log.delivered, delivered=log.delivered, first_seq=log.first_seq,
            ring=log.ring, watchers=log.watchers,
        )
        log.watchers = []
        if fresh.watchers:
            self._behind.add(thread_id)
            self._wake.set()

    def create(self, thread_id: str) -> None:
        """Start the log of a thread that has no stored events (a new thread)."""
        self._logs.setdefault(thread_id, _ThreadLog(thread_id))

    def loaded(self, thread_id: str) -> bool:
        return thread_id in self._logs

    def forget(self, thread_id: str) -> bool:
        """Drop the thread's log from memory if nobody watches it and all of it is delivered."""
        log = self._logs.get(thread_id)
        if log is None:
            return True
        if not log.at_rest:
            return False
        del self._logs[thread_id]
        return True

    def head(self, thread_id: str) -> int:
        """The ``seq`` of the thread's latest event (0 if none or not loaded)."""
        log = self._logs.get(thread_id)
        return 0 if log is None else log.assigned

    def watcher_count(self, thread_id: str) -> int:
        log = self._logs.get(thread_id)
        return 0 if log is None else len(log.watchers)

    # --- publishing ----------------------------------------------------------------------------

    def publish(self, thread_id: str, event: str, run_id: str | None, data: Any, ns: tuple[str, ...] = ()) -> int:
        """Append an event to the thread's journal; returns its ``seq``. Never blocks."""
        if not self._started:
            raise RuntimeError("the event hub is not running: start EventHub.run in a task group first")
        log = self._logs.get(thread_id)
        if log is None:
            raise LogNotLoadedError(f"the event log of thread {thread_id!r} is not loaded: await hub.ensure() first")
        log.assigned += 1
        seq = log.assigned
        frame = dumps_event(event, thread_id, run_id, seq, ns, data)
        log.unwritten.append((seq, run_id, frame, event in _TERMINAL, time.monotonic(), event))
        # With a flush delay the hub only needs waking when the first event starts waiting:
        # later ones are due no earlier than the timer it set then.
        if self.flush_delay <= 0 or not self._dirty:
            self._wake.set()
        self._dirty[thread_id] = log
        self._published += 1
        if self._listeners:
            hub_event = HubEvent(thread_id, seq, event, run_id, tuple(ns), data)
            for listener in list(self._listeners):
                listener(hub_event)
        return seq

    def stage(self, thread_id: str, write: Write, *, with_checkpoint: bool = False) -> None:
        """Store ``write``'s records with the thread's next write: any write (a run's status
        change goes with the events it explains), or, ``with_checkpoint``, only its next
        checkpoint write (an answer goes with its command writes)."""
        log = self._logs.get(thread_id)
        if log is None:
            raise LogNotLoadedError(f"the event log of thread {thread_id!r} is not loaded: await hub.ensure() first")
        if with_checkpoint:
            if log.staged_for_checkpoint is None:
                log.staged_for_checkpoint = Write(thread_id=thread_id)
            log.staged_for_checkpoint.merge(write)
        else:
            if log.staged is None:
                log.staged = Write(thread_id=thread_id)
            log.staged.merge(write)

    def stage_for_next(self, thread_id: str, write: Write) -> bool:
        """:meth:`stage` ``write`` with the thread's next write if its log is loaded here;
        whether it was."""
        if thread_id not in self._logs:
            return False
        self.stage(thread_id, write)
        return True

    def unstage(self, thread_id: str) -> Write | None:
        """Take back what was staged to go with the next checkpoint write (it was not made)."""
        log = self._logs.get(thread_id)
        if log is None:
            return None
        staged, log.staged_for_checkpoint = log.staged_for_checkpoint, None
        return staged

    def take(self, thread_id: str, *, checkpoint: bool = True) -> Write:
        """What the thread must store with its next write: its unwritten events (delivered once
        the write commits) and its staged records. The caller adds its own parts and commits it."""
        write = Write(thread_id=thread_id)
        log = self._logs.get(thread_id)
        if log is None:
            return write
        if log.staged is not None:
            write.merge(log.staged)
            log.staged = None
        if checkpoint and log.staged_for_checkpoint is not None:
            write.merge(log.staged_for_checkpoint)
            log.staged_for_checkpoint = None
        if log.unwritten:
            entries, log.unwritten = log.unwritten, []
            self._dirty.pop(thread_id, None)
            self._attach(write, log, entries)
        return write

    def _attach(self, write: Write, log: _ThreadLog, entries: list[_Entry]) -> None:
        write.events.extend(EventRow(log.thread_id, e[0], e[1], e[2]) for e in entries)
        write.after_commit.append(lambda: self._committed(log, entries))
        write.after_failure.append(lambda exc: self._unwritten_again(log, entries))

    def _committed(self, log: _ThreadLog, entries: list[_Entry]) -> None:
        for entry in entries:
            log.committed[entry[0]] = entry
        self._ready.append(log)
        self._wake.set()

    def _unwritten_again(self, log: _ThreadLog, entries: list[_Entry]) -> None:
        """A write that held these events failed: the next write of the thread takes them."""
        if self._logs.get(log.thread_id) is not log:
            return  # abandoned (the lease was lost): they were never delivered, nor will be
        log.unwritten[:0] = entries
        self._dirty[log.thread_id] = log
        self._wake.set()

    async def wait_written(self) -> None:
        """Wait until every event published so far is stored and delivered."""
        target = self._published
        while self._written < target:
            await self._written_event.wait()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Store events no write took in time, and deliver stored events. Runs until cancelled."""
        self._started = True
        task_status.started()
        pause = _FIRST_PAUSE
        while True:
            timeout = self._next_due()
            if timeout == math.inf:  # nothing due: no timer (nor its cancel scope) needed
                await self._wake.wait()
            elif timeout > 0:
                with anyio.move_on_after(timeout):
                    await self._wake.wait()
            else:
                await anyio.lowlevel.checkpoint()  # due now: let the others run first all the same
            self._wake = anyio.Event()
            await self._deliver()
            if self._behind:
                await self._catch_up()
            due = self._take_due()
            if due is not None:
                try:
                    await self.storage.write(due)
                except StorageUnavailableError:  # (the storage's own warning says so)
                    await self.storage.health.pause(pause)  # woken early when the storage is back
                    pause = min(_LAST_PAUSE, pause * 2)
                except Exception:  # the events go back to their journals; retried with the next write
                    logger.exception("storing %d events failed; retrying", len(due.events))
                    await anyio.sleep(_FIRST_PAUSE)
                else:
                    pause = _FIRST_PAUSE
                await self._deliver()

    def _next_due(self) -> float:
        """Seconds until the oldest unwritten event must be stored by the hub itself."""
        if self._behind:
            return 0.0
        if not self._dirty or self.flush_delay <= 0:
            return 0.0 if self._dirty or self._trims else math.inf
        oldest = min(log.unwritten[0][4] for log in self._dirty.values())
        return max(0.0, oldest + self.flush_delay - time.monotonic())

    def _take_due(self) -> Write | None:
        write = Write()
        now = time.monotonic()
        for thread_id, log in list(self._dirty.items()):
            cut = len(log.unwritten)
            if self.flush_delay > 0:
                cut = next((n for n, e in enumerate(log.unwritten) if e[4] + self.flush_delay > now), cut)
            if cut == 0:
                continue
            entries, log.unwritten = log.unwritten[:cut], log.unwritten[cut:]
            if not log.unwritten:
                del self._dirty[thread_id]
            if log.staged is not None:  # a run's status change goes with its first stored events
                write.merge(log.staged)
                log.staged = None
            self._attach(write, log, entries)
        for thread_id in self._trims:
            trimmed = self._logs.get(thread_id)
            if trimmed is not None:
                keep_after = trimmed.delivered - self.max_events_per_thread
                write.trim_events.append((thread_id, keep_after))
                write.after_commit.append(partial(_raise_first_seq, trimmed, keep_after + 1))
        self._trims.clear()
        return None if write.empty else write

    async def _deliver(self) -> None:
        """Hand committed events to watchers, in seq order per thread."""
        delivered = 0
        while self._ready:
            log = self._ready.popleft()
            while log.delivered + 1 in log.committed:
                seq, _, frame, terminal, _, event = log.committed.pop(log.delivered + 1)
                log.delivered = seq
                log.ring.append((seq, frame))
                if len(log.ring) > self.ring_size:
                    log.ring.popleft()
                for watcher in list(log.watchers):
                    watcher.push(seq, frame)
                for tap in self.taps:
                    tap(log.thread_id, event)
                if terminal and not log.watchers:
                    log.ring.clear()  # nobody watches a thread at rest: later replays come from storage
                if seq - log.first_seq + 1 > self.max_events_per_thread * 1.1:
                    self._trims.add(log.thread_id)
                delivered += 1
                if delivered % self.deliver_chunk == 0:
                    await anyio.lowlevel.checkpoint()  # let the connections' writers drain their queues
        if delivered:
            self._count(delivered)
            self._written += delivered
            written, self._written_event = self._written_event, anyio.Event()
            written.set()

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
        await self.ensure(thread_id)
        log = self._logs[thread_id]
        if self._following and after is not None and after > log.assigned:
            await self._read_remote(thread_id)  # a cursor from another process may be ahead of us
            await self._deliver()
            await self.ensure(thread_id)
            log = self._logs[thread_id]
        if after is None:  # live: every event not delivered yet
            sub = Subscription(self, thread_id, sink, log.delivered + 1)
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
                    sub.backlog = await self.storage.read_events(thread_id, after, upto)
                except BaseException:
                    sub.close()
                    raise
                if len(sub.backlog) != upto - after:
                    sub.close()
                    raise CursorError("cursor_too_old", f"events after seq {after} were discarded")
        return sub, replayed

    def subscribe_live(self, thread_id: str, sink: Sink, next_seq: int) -> Subscription:
        """Watch a loaded thread from ``next_seq`` on, with no replay from storage (buffering
        until ``go_live``); events from ``next_seq`` already delivered come from the ring (a
        run another process accepted may have begun)."""
        sub = Subscription(self, thread_id, sink, next_seq)
        log = self._logs.get(thread_id)
        if log is None:
            raise LogNotLoadedError(f"the event log of thread {thread_id!r} is not loaded: await hub.ensure() first")
        if next_seq <= log.delivered:
            sub.backlog = [(s, f) for s, f in log.ring if s >= next_seq]
        log.watchers.append(sub)
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
            unwritten=sum(len(log.unwritten) for log in self._dirty.values()),
        )


def _raise_first_seq(log: _ThreadLog, first_seq: int) -> None:
    """After a trim is stored: the log's oldest kept seq."""
    log.first_seq = max(log.first_seq, first_seq)
