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
from anyio.abc import TaskStatus
from streamhil.protocol import (
    EventKind,
    Counters,
    CountersNotice,
    InterruptInfo,
    Notice,
    ThreadCreatedNotice,
    ThreadInfo,
    ThreadStatusNotice,
    WatchThreadsResult,
)

from .runs import RunManager

__all__ = ["ThreadNotifier", "ThreadWatcher"]

NoticeSink = Callable[[Notice], None]
_LIFECYCLE = frozenset(
    {EventKind.RUN_STARTED, EventKind.INTERRUPT, EventKind.RUN_INTERRUPTED, EventKind.RUN_DONE, EventKind.RUN_ERROR, EventKind.RUN_CANCELLED, EventKind.STATE_UPDATED}
)


def _signature(info: dict[str, Any]) -> tuple[Any, ...]:
    return info["status"], info["run_id"], tuple(i["id"] for i in info["interrupts"])


class ThreadWatcher:
    """One connection's ``watch_threads``: what it was told about each thread."""

    __slots__ = ("identity", "sink", "known", "closed", "_notifier")

    def __init__(self, notifier: ThreadNotifier, identity: str, sink: NoticeSink) -> None:
        self._notifier = notifier
        self.identity = identity
        self.sink = sink
        self.known: dict[str, tuple[Any, ...]] = {}
        self.closed = False

    def offer(self, info: dict[str, Any]) -> None:
        """Send ``info`` if the thread is new to this watcher or changed since it last heard."""
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

    async def watch(self, identity: str, sink: NoticeSink) -> tuple[ThreadWatcher, WatchThreadsResult]:
        """Start watching ``identity``'s threads: the snapshot to reply with, and the watcher
        (reply right after this returns, with no await in between, so no notice precedes the
        reply)."""
        watcher = ThreadWatcher(self, identity, sink)
        listed = await self.runs.list_threads(identity, None, None, self.runs.statistics().threads + 1, 0)
        # Threads in memory may have changed while the list was read: take their state now, with
        # no await until the watcher is registered, so no change falls between snapshot and notices.
        by_id = {info["thread_id"]: info for info in listed}
        for thread in self.runs.threads:
            if thread.record.owner == identity:
                by_id[thread.thread_id] = self.runs.thread_info(thread)
        infos = sorted(by_id.values(), key=lambda i: (i["updated_at"], i["thread_id"]), reverse=True)
        for info in infos:
            watcher.known[info["thread_id"]] = _signature(info)
        if self.counters_of is None:
            counters = self.counters()
        else:
            counters = self.counters_of((identity,))[identity]
            if identity not in self._watchers:  # its first watcher: the reply says what a notice would
                self._last[identity] = counters
        self._watchers.setdefault(identity, []).append(watcher)
        self._count += 1
        threads = tuple(_thread(info) for info in infos)
        return watcher, WatchThreadsResult(threads=threads, counters=counters)

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
        thread = self.runs.threads.get(thread_id)
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
