"""``watch_threads``: notices about an identity's threads, so a dashboard never polls.

The hub calls :meth:`ThreadNotifier.on_event` as each event is published. Lifecycle events
(a run started, paused, ended; state edited) make the notifier compare the thread with what each
watcher of its owner last heard, and send ``thread_created`` or ``thread_status`` when it is new
or its status, run or pending interrupts changed. Any event marks the counters dirty; the
notifier's task then sends ``counters`` at most once per ``interval`` while they keep changing
(the event rate decays to 0 over 10 s), and sleeps while nothing happens.

On a server with tokens (``counters_of`` given) each identity's watchers get its own figures
(:mod:`.activity`), never the server-wide ones, which would show them each other's activity.

Several processes on one database: a thread may run on another process, so what this process
holds in memory of it is not its state. The storage's feed of other processes' events
(:meth:`ThreadNotifier.note_remote`, beside the hub's) marks such threads; the notifier's task
reads their records in one batched query per turn (many events of a thread between two turns are
one read) and offers them to the watchers of their owner, as for local threads. A process with
no watcher reads nothing. The hub's own deliveries of such threads (a connection here subscribes
to one) mark them too, rather than offering this process's stale copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import anyio
import anyio.lowlevel
import orjson
from anyio.abc import TaskStatus
from streamhil.protocol import (
    dumps,
    EventKind,
    Counters,
    CountersNotice,
    InterruptInfo,
    Notice,
    ThreadCreatedNotice,
    ThreadInfo,
    ThreadStatusNotice,
)

from .runs import RunManager
from .storage.base import StorageUnavailableError
from .storage.records import ThreadRecord
from .threads import ThreadRuntime

__all__ = ["ThreadNotifier", "ThreadWatcher", "SNAPSHOT_CHUNK"]

SNAPSHOT_CHUNK = 500
"""Threads of a ``watch_threads`` snapshot made between two chances for other tasks to run."""

logger = logging.getLogger("streamhil_server.notices")

NoticeSink = Callable[[Notice], None]
_LIFECYCLE = frozenset(
    {EventKind.RUN_STARTED, EventKind.INTERRUPT, EventKind.RUN_INTERRUPTED, EventKind.RUN_DONE, EventKind.RUN_ERROR, EventKind.RUN_CANCELLED, EventKind.STATE_UPDATED}
)


def _signature(info: dict[str, Any]) -> tuple[Any, ...]:
    return info["status"], info["run_id"], tuple(i["id"] for i in info["interrupts"])


class ThreadWatcher:
    """One connection's ``watch_threads``: what it was told about each thread."""

    __slots__ = ("identity", "sink", "known", "closed", "changed", "_notifier")

    def __init__(self, notifier: ThreadNotifier, identity: str, sink: NoticeSink) -> None:
        self._notifier = notifier
        self.identity = identity
        self.sink = sink
        self.known: dict[str, tuple[Any, ...]] = {}
        self.closed = False
        self.changed: dict[str, dict[str, Any]] | None = None
        """While the snapshot is built: the threads that changed meanwhile, as last heard."""

    def offer(self, info: dict[str, Any]) -> None:
        """Send ``info`` if the thread is new to this watcher or changed since it last heard."""
        if self.changed is not None:
            self.changed[info["thread_id"]] = info
            return
        signature = _signature(info)
        before = self.known.get(info["thread_id"])
        if before == signature:
            return
        self.known[info["thread_id"]] = signature
        thread = _thread(info)
        self.sink(ThreadCreatedNotice(thread=thread) if before is None else ThreadStatusNotice(thread=thread))

    def close(self) -> None:
        """Stop the notices."""
        if not self.closed:
            self.closed = True
            self._notifier._remove(self)


def _some(thread_ids: list[str], shown: int = 10) -> str:
    """Thread ids for a log line: the first ``shown`` of them, and how many more."""
    more = len(thread_ids) - shown
    return ", ".join(thread_ids[:shown]) + (f" and {more} more" if more > 0 else "")


def _ignore(notice: Notice) -> None:
    """A watcher's sink until its snapshot is replied (nothing may precede the reply)."""


def _thread_wire(info: dict[str, Any]) -> dict[str, Any]:
    """A ``thread_info`` dict of the run manager as the wire's Thread object (what
    ``_thread(info).to_wire()`` gives, without the objects in between)."""
    wire = dict(info)
    wire["interrupts"] = [
        {"id": i["id"], "value": i.get("value"), "node": i.get("node"), "task_id": i.get("task_id"),
         "ns": list(i.get("ns") or ())}
        for i in info["interrupts"]
    ]
    return wire


