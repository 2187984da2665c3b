"""SqliteStorage: the storage interface in one SQLite file (WAL).

Two connections, each used from worker threads (so it works on asyncio and trio alike):

- the *writer* commits :class:`~.records.Write` batches through :class:`~.group.GroupCommit`:
  one ``BEGIN IMMEDIATE`` per batch, each write in its own savepoint;
- the *reader* serves every read; in WAL mode it reads the last committed state beside the
  writer, so a read never queues behind a commit.

Checkpoints use the library's own tables and transactions (``streamhil.checkpoint._sqlite_sql``),
so a file written by the server is a valid :class:`~streamhil.checkpoint.sqlite.SqliteSaver`
file and the other way round. The server's tables::

    meta(key, value)                          the epoch of the event logs
    threads(thread_id, graph, owner, status, interrupts, error, created_at, updated_at,
            metadata, n_interrupts)
    events(thread_id, seq, run_id, frame)     the event frames exactly as sent
    runs(run_id, thread_id, kind, status, params, created_at, ended_at)
    answered(thread_id, interrupt_id)         interrupts answered by an acknowledged resume
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import orjson
from streamhil.checkpoint import _sqlite_sql as sql
from streamhil.checkpoint._records import Address, ListScope
from streamhil.checkpoint._sqlite_drivers import run_sync, setup_sqlite3
from streamhil.errors import CheckpointError

from .base import Loaded, Storage, StorageClosedError, StorageUnavailableError, ThreadCounts
from .file_lock import FileLock, StorageLockedError
from .group import GroupCommit
from .records import OPEN_RUN_STATUSES, RunRecord, RunStatus, ThreadRecord, Write

__all__ = ["SqliteStorage", "StorageLockedError"]

T = TypeVar("T")
_PAGE = 50

WAL_CHECKPOINT_PAGES = 10_000
"""The writer moves the WAL's pages into the database file once the WAL holds this many (SQLite's
default is 1,000). A superstep of one thread dirties pages all over the file (its thread's rows in
each table and index), and the same pages again a step later: copying them back ten times less
often copies each once instead of many times (at 100 sessions, 6% less CPU per answer, 11% more
answers per second, and a quarter less written to disk; ``bench/ws_bench.py --store sqlite``)."""

_CANNOT_WRITE = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})
"""Primary result codes of a file that cannot take writes for now (a full disk, an I/O error):
the storage is unavailable, not the write wrong."""

WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the WAL file is cut back to after a checkpoint (it is reused, not shrunk, otherwise)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    interrupts BLOB NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    run_id TEXT,
    frame TEXT NOT NULL,
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answered (
    thread_id TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, interrupt_id)
) WITHOUT ROWID;
"""

# Columns added after the first release of these tables (added to older files when opened).
_ADDED_COLUMNS = {
    "threads": [("metadata", "TEXT NOT NULL DEFAULT '{}'"), ("n_interrupts", "INTEGER NOT NULL DEFAULT 0")],
    "runs": [("ended_at", "TEXT")],
}
_INDEXES = """
CREATE INDEX IF NOT EXISTS threads_by_update ON threads (owner, updated_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at);
CREATE INDEX IF NOT EXISTS runs_by_thread ON runs (thread_id, created_at);
"""

_THREAD_COLUMNS = "thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, n_interrupts"
_RUN_COLUMNS = "run_id, thread_id, kind, status, params, created_at, ended_at"
_HEAD = "(SELECT MAX(seq) FROM events AS e WHERE e.thread_id = threads.thread_id)"


def upsert_statement(table: str, columns: str, *, keep: tuple[str, ...] = ()) -> str:
    """Insert a row, or update the one with its key (the first column) in place: unlike
    ``INSERT OR REPLACE``, which deletes the row and inserts it anew, this leaves the row's
    rowid and the index entries of unchanged columns alone (fewer pages written per commit).
    The columns in ``keep`` keep the stored row's value."""
    names = [c.strip() for c in columns.split(",")]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:] if name not in keep)
    marks = ", ".join("?" * len(names))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({names[0]}) DO UPDATE SET {updates}"


