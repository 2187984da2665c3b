"""Storing a run's end whatever happens to the storage meanwhile.

A run's end (its record and its thread's record) is *staged* with the thread's next write, like a
run's status change: the write that stores the run's terminal event stores it too, whichever
makes it (the run's worker, or the hub storing events on its own), so a watcher never sees the
terminal event of a run whose thread is still busy. A write that fails stages it again; only a
lost lease drops it (another process continues the thread).

:func:`patiently` runs an operation again while it fails because the storage is unavailable,
paused between attempts and woken as soon as the storage is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ..hub import EventHub
from ..storage.base import LeaseLostError, Storage
from ..storage.health import unavailable_cause
from ..storage.records import RunRecord, ThreadRecord, Write

__all__ = ["StagedEnd", "patiently", "FIRST_PAUSE", "LAST_PAUSE"]

T = TypeVar("T")

FIRST_PAUSE, LAST_PAUSE = 0.05, 2.0
"""Seconds between attempts while the storage is unavailable: doubling from the first to the last."""


class StagedEnd:
    """A run's end, staged with its thread's next write until a write stores it."""

    def __init__(
        self, hub: EventHub, thread_id: str, run: RunRecord, thread: ThreadRecord | None, on_stored: Callable[[], None]
    ) -> None:
        self.hub = hub
        self.thread_id = thread_id
        self._run = run
        self._thread = thread
        self._on_stored = on_stored
        self.stored = False
        self.lost: LeaseLostError | None = None
        """Set when the thread's lease was lost with the end unstored (it will never be stored here)."""
        self._settled = anyio.Event()

    def stage(self) -> None:
        """Go with the thread's next write."""
        part = Write(thread_id=self.thread_id, runs=[self._run], threads=[] if self._thread is None else [self._thread])
        part.after_commit.append(self._committed)
        part.after_failure.append(self._failed)
        self.hub.stage(self.thread_id, part)

    @property
    def settled(self) -> bool:
        return self.stored or self.lost is not None

    async def wait(self) -> None:
        """Until the write that carries the end now (another task's) succeeds or fails."""
        await self._settled.wait()

    def _committed(self) -> None:
        self.stored = True
        self._on_stored()
        self._tell()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, LeaseLostError):
            self.lost = exc
        else:
            self.stage()  # with the thread's next write, or this run's next attempt
        self._tell()

    def _tell(self) -> None:
        settled, self._settled = self._settled, anyio.Event()
        settled.set()


async def patiently(storage: Storage, work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``; again while it fails because the storage is unavailable (paused
    between attempts, woken early when the storage is back). Other errors are raised."""
    pause = FIRST_PAUSE
    while True:
        try:
            return await work()
        except Exception as exc:
            if unavailable_cause(exc) is None:
                raise
        await storage.health.pause(pause)
        pause = min(LAST_PAUSE, pause * 2)
