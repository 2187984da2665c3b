"""One process at a time on a SQLite file: an exclusive ``flock`` on ``<db>.lock`` beside it.

A second server on the file would take the first one's live runs for runs a crash cut short and
run them again, and the first would then fail on its own event log. :class:`FileLock` makes the
second one fail first, with :class:`StorageLockedError`.

``flock`` belongs to the open file, not to the file on disk: the kernel lets it go when the
process ends in any way (``kill -9`` and power loss included), so a crashed server never keeps
its restart out, and the lock file is left in place (removing it would let two processes lock two
different files by that name). A child forked without ``exec`` (``multiprocessing``'s fork) closes
its copy at once, so it never holds the lock after its parent has gone. Without ``fcntl``
(Windows) there is no lock: one process per file is then up to the operator (docs/deploy.md).
"""

from __future__ import annotations

import os
import weakref

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileLock", "StorageLockedError", "LOCKING"]

LOCKING = fcntl is not None
"""Whether this platform locks (``fcntl.flock``; not on Windows)."""

_held: weakref.WeakSet[FileLock] = weakref.WeakSet()


class StorageLockedError(RuntimeError):
    """Another process (or another storage of this one) has the SQLite file open."""

    def __init__(self, path: str, lock_path: str) -> None:
        super().__init__(
            f"the SQLite file {path} is in use by another server process (it holds the lock "
            f"{lock_path}); one process at a time may serve a SQLite file: stop the other one, or "
            "use a PostgreSQL --db for several processes (docs/deploy.md)"
        )
        self.path = path
        self.lock_path = lock_path


class FileLock:
    """An exclusive lock on ``<path>.lock``, taken by :meth:`acquire` and let go by
    :meth:`release` (or by the process's end)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock_path = os.path.realpath(path) + ".lock"  # (one lock for every name of the file)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StorageLockedError` at once (never waits)."""
        if fcntl is None or self._fd is not None or self.path in ("", ":memory:"):
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)  # (not inherited by exec: PEP 446)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageLockedError(self.path, self.lock_path) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        _held.add(self)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        _held.discard(self)
        if fd is not None:
            os.close(fd)  # the last descriptor of the open file: the lock goes with it

    def __del__(self) -> None:  # a storage dropped without aclose() does not keep the file locked
        self.release()


def _after_fork_in_child() -> None:
    """In a forked child: close the inherited descriptors (the parent's stay open, and so does
    its lock; nothing is unlocked)."""
    for lock in list(_held):
        lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