def _thread(info: dict[str, Any]) -> ThreadInfo:
    """A ``thread_info`` dict of the run manager as the protocol's object."""
    return ThreadInfo(
        thread_id=info["thread_id"],
        graph=info["graph"],
        status=info["status"],
        run_id=info["run_id"],
        head_seq=info["head_seq"],
        interrupts=tuple(
            InterruptInfo(id=i["id"], value=i.get("value"), node=i.get("node"), task_id=i.get("task_id"),
                          ns=tuple(i.get("ns") or ()))
            for i in info["interrupts"]
        ),
        created_at=info["created_at"],
        updated_at=info["updated_at"],
    )


class ThreadNotifier:
    """The ``watch_threads`` watchers of one server; run :meth:`run` in a task group."""

    def __init__(
        self,
        runs: RunManager,
        counters: Callable[[], Counters],
        *,
        counters_of: Callable[[Collection[str]], dict[str, Counters]] | None = None,
        interval: float = 1.0,
    ) -> None:
        self.runs = runs
        self.counters = counters
        self.counters_of = counters_of
        self.interval = interval
        self._watchers: dict[str, list[ThreadWatcher]] = {}
        self._count = 0
        self._dirty = anyio.Event()
        self._last: dict[str | None, Counters] = {}
        """What was last sent: to everyone (key None), or to each identity (``counters_of``)."""
        self._remote: set[str] = set()
        """Threads another process changed, whose records the task reads next."""
        self._remote_wake = anyio.Event()
        self.remote_reads = 0
        """Batched reads of threads other processes changed (for tests and curiosity)."""

    def _current(self, identities: Collection[str]) -> dict[str | None, Counters]:
        if self.counters_of is None:
            return {None: self.counters()}
        current: dict[str | None, Counters] = {}
        current.update(self.counters_of(identities))
        return current

    @property
    def watcher_count(self) -> int:
        return self._count

    async def watch(
        self, identity: str, sink: NoticeSink, *, gone: Callable[[], bool] = lambda: False
    ) -> tuple[ThreadWatcher, dict[str, Any]] | None:
        """Start watching ``identity``'s threads: the watcher and the snapshot to reply with
        (reply right after this returns, with no await in between, so no notice precedes the
        reply); None if the connection is ``gone`` meanwhile.

        The snapshot is made :data:`SNAPSHOT_CHUNK` threads at a time, letting other tasks run
        in between (it held the event loop about 14 ms per 1,000 threads), and each thread is
        kept as its JSON text only (the reply's ``threads`` is one ``orjson.Fragment``), so a
        snapshot of many threads costs little more memory than its frame. It stops as soon as
        the connection is gone. The watcher is registered first, without a sink: threads that
        change meanwhile are noted, and taken into the snapshot as they are at the end.
        """
        watcher = ThreadWatcher(self, identity, _ignore)
        watcher.changed = {}
        first = identity not in self._watchers
        self._watchers.setdefault(identity, []).append(watcher)
        self._count += 1
        try:
            stored = await self.runs.storage.list_threads(owner=identity, limit=self.runs.statistics().threads + 1)
            entries: dict[str, tuple[tuple[str, str], str]] = {}  # thread id: (order, JSON text)
            while stored:
                if gone():
                    watcher.close()
                    return None
                chunk = stored[-SNAPSHOT_CHUNK:]
                del stored[-SNAPSHOT_CHUNK:]  # what is made is let go (the order comes last)
                for record in chunk:
                    self._note(watcher, entries, self.runs.record_info(record))
                await anyio.lowlevel.checkpoint()
        except BaseException:
            watcher.close()
            raise
        if gone():
            watcher.close()
            return None
        # No await from here on. Threads in memory may have changed since the list was read:
        # take their state now; those that changed and left memory meanwhile, as last heard.
        for info in watcher.changed.values():
            self._note(watcher, entries, info)
        for thread in self.runs.threads:
            if thread.record.owner == identity and self._runs_here(thread):
                self._note(watcher, entries, self.runs.thread_info(thread))
        newest_first = sorted(entries.values(), reverse=True)
        threads = orjson.Fragment("[" + ",".join(text for _, text in newest_first) + "]")
        if self.counters_of is None:
            counters = self.counters()
        else:
            counters = self.counters_of((identity,))[identity]
            if first:  # its first watcher: the reply says what a notice would
                self._last[identity] = counters
        watcher.changed, watcher.sink = None, sink
        return watcher, {"threads": threads, "counters": counters}

    @staticmethod
    def _note(watcher: ThreadWatcher, entries: dict[str, tuple[tuple[str, str], str]], info: dict[str, Any]) -> None:
        """Put a thread in a snapshot being made (over what it said of that thread before)."""
        thread_id = info["thread_id"]
        watcher.known[thread_id] = _signature(info)
        entries[thread_id] = ((info["updated_at"], thread_id), dumps(_thread_wire(info)))

    def _remove(self, watcher: ThreadWatcher) -> None:
        watchers = self._watchers.get(watcher.identity)
        if watchers and watcher in watchers:
            watchers.remove(watcher)
            self._count -= 1
            if not watchers:
                del self._watchers[watcher.identity]
                self._last.pop(watcher.identity, None)

    def _runs_here(self, thread: ThreadRuntime) -> bool:
        """Whether this process's copy of the thread is its state: it runs or queues a run of it,
        or holds its lease (always, on a storage no other process uses). Otherwise another
        process may be changing it: its stored record says how it is."""
        return thread.busy or self.runs.storage.holds(thread.thread_id)

    def on_event(self, thread_id: str, event: str) -> None:
        """The hub delivered ``event`` on ``thread_id`` (never blocks)."""
        if not self._count:
            return
        self._dirty.set()
        if event not in _LIFECYCLE:
            return
        thread = self.runs.threads.peek(thread_id)
        if thread is None:
            return
        if not self._runs_here(thread):  # another process stored it: read its record
            self.note_remote(thread_id, 0)
            return
        watchers = self._watchers.get(thread.record.owner)
        if not watchers:
            return
        info = self.runs.thread_info(thread)
        for watcher in list(watchers):
            watcher.offer(info)

    def note_remote(self, thread_id: str | None, seq: int) -> None:
        """Another process stored events of ``thread_id`` (the storage's :meth:`follow` feed;
        never blocks). Ignored while nobody here watches, and for ``None`` ("any thread", after a
        lost wake-up): what changed then is not known without reading every thread."""
        if not self._count or thread_id is None:
            return
        self._remote.add(thread_id)
        self._remote_wake.set()

    async def _follow_remote(self) -> None:
        """Read the records of the threads other processes changed, a batch per turn, and offer
        them to their owners' watchers. While the storage is unavailable the threads not yet read
        wait for it to come back (at most a second between tries); a batch whose read fails
        otherwise is logged, with its threads, and not read again until they change again."""
        while True:
            await self._remote_wake.wait()
            self._remote_wake = anyio.Event()
            if not self._count:
                self._remote.clear()
                continue
            wanted, self._remote = list(self._remote), set()
            for start in range(0, len(wanted), SNAPSHOT_CHUNK):
                chunk = wanted[start : start + SNAPSHOT_CHUNK]
                try:
                    self.remote_reads += 1
                    records = await self.runs.storage.load_threads(chunk)
                except StorageUnavailableError:  # read again once it is back
                    self._remote.update(wanted[start:])
                    self._remote_wake.set()
                    await self.runs.storage.health.pause(1.0)
                    break
                except Exception:  # not retried (it would fail again, for ever): said, with the threads
                    logger.exception(
                        "reading %d threads another process changed failed; their watchers miss these changes"
                        " until the threads change again: %s", len(chunk), _some(chunk),
                    )
                    continue
                for record in records:
                    self._offer_stored(record)

    def _offer_stored(self, record: ThreadRecord) -> None:
        """Offer a thread read from the storage to its owner's watchers (this process's copy
        instead if this process runs it now)."""
        watchers = self._watchers.get(record.owner)
        if not watchers:
            return
        thread = self.runs.threads.peek(record.thread_id)
        if thread is not None and self._runs_here(thread):
            info = self.runs.thread_info(thread)
        else:
            info = self.runs.record_info(record)
        for watcher in list(watchers):
            watcher.offer(info)

    def nudge(self) -> None:
        """Something the counters show changed outside the event stream (a connection came or went)."""
        if self._count:
            self._dirty.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Send ``counters`` to every watcher when they change, at most once per interval, and
        the threads other processes changed as they are read."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._follow_remote)
            task_status.started()
            await self._send_counters()

    async def _send_counters(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty = anyio.Event()
            changed = {key: c for key, c in self._current(list(self._watchers)).items() if self._last.get(key) != c}
            if not changed:
                continue
            self._last.update(changed)
            for identity, watchers in list(self._watchers.items()):
                counters = changed.get(None if self.counters_of is None else identity)
                if counters is None:
                    continue
                notice = CountersNotice(counters=counters)
                for watcher in list(watchers):
                    watcher.sink(notice)
            await anyio.sleep(self.interval)
            self._dirty.set()  # look again after the pause: the event rate may still be decaying
