"""PostgreSQL going away and coming back, for :class:`~.postgres.PostgresStorage` (and its read pool).

- :func:`connection_problem` tells a failure to reach the database (refused, lost, shutting
  down, no connection free in time) from an error of the statement itself.
- :meth:`PostgresAvailability.monitor` is the storage's watcher: when an operation found the
  database unusable (or the listener lost its connection and a probe fails), it closes the read
  pool, so reads waiting for a connection fail at once, and probes the writer (0.1 s apart,
  growing to 2 s) until it answers; then it opens a new read pool (psycopg's pool would wait out
  its own reconnection backoff, which grows with the outage) and marks the storage restored.
- :meth:`PostgresAvailability.committed_after_all` settles a ``COMMIT`` whose connection was
  lost before its answer came: the transaction's id, taken at ``BEGIN``, is looked up on a new
  connection (``txid_status``), so a write that did commit is reported stored, not failed, and is
  not written again (its events would be refused as duplicates).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

import anyio
import anyio.to_thread
import psycopg
import psycopg_pool
from anyio.abc import TaskStatus
from streamhil._backend import current_backend
from streamhil.checkpoint._postgres_drivers import AsyncPoolDriver, ThreadPoolDriver
from streamhil.errors import CheckpointError

from .base import StorageClosedError
from .health import StorageHealth

__all__ = ["PostgresAvailability", "connection_problem", "resource_problem"]

logger = logging.getLogger("streamhil_server.storage")

_PROBE_PAUSES = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Seconds between probes of a database found unavailable (the last one repeats)."""
_SETTLE_PAUSE = 0.2
"""Seconds between looks at the outcome of a transaction whose ``COMMIT`` lost its connection."""


_UNREACHABLE = ("08", "57P", "28", "3D", "53300")
"""SQLSTATEs (and classes) of a database this process cannot reach now: a connection refused or
lost, a server shutting down or starting, a login refused, the database missing, no connection
slot left."""
_FULL = "53"
"""The SQLSTATE class of a database out of resources (a full disk, memory): it answers, but
cannot take writes now."""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__


def connection_problem(exc: BaseException | None) -> str | None:
    """What makes ``exc`` a failure to reach the database (a refused or lost connection, a
    server shutting down, no connection free in time), in one line; None for any other error
    (a statement's own, a lock or statement timeout: the database answered)."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return f"no database connection came free in time ({exc})"
    if isinstance(exc, psycopg_pool.PoolClosed):
        return "its connections were closed"
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.PipelineAborted):
        state = exc.sqlstate or ""
        if not state or state.startswith(_UNREACHABLE):
            return _one_line(exc)
    return None


def resource_problem(exc: BaseException | None) -> str | None:
    """What makes ``exc`` a database that answers but cannot take writes now (a full disk, out
    of memory), in one line; None otherwise."""
    if isinstance(exc, psycopg.Error) and (exc.sqlstate or "").startswith(_FULL) and connection_problem(exc) is None:
        return _one_line(exc)
    return None


class _ReadPool(ThreadPoolDriver):
    """The sync read pool (trio), which a read still under way when it was closed cannot open
    again (the library's driver opens its pool on first use)."""

    retired = False

    def open(self) -> Any:
        if self.retired:
            raise CheckpointError("this read pool was closed (the database was unavailable)")
        return super().open()


class PostgresAvailability:
    """The read pool, the watcher and the ``COMMIT`` settlement of
    :class:`~.postgres.PostgresStorage`, which provides the attributes and methods declared here."""

    where: str
    timeout: float
    pool_size: int
    prepare: bool
    _conninfo: str
    _health: StorageHealth
    _writer: psycopg.Connection[Any] | None
    _writer_lock: threading.Lock
    _reads: AsyncPoolDriver | ThreadPoolDriver | None

    def _writer_connection(self) -> psycopg.Connection[Any]:
        raise NotImplementedError

    async def _open_reads(self) -> AsyncPoolDriver | ThreadPoolDriver:
        """A new read pool, open (one connection made at once, the others on demand): psycopg's
        async pool on asyncio, its sync pool in worker threads elsewhere."""
        reads: AsyncPoolDriver | ThreadPoolDriver
        if current_backend() == "asyncio":
            reads = AsyncPoolDriver(self._conninfo, max_size=self.pool_size, timeout=self.timeout, prepare=self.prepare)
            await reads.open()
        else:
            reads = _ReadPool(self._conninfo, max_size=self.pool_size, timeout=self.timeout, prepare=self.prepare)
            await anyio.to_thread.run_sync(reads.open)
        return reads

    @staticmethod
    async def _close_reads(reads: AsyncPoolDriver | ThreadPoolDriver) -> None:
        with anyio.CancelScope(shield=True):
            if isinstance(reads, AsyncPoolDriver):
                await reads.aclose()
            else:
                if isinstance(reads, _ReadPool):
                    reads.retired = True
                await anyio.to_thread.run_sync(reads.close)

    async def monitor(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run in a task group while the storage is open; see the module's docstring."""
        task_status.started()
        health = self._health
        while True:
            await health.wait_attention()
            if health.available:  # only suspected: one probe decides
                problem = await self._probe()
                if self._writer is None:
                    return  # closed
                if problem is None:
                    continue
                health.lost(problem)
            reads = self._reads
            if reads is not None:
                await self._close_reads(reads)  # waiting reads fail now; the storage refuses new ones
            for attempt in itertools.count():
                await anyio.sleep(_PROBE_PAUSES[min(attempt, len(_PROBE_PAUSES) - 1)])
                if self._writer is None:
                    return  # closed
                if await self._probe() is None and await self._reopen_reads():
                    health.restored()
                    break

    async def _probe(self) -> str | None:
        """None if the writer answers (connected again if it was lost), else why not."""
        try:
            await anyio.to_thread.run_sync(self._ping_writer, abandon_on_cancel=True)
        except StorageClosedError:
            return "closed"
        except psycopg.Error as exc:
            return connection_problem(exc) or f"{type(exc).__name__}: {exc}"
        return None

    def _ping_writer(self) -> None:
        with self._writer_lock:
            for attempt in (1, 2):
                conn = self._writer_connection()
                try:
                    conn.execute("SELECT 1")
                    return
                except psycopg.OperationalError:
                    if attempt == 2 or not (conn.closed or conn.broken):
                        raise

    async def _reopen_reads(self) -> bool:
        """A new read pool in place of the closed one; False if the database refused it."""
        try:
            reads = await self._open_reads()
        except (CheckpointError, psycopg.Error) as exc:
            logger.debug("opening a new read pool at %s failed: %s", self.where, exc)
            return False
        if self._writer is None:  # closed meanwhile
            await self._close_reads(reads)
            return False
        self._reads = reads
        return True

    def committed_after_all(self, xid: int) -> bool | None:
        """Whether transaction ``xid``, whose ``COMMIT`` lost its connection, committed: looked
        up on a new writer connection, again while the database cannot be reached, for up to
        ``timeout`` seconds or until the storage closes (None: still unknown). Call it with the
        writer lock held (from the commit's worker thread)."""
        deadline = time.monotonic() + self.timeout
        while self._writer is not None:
            try:
                conn = self._writer_connection()
                row = conn.execute("SELECT txid_status(%s)", (xid,)).fetchone()
                status = None if row is None else row[0]
                if status == "committed":
                    return True
                if status != "in progress":  # aborted (or unknown: long gone, so not ours)
                    return False
            except psycopg.OperationalError:
                pass  # (still away)
            except StorageClosedError:
                return None
            if time.monotonic() >= deadline:
                return None
            time.sleep(_SETTLE_PAUSE)
        return None
