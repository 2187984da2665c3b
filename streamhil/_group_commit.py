"""Group commit: items submitted while a batch is being committed wait, then share the next one.

A lone item is not delayed: its caller carries its batch at once. While that batch is being
committed, later callers queue; when it is done, the first of them carries every queued item
as the next batch. ``commit(batch)`` returns one result per item, an exception instance for an
item that failed alone (the backend runs each item in a savepoint, so one failing item fails
only its caller); if ``commit`` itself raises, nothing of the batch is stored and every caller
gets that error. Every caller returns only after the commit that holds its item, and
``settled(item, result)`` runs for each item, in submission order, before any caller of the
batch goes on.

Used by :class:`~streamhil.checkpoint.sqlite.SqliteSaver` (checkpoint transactions of many
threads in one SQLite transaction) and by the server's storage backends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["GroupCommit", "CommitBatch"]

I = TypeVar("I")  # noqa: E741 - the item type

CommitBatch = Callable[[list[I]], Awaitable[list[Any]]]
"""Commit a batch in one transaction: each item's result, or the exception it failed with."""


class _Waiter(Generic[I]):
    __slots__ = ("item", "result", "wake", "done")

    def __init__(self, item: I) -> None:
        self.item = item
        self.result: Any = None
        self.wake: anyio.Event | None = None  # made only by a caller that has to wait
        self.done = False


class GroupCommit(Generic[I]):
    """Batches items for ``commit``; see the module's docstring."""

    def __init__(self, commit: CommitBatch[I], *, settled: Callable[[I, Any], None] | None = None) -> None:
        self._commit = commit
        self._settled = settled
        self._queue: list[_Waiter[I]] = []
        self._carrying = False
        self.batches = 0
        self.items = 0

    async def submit(self, item: I) -> Any:
        """Commit ``item`` in the next batch and return its result; raise its error if it failed."""
        waiter = _Waiter(item)
        self._queue.append(waiter)
        with anyio.CancelScope(shield=True):  # a commit is never cut in half, nor left unawaited
            if self._carrying:
                waiter.wake = anyio.Event()
                await waiter.wake.wait()  # done, or asked to carry the next batch
            else:
                self._carrying = True
            if not waiter.done:
                await self._carry()
        if isinstance(waiter.result, BaseException):
            raise waiter.result
        return waiter.result

    async def _carry(self) -> None:
        batch, self._queue = self._queue, []
        try:
            results = await self._commit([w.item for w in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"commit returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # the transaction itself failed: nothing of it is stored
            results = [exc] * len(batch)
        self.batches += 1
        self.items += len(batch)
        for waiter, result in zip(batch, results, strict=True):
            waiter.result = result
            waiter.done = True
            if self._settled is not None:
                self._settled(waiter.item, result)
        for waiter in batch:
            if waiter.wake is not None:
                waiter.wake.set()
        if self._queue:
            wake = self._queue[0].wake
            assert wake is not None  # queued while this batch was carried, so it waits
            wake.set()  # it carries the next batch
        else:
            self._carrying = False
