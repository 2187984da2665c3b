"""Group commit of :class:`~.records.Write` batches, on :mod:`streamhil._group_commit`.

A lone write is not delayed; writes made while a commit is under way share the next commit. The
backend's ``commit`` runs in a worker thread (or inline) and runs each write of a batch in its
own savepoint, so one failing write fails only its caller. Every caller returns only after the
commit that holds its write; ``after_commit`` callbacks run in write order, on the event loop,
before any caller of the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from streamhil._group_commit import GroupCommit as _Group
from streamhil._threads import WorkerPool

from .records import Write

__all__ = ["GroupCommit", "CommitBatch", "run_callbacks", "COMMIT_THREADS"]

CommitBatch = Callable[[list[Write]], list[BaseException | None]]
"""Commit a batch in one transaction (blocking); the error of each write (None: stored)."""

COMMIT_THREADS = WorkerPool("streamhil-commit", 8)
"""Where batches are committed: threads of their own, so blocking sync nodes never delay a
commit (each storage commits one batch at a time; the pool is shared by every storage)."""


class GroupCommit:
    """Batches writes for ``commit``, which runs in a worker thread (or inline if ``inline``)."""

    def __init__(self, commit: CommitBatch, *, inline: bool = False) -> None:
        self._commit = commit
        self._inline = inline
        self._group: _Group[Write] = _Group(self._run, settled=run_callbacks)

    @property
    def batches(self) -> int:
        return self._group.batches

    @property
    def writes(self) -> int:
        return self._group.items

    async def submit(self, write: Write) -> None:
        """Commit ``write`` in the next batch; raise its error if it failed."""
        await self._group.submit(write)

    async def _run(self, batch: list[Write]) -> list[Any]:
        errors = self._commit(batch) if self._inline else await COMMIT_THREADS.run(self._commit, batch)
        return errors


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
        logging.getLogger("streamhil_server.storage").exception("a write's callback failed")
