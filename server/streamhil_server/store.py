"""The server's own SQLite tables: threads, the per-thread event log, the run queue and answers.

One ``sqlite3`` connection is used from worker threads (``anyio.to_thread``), so the store works
on asyncio and trio alike. Calls are group-committed: the calls made while a batch is in the
worker thread run together next, in one thread hop and one transaction (each call in its own
savepoint), and each returns once its batch is committed. ``path=None`` keeps everything in an in-memory
database (same code, called inline since it never waits on a disk; nothing survives the process). The store lives beside the checkpointer's
tables in the same file; WAL mode lets both connections work at once.

Tables::

    meta(key, value)                      the epoch of the event logs
    threads(thread_id, graph, owner, status, interrupts, error, created_at, updated_at)
    events(thread_id, seq, run_id, frame) the event frames exactly as sent, per thread by seq
    runs(run_id, thread_id, kind, status, params, created_at)  queued and running runs
    answered(thread_id, interrupt_id)     interrupts answered by an acknowledged resume
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import orjson

__all__ = ["Store", "ThreadRecord", "RunRecord", "now_iso"]

T = TypeVar("T")

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


def now_iso() -> str:
    """The current UTC time as ISO-8601."""
    return datetime.now(UTC).isoformat()


@dataclass(slots=True)
class ThreadRecord:
    """What the server keeps about a thread beside its checkpoints.

    ``status`` is the last settled status (``idle``, ``interrupted`` or ``error``); ``running``
    comes from the run manager. ``interrupts`` are the pending ones as wire dicts.
    """

    thread_id: str
    graph: str
    owner: str
    status: str = "idle"
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass(slots=True)
class RunRecord:
    """A run the server accepted and has not finished: ``queued`` or ``running``."""

    run_id: str
    thread_id: str
    kind: str
    status: str
    params: dict[str, Any]
    created_at: str = field(default_factory=now_iso)


class _Op:
    """One store call waiting for its batch."""

    __slots__ = ("fn", "result", "error", "wake", "lead", "finished")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.wake = anyio.Event()
        self.lead = False
        self.finished = False


class Store:
    """The server's SQLite tables; open with ``async with Store(path)``."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.epoch = ""
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._queue: list[_Op] = []
        self._leading = False
        self.batches = 0
        self.calls = 0

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the tables if needed and read (or make) the epoch."""
        self._db = await anyio.to_thread.run_sync(self._connect)
        self.epoch = await self._call(self._load_epoch)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path or ":memory:", check_same_thread=False, isolation_level=None)
        if self.path:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        return db

    def _load_epoch(self, db: sqlite3.Connection) -> str:
        row = db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
        if row is not None:
            return str(row[0])
        epoch = "e-" + uuid.uuid4().hex[:16]
        db.execute("INSERT INTO meta(key, value) VALUES('epoch', ?)", (epoch,))
        return epoch

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await anyio.to_thread.run_sync(db.close)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(db)`` in the next batch and return its result (or raise its error).

        Group commit: calls made while a batch is in the worker thread wait, and then all run
        in one thread hop and one transaction, each in its own savepoint (so one call's failure
        undoes only its own writes). A call returns once the batch that holds it is committed.
        The first waiting call carries the batch (shielded: a batch is never cut in half);
        calls are run in the order they were made.
        """
        if self._db is None:
            raise RuntimeError("the store is not open; use 'async with Store(path)' first")
        op: _Op = _Op(fn)
        self._queue.append(op)
        with anyio.CancelScope(shield=True):
            if self._leading:
                await op.wake.wait()  # done, or asked to carry the next batch
            else:
                self._leading = True
                op.lead = True
            if not op.finished:
                await self._carry(op)
        if op.error is not None:
            raise op.error
        return op.result

    async def _carry(self, op: _Op) -> None:
        batch, self._queue = self._queue, []
        try:
            if self.path is None:  # an in-memory database answers in microseconds: no thread hop
                await anyio.lowlevel.checkpoint()
                self._run_batch(batch)
            else:
                await anyio.to_thread.run_sync(self._run_batch, batch)
        finally:
            for other in batch:
                other.finished = True
                if other is not op:
                    other.wake.set()
            if self._queue:
                self._queue[0].lead = True
                self._queue[0].wake.set()
            else:
                self._leading = False

    def _run_batch(self, batch: list[_Op]) -> None:
        db = self._db
        with self._lock:
            self.batches += 1
            self.calls += len(batch)
            if db is None:
                for op in batch:
                    op.error = RuntimeError("the store was closed")
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                for op in batch:
                    db.execute("SAVEPOINT op")
                    try:
                        op.result = op.fn(db)
                    except Exception as exc:
                        db.execute("ROLLBACK TO op")
                        op.error = exc
                    db.execute("RELEASE op")
                db.execute("COMMIT")
            except Exception as exc:  # the transaction itself failed: nothing of it is stored
                if db.in_transaction:
                    db.execute("ROLLBACK")
                for op in batch:
                    op.result, op.error = None, exc

    async def run_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(db)`` in the next group-committed batch: for tables owned by other modules
        (:mod:`.thread_metadata`, :mod:`.run_records`), which create them with ``CREATE ... IF NOT EXISTS``."""
        return await self._call(fn)

    @staticmethod
    def _tx(db: sqlite3.Connection, fn: Callable[[], T]) -> T:
        """Run ``fn`` atomically (every call already runs in its own savepoint of a batch)."""
        return fn()

    # --- events --------------------------------------------------------------------------------

    async def append_events(self, rows: Sequence[tuple[str, int, str | None, str]]) -> None:
        """Store ``(thread_id, seq, run_id, frame)`` rows in one transaction."""
        if not rows:
            return

        def write(db: sqlite3.Connection) -> None:
            self._tx(db, lambda: db.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)", rows))

        await self._call(write)

    async def read_events(self, thread_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        """``(seq, frame)`` of the events with ``after < seq <= upto``, in order."""

        def read(db: sqlite3.Connection) -> list[tuple[int, str]]:
            cur = db.execute(
                "SELECT seq, frame FROM events WHERE thread_id=? AND seq>? AND seq<=? ORDER BY seq",
                (thread_id, after, upto),
            )
            return [(int(s), str(f)) for s, f in cur]

        return await self._call(read)

    async def event_heads(self) -> dict[str, tuple[int, int]]:
        """For every thread with events: ``(first_seq, last_seq)`` still stored."""

        def read(db: sqlite3.Connection) -> dict[str, tuple[int, int]]:
            cur = db.execute("SELECT thread_id, MIN(seq), MAX(seq) FROM events GROUP BY thread_id")
            return {str(t): (int(lo), int(hi)) for t, lo, hi in cur}

        return await self._call(read)

    async def trim_events(self, thread_id: str, keep_after: int) -> None:
        """Discard the thread's events with ``seq <= keep_after``."""
        await self._call(
            lambda db: db.execute("DELETE FROM events WHERE thread_id=? AND seq<=?", (thread_id, keep_after))
        )

    # --- threads -------------------------------------------------------------------------------

    @staticmethod
    def _thread_row(record: ThreadRecord) -> tuple[Any, ...]:
        return (
            record.thread_id,
            record.graph,
            record.owner,
            record.status,
            orjson.dumps(record.interrupts),
            record.error,
            record.created_at,
            record.updated_at,
        )

    async def save_thread(self, record: ThreadRecord) -> None:
        """Insert or update one thread record."""
        row = self._thread_row(record)
        await self._call(lambda db: db.execute("INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row))

    async def load_threads(self) -> list[ThreadRecord]:
        """Every thread record."""

        def read(db: sqlite3.Connection) -> list[ThreadRecord]:
            cur = db.execute(
                "SELECT thread_id, graph, owner, status, interrupts, error, created_at, updated_at FROM threads"
            )
            return [
                ThreadRecord(
                    thread_id=t, graph=g, owner=o, status=s, interrupts=orjson.loads(i), error=e,
                    created_at=c, updated_at=u,
                )
                for t, g, o, s, i, e, c, u in cur
            ]

        return await self._call(read)

    # --- runs ----------------------------------------------------------------------------------

    async def save_run(self, run: RunRecord) -> None:
        """Insert or update a queued or running run."""
        row = (run.run_id, run.thread_id, run.kind, run.status, orjson.dumps(run.params), run.created_at)
        await self._call(lambda db: db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)", row))

    async def finish_run(self, run_id: str, thread: ThreadRecord | None = None) -> None:
        """Forget a run that reached its terminal event (and save its thread's record, in the
        same transaction)."""
        row = None if thread is None else self._thread_row(thread)

        def write(db: sqlite3.Connection) -> None:
            def both() -> None:
                db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
                if row is not None:
                    db.execute("INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

            self._tx(db, both)

        await self._call(write)

    async def load_runs(self) -> list[RunRecord]:
        """Runs left queued or running (by a previous process), oldest first."""

        def read(db: sqlite3.Connection) -> list[RunRecord]:
            cur = db.execute(
                "SELECT run_id, thread_id, kind, status, params, created_at FROM runs ORDER BY created_at, rowid"
            )
            return [RunRecord(r, t, k, s, orjson.loads(p), c) for r, t, k, s, p, c in cur]

        return await self._call(read)

    # --- answers -------------------------------------------------------------------------------

    async def add_answered(self, thread_id: str, interrupt_ids: Iterable[str], run: RunRecord | None = None) -> None:
        """Remember that these interrupts were answered (for ``already_answered`` after a
        restart), and save ``run`` in the same transaction."""
        rows = [(thread_id, i) for i in interrupt_ids]
        run_row = None if run is None else (run.run_id, run.thread_id, run.kind, run.status, orjson.dumps(run.params), run.created_at)

        def write(db: sqlite3.Connection) -> None:
            def both() -> None:
                db.executemany("INSERT OR IGNORE INTO answered VALUES (?, ?)", rows)
                if run_row is not None:
                    db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)", run_row)

            self._tx(db, both)

        await self._call(write)

    async def answered_among(self, thread_id: str, interrupt_ids: Sequence[str]) -> list[str]:
        """Which of ``interrupt_ids`` were answered already."""
        ids = list(interrupt_ids)
        if not ids:
            return []

        def read(db: sqlite3.Connection) -> list[str]:
            marks = ",".join("?" * len(ids))
            cur = db.execute(
                f"SELECT interrupt_id FROM answered WHERE thread_id=? AND interrupt_id IN ({marks})",
                (thread_id, *ids),
            )
            found = {str(r[0]) for r in cur}
            return [i for i in ids if i in found]

        return await self._call(read)