_SAVE_THREAD = upsert_statement("threads", _THREAD_COLUMNS)
_SAVE_RUN = upsert_statement("runs", _RUN_COLUMNS, keep=("created_at",))  # its place in the queue


def _thread_row(t: ThreadRecord) -> tuple[Any, ...]:
    return (
        t.thread_id, t.graph, t.owner, t.status, orjson.dumps(t.interrupts).decode(), t.error,
        t.created_at, t.updated_at, orjson.dumps(t.metadata).decode(), len(t.interrupts),
    )


def _thread(row: Sequence[Any]) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row[0], graph=row[1], owner=row[2], status=row[3], interrupts=orjson.loads(row[4]), error=row[5],
        created_at=row[6], updated_at=row[7], metadata=orjson.loads(row[8] or "{}"), head_seq=int(row[9] or 0),
    )


def _run_row(r: RunRecord) -> tuple[Any, ...]:
    return (r.run_id, r.thread_id, r.kind, r.status, orjson.dumps(r.params).decode(), r.created_at, r.ended_at)


def _list_page(
    scope: ListScope, after: Any, filter: Mapping[str, Any] | None, want: int, db: sqlite3.Connection
) -> Any:
    return run_sync(db, sql.list_page(scope, after, filter, want, _PAGE), "read")


