"""Group commit: writes made while a commit is under way wait, then share the next commit.

A lone write is not delayed: the first caller carries its batch at once. While that batch is
being committed (in a worker thread), later callers queue; when it is done, the first of them
carries all the queued writes as the next batch. The backend's ``commit`` runs each write of a
batch in its own savepoint, so one failing write fails only its caller. Every caller returns
only after the commit that holds its write; ``after_commit`` callbacks run in write order, on
the event loop, before any caller of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from streamhil._threads import WorkerPool

from .records import Write

__all__ = ["GroupCommit", "CommitBatch", "run_callbacks", "COMMIT_THREADS"]

COMMIT_THREADS = WorkerPool("streamhil-commit", 8)
"""Where batches are committed: threads of their own, so blocking sync nodes never delay a
commit (each storage commits one batch at a time; the pool is shared by every storage)."""

CommitBatch = Callable[[list[Write]], list[BaseException | None]]
"""Commit a batch in one transaction (blocking); the error of each write (None: stored)."""


class _Waiter:
    __slots__ = ("write", "error", "wake", "done")

    def __init__(self, write: Write) -> None:
        self.write = write
        self.error: BaseException | None = None
        self.wake = anyio.Event()
        self.done = False


class GroupCommit:
    """Batches writes for ``commit``, which runs in a worker thread (or inline if ``inline``)."""

    def __init__(self, commit: CommitBatch, *, inline: bool = False) -> None:
        self._commit = commit
        self._inline = inline
        self._queue: list[_Waiter] = []
        self._carrying = False
        self.batches = 0
        self.writes = 0

    async def submit(self, write: Write) -> None:
        """Commit ``write`` in the next batch; raise its error if it failed."""
        waiter = _Waiter(write)
        self._queue.append(waiter)
        with anyio.CancelScope(shield=True):  # a commit is never cut in half, nor left unawaited
            if self._carrying:
                await waiter.wake.wait()  # done, or asked to carry the next batch
            else:
                self._carrying = True
            if not waiter.done:
                await self._carry()
        if waiter.error is not None:
            raise waiter.error

    async def _carry(self) -> None:
        batch, self._queue = self._queue, []
        writes = [w.write for w in batch]
        try:
            if self._inline:
                errors = self._commit(writes)
            else:
                errors = await COMMIT_THREADS.run(self._commit, writes)
        except BaseException as exc:  # the transaction itself failed: nothing of it is stored
            errors = [exc] * len(batch)
        self.batches += 1
        self.writes += len(batch)
        for waiter, error in zip(batch, errors, strict=True):
            waiter.error = error
            waiter.done = True
            run_callbacks(waiter.write, error)
        for waiter in batch:
            waiter.wake.set()
        if self._queue:
            self._queue[0].wake.set()  # it carries the next batch
        else:
            self._carrying = False


def run_callbacks(write: Write, error: BaseException | None) -> None:
    """``after_commit`` (stored) or ``after_failure`` (not stored) of one write."""
    try:
        if error is None:
            for done in write.after_commit:
                done()
        else:
            for failed in write.after_failure:
                failed(error)
    except Exception:  # pragma: no cover - a callback's bug must not wedge the other writers
        import logging

        logging.getLogger("streamhil_server.storage").exception("a write's callback failed")
