"""``watch_threads``: notices about an identity's threads, so a dashboard never polls.

The hub calls :meth:`ThreadNotifier.on_event` as each event is published. Lifecycle events
(a run started, paused, ended; state edited) make the notifier compare the thread with what each
watcher of its owner last heard, and send ``thread_created`` or ``thread_status`` when it is new
or its status, run or pending interrupts changed. Any event marks the counters dirty; the
notifier's task then sends ``counters`` at most once per ``interval`` while they keep changing
(the event rate decays to 0 over 10 s), and sleeps while nothing happens.

On a server with tokens (``counters_of`` given) each identity's watchers get its own figures
(:mod:`.activity`), never the server-wide ones, which would show them each other's activity.
"""

from __future__ import annotations

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

__all__ = ["ThreadNotifier", "ThreadWatcher", "SNAPSHOT_CHUNK"]

SNAPSHOT_CHUNK = 500
"""Threads of a ``watch_threads`` snapshot made between two chances for other tasks to run."""

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
            if thread.record.owner == identity:
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

    def on_event(self, thread_id: str, event: str) -> None:
        """The hub published ``event`` on ``thread_id`` (never blocks)."""
        if not self._count:
            return
        self._dirty.set()
        if event not in _LIFECYCLE:
            return
        thread = self.runs.threads.peek(thread_id)
        if thread is None:
            return
        watchers = self._watchers.get(thread.record.owner)
        if not watchers:
            return
        info = self.runs.thread_info(thread)
        for watcher in list(watchers):
            watcher.offer(info)

    def nudge(self) -> None:
        """Something the counters show changed outside the event stream (a connection came or went)."""
        if self._count:
            self._dirty.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Send ``counters`` to every watcher when they change, at most once per interval."""
        task_status.started()
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