class SqliteStorage(Storage):
    """The server's state in the SQLite file ``path`` (created if missing).

    One process at a time: ``open()`` takes an exclusive lock on ``<path>.lock`` (a file left
    beside the database) until ``aclose()`` or the process's end, and raises
    :class:`StorageLockedError` if another process (or another open ``SqliteStorage``) holds it.
    No lock on platforms without ``fcntl`` (Windows).
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._group = GroupCommit(self._commit)
        self._lock = FileLock(self.path)  # one process at a time on the file

    def __repr__(self) -> str:
        return f"SqliteStorage({self.path!r})"

    @property
    def batches(self) -> int:
        """Commits made so far (each may hold several writes)."""
        return self._group.batches

    @property
    def writes(self) -> int:
        return self._group.writes

    # --- opening -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Lock the file for this process (:class:`StorageLockedError` if another has it), then
        connect."""
        self._lock.acquire()
        try:
            self._writer = await anyio.to_thread.run_sync(self._connect, True)
            self._reader = await anyio.to_thread.run_sync(self._connect, False)
            self.epoch = await anyio.to_thread.run_sync(self._load_epoch)
        except BaseException:
            await self.aclose()
            raise

    def _connect(self, create: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            setup_sqlite3(db, self.path, self.busy_timeout)  # WAL, synchronous=NORMAL, checkpoint tables
            if create:
                db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
                db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                for table, columns in _ADDED_COLUMNS.items():
                    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                    for name, decl in columns:
                        if name not in have:
                            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
                for statement in _INDEXES.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def _load_epoch(self) -> str:
        db = self._writer
        assert db is not None
        row = db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
        if row is not None:
            return str(row[0])
        epoch = "e-" + uuid.uuid4().hex[:16]
        db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('epoch', ?)", (epoch,))
        return str(db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()[0])

    async def aclose(self) -> None:
        writer, reader, self._writer, self._reader = self._writer, self._reader, None, None
        try:
            for db in (writer, reader):
                if db is not None:
                    await anyio.to_thread.run_sync(db.close)
        finally:
            self._lock.release()

    # --- writing -------------------------------------------------------------------------------

    async def write(self, write: Write) -> None:
        if self._writer is None:
            raise StorageClosedError(f"{self!r} is not open; use 'async with' first")
        try:
            await self._group.submit(write)
        except (sqlite3.Error, CheckpointError) as exc:
            cause = exc.__cause__ if isinstance(exc, CheckpointError) else exc  # (checkpoint statements wrap it)
            if getattr(cause, "sqlite_errorcode", 0) & 0xFF not in _CANNOT_WRITE:
                raise
            # (what must be stored waits for room: a run's end, events; commands are refused)
            raise StorageUnavailableError(f"the SQLite file {self.path} cannot be written now ({exc})") from exc

    def _commit(self, batch: list[Write]) -> list[BaseException | None]:
        db = self._writer
        if db is None:
            return [StorageClosedError(f"{self!r} was closed")] * len(batch)
        db.execute("BEGIN IMMEDIATE")
        try:
            if len(batch) == 1:  # alone: its failure is the transaction's, no savepoint needed
                try:
                    self._apply(db, batch[0])
                except Exception as exc:
                    if db.in_transaction:  # (a full disk or an I/O error rolls it back by itself)
                        db.execute("ROLLBACK")
                    return [exc]
                db.execute("COMMIT")
                return [None]
            errors = self._apply_batch(db, batch)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return errors

    def _apply_batch(self, db: sqlite3.Connection, batch: list[Write]) -> list[BaseException | None]:
        """Every write of the batch. They are first made together under one savepoint; if one of
        them fails, that is undone and each is made again in a savepoint of its own, so only the
        failing one fails (a savepoint per write costs two statements, and failures are rare)."""
        db.execute("SAVEPOINT batch")
        try:
            for write in batch:
                self._apply(db, write)
        except Exception:
            if not db.in_transaction:  # SQLite rolled it all back itself (a full disk, an I/O error)
                raise  # the whole batch failed
            db.execute("ROLLBACK TO batch")
            db.execute("RELEASE batch")
        else:
            db.execute("RELEASE batch")
            return [None] * len(batch)
        errors: list[BaseException | None] = []
        for write in batch:
            db.execute("SAVEPOINT w")
            try:
                self._apply(db, write)
            except Exception as exc:
                if not db.in_transaction:
                    raise
                db.execute("ROLLBACK TO w")
                errors.append(exc)
            else:
                errors.append(None)
            db.execute("RELEASE w")
        return errors

    @staticmethod
    def _apply(db: sqlite3.Connection, write: Write) -> None:
        for thread_id in write.forget_threads:
            run_sync(db, sql.delete_thread(thread_id), None)
            for table in ("events", "answered", "runs", "threads"):
                db.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
        put = write.checkpoint
        if put is not None:
            run_sync(db, sql.put(put.parent, put.checkpoint, put.metadata, put.changed, put.writes, put.parent_stored), None)
        for writes_put in write.task_writes:
            run_sync(db, sql.put_writes(writes_put.address, writes_put.writes), None)
        if write.events:
            db.executemany(
                "INSERT INTO events (thread_id, seq, run_id, frame) VALUES (?, ?, ?, ?)",
                [(r.thread_id, r.seq, r.run_id, r.frame) for r in write.events],
            )
        if write.threads:
            db.executemany(_SAVE_THREAD, [_thread_row(t) for t in write.threads])
        if write.runs:
            db.executemany(_SAVE_RUN, [_run_row(r) for r in write.runs])
        if write.answered:
            db.executemany("INSERT OR IGNORE INTO answered (thread_id, interrupt_id) VALUES (?, ?)", write.answered)
        for thread_id, keep_after in write.trim_events:
            db.execute("DELETE FROM events WHERE thread_id = ? AND seq <= ?", (thread_id, keep_after))
        for statement in write.sql:
            statement(db)

    # --- reading -------------------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            raise StorageClosedError(f"{self!r} is not open; use 'async with' first")
        return await anyio.to_thread.run_sync(self._read_sync, fn)

    def _read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._read_lock:
            db = self._reader
            if db is None:
                raise StorageClosedError(f"{self!r} was closed")
            return fn(db)

    async def get_checkpoint(self, address: Address) -> Loaded | None:
        return await self._read(lambda db: run_sync(db, sql.get_tuple(address), "read"))

    async def list_checkpoints(
        self,
        scope: ListScope,
        *,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Loaded]:
        cursor: sql.Cursor | None = (before, "", "") if before is not None else None
        remaining = limit
        while remaining is None or remaining > 0:
            want = _PAGE if remaining is None else min(remaining, _PAGE)
            page, cursor = await self._read(partial(_list_page, scope, cursor, filter, want))
            for loaded in page:
                yield loaded
            if remaining is not None:
                remaining -= len(page)
            if cursor is None:
                return

    async def load_thread(self, thread_id: str) -> ThreadRecord | None:
        def read(db: sqlite3.Connection) -> ThreadRecord | None:
            row = db.execute(
                f"SELECT thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, {_HEAD}"
                " FROM threads WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()
            return None if row is None else _thread(row)

        return await self._read(read)

    async def load_threads(self, thread_ids: Sequence[str]) -> list[ThreadRecord]:
        if not thread_ids:
            return []
        query = (
            f"SELECT thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, {_HEAD}"
            " FROM threads WHERE thread_id IN (SELECT value FROM json_each(?))"
        )
        ids = orjson.dumps(list(dict.fromkeys(thread_ids))).decode()
        return await self._read(lambda db: [_thread(r) for r in db.execute(query, (ids,))])

    async def list_threads(
        self,
        *,
        owner: str | None = None,
        statuses: Sequence[str] | None = None,
        graph: str | None = None,
        exclude: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
    ) -> list[ThreadRecord]:
        where: list[str] = ["1"]
        params: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            params.append(owner)
        if statuses is not None:
            where.append("status IN (SELECT value FROM json_each(?))")
            params.append(orjson.dumps(list(statuses)).decode())
        if graph is not None:
            where.append("graph = ?")
            params.append(graph)
        if exclude:
            where.append("thread_id NOT IN (SELECT value FROM json_each(?))")
            params.append(orjson.dumps(list(exclude)).decode())
        query = (
            f"SELECT thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, {_HEAD}"
            f" FROM threads WHERE {' AND '.join(where)} ORDER BY updated_at DESC, thread_id DESC LIMIT ? OFFSET ?"
        )
        return await self._read(lambda db: [_thread(r) for r in db.execute(query, (*params, limit, offset))])

    async def count_threads(self) -> ThreadCounts:
        def read(db: sqlite3.Connection) -> ThreadCounts:
            n, pending = db.execute("SELECT COUNT(*), COALESCE(SUM(n_interrupts), 0) FROM threads").fetchone()
            return ThreadCounts(int(n), int(pending))

        return await self._read(read)

    async def read_events(self, thread_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        def read(db: sqlite3.Connection) -> list[tuple[int, str]]:
            cur = db.execute(
                "SELECT seq, frame FROM events WHERE thread_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (thread_id, after, upto),
            )
            return [(int(s), str(f)) for s, f in cur]

        return await self._read(read)

    async def event_bounds(self, thread_id: str) -> tuple[int, int] | None:
        def read(db: sqlite3.Connection) -> tuple[int, int] | None:
            lo, hi = db.execute("SELECT MIN(seq), MAX(seq) FROM events WHERE thread_id = ?", (thread_id,)).fetchone()
            return None if hi is None else (int(lo), int(hi))

        return await self._read(read)

    async def load_runs(
        self, statuses: Sequence[RunStatus] = OPEN_RUN_STATUSES, thread_id: str | None = None
    ) -> list[RunRecord]:
        def read(db: sqlite3.Connection) -> list[RunRecord]:
            query = f"SELECT {_RUN_COLUMNS} FROM runs WHERE status IN (SELECT value FROM json_each(?))"
            params: list[Any] = [orjson.dumps(list(statuses)).decode()]
            if thread_id is not None:
                query += " AND thread_id = ?"
                params.append(thread_id)
            cur = db.execute(query + " ORDER BY created_at, rowid", params)
            return [RunRecord(r, t, k, s, orjson.loads(p), c, e) for r, t, k, s, p, c, e in cur]

        return await self._read(read)

    async def answered_among(self, thread_id: str, interrupt_ids: Sequence[str]) -> list[str]:
        ids = list(interrupt_ids)
        if not ids:
            return []

        def read(db: sqlite3.Connection) -> list[str]:
            cur = db.execute(
                "SELECT interrupt_id FROM answered WHERE thread_id = ? AND interrupt_id IN (SELECT value FROM json_each(?))",
                (thread_id, orjson.dumps(ids).decode()),
            )
            found = {str(r[0]) for r in cur}
            return [i for i in ids if i in found]

        return await self._read(read)
