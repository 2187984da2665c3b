"""PostgresStorage: the storage interface in one PostgreSQL database (psycopg 3, psycopg_pool).

Connections:

- the *writer* is one connection of its own. It commits :class:`~.records.Write` batches through
  :class:`~.group.GroupCommit`, like the SQLite backend: one transaction per batch, each write in
  its own savepoint when the batch holds more than one. It is a sync psycopg connection used from
  a worker thread, on asyncio and on trio alike (one commit at a time, so one thread at a time).
- *reads* go to a pool: psycopg's ``AsyncConnectionPool`` on asyncio, its sync ``ConnectionPool``
  with each read run whole in a worker thread on trio (psycopg's async connections work on
  asyncio only). These are the library's PostgresSaver drivers
  (:mod:`streamhil.checkpoint._postgres_drivers`). Under MVCC a read sees the last committed
  state and never waits for the writer's transaction.

Checkpoints use the library's own tables and statements (:mod:`streamhil.checkpoint._postgres_sql`),
so a database written by the server holds ordinary PostgresSaver checkpoints.

Several processes on one database: a transaction that stores events also sends
``NOTIFY streamhil_events, '<thread_id>:<last seq>'`` (delivered at commit). :meth:`follow` keeps a
connection that listens (``LISTEN``) and tells the hub, which reads the events from the table: the table
is the truth, a notification only says there is more. After (re)connecting, and every
``poll_interval`` seconds, it says "any thread" so that a lost wake-up is caught up. The server's
tables, versioned in ``streamhil_server_migrations``::

    streamhil_meta(key, value)                   the epoch of the event logs
    streamhil_threads(thread_id, graph, owner, status, interrupts, error, created_at,
                      updated_at, metadata, n_interrupts)
    streamhil_events(thread_id, seq, run_id, frame)
    streamhil_runs(n, run_id, thread_id, kind, status, params, created_at, ended_at)
    streamhil_answered(thread_id, interrupt_id)
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict
from functools import partial
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import orjson
import psycopg
from streamhil.checkpoint import _postgres_sql as sql
from streamhil.checkpoint._postgres_drivers import ADAPTERS, AsyncPoolDriver, ThreadPoolDriver, describe, run_sync
from streamhil.checkpoint._postgres_schema import ensure_schema
from streamhil.checkpoint._postgres_sql import Mode, Sql, TextArray, Tx
from streamhil.checkpoint._records import Address, ListScope, StoredCheckpoint
from streamhil.errors import CheckpointError

from . import postgres_coordination as pgc
from . import postgres_sql as pg
from .postgres_sql import SchemaError, SchemaTooNewError
from .base import (
    AnswerConflictError, LeaseLostError, Loaded, Storage, StorageClosedError, ThreadCounts, written_threads,
)
from .group import GroupCommit, run_callbacks
from .health import StorageHealth, StorageUnavailableError
from .postgres_availability import PostgresAvailability, connection_problem, resource_problem
from .postgres_cluster import PostgresCluster
from .records import OPEN_RUN_STATUSES, RunRecord, RunStatus, ThreadRecord, Write

__all__ = [
    "PostgresStorage", "SchemaError", "SchemaTooNewError", "DatabaseUnavailableError", "MIGRATIONS", "SCHEMA_VERSION",
    "is_postgres_url",
]

CHANNEL, MIGRATIONS, SCHEMA_VERSION = pg.CHANNEL, pg.MIGRATIONS, pg.SCHEMA_VERSION

T = TypeVar("T")
logger = logging.getLogger("streamhil_server.storage")
_PAGE = 50
_KNOWN_CHECKPOINTS = 4096
"""Checkpoints this process saved, remembered so a child's save needs no read of its parent."""

FREEZE_HOOK = "STREAMHIL_TEST_FREEZE_IN_TRANSACTION"
"""For tests only: the writer stops for good inside the transaction of the first write with an
event whose frame contains this text, before ``COMMIT`` (having printed ``frozen in a
transaction``): a process frozen mid-transaction, holding its lease rows' locks."""


def _freeze_for_tests(text: str, batch: list[Write]) -> None:
    if any(text in event.frame for write in batch for event in write.events):
        print("frozen in a transaction", flush=True)
        threading.Event().wait()


def with_session_settings(url: str, settings: Mapping[str, str]) -> str:
    """``url`` as a connection string whose sessions start with these settings (added to the
    ``options`` it may have)."""
    parts = psycopg.conninfo.conninfo_to_dict(url)
    extra = " ".join(f"-c {name}={value}" for name, value in settings.items())
    parts["options"] = f"{parts['options']} {extra}" if parts.get("options") else extra
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


def is_postgres_url(db: str) -> bool:
    """Whether ``db`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return db.startswith(("postgresql://", "postgres://"))


class DatabaseUnavailableError(RuntimeError):
    """The database could not be reached or refused the login (the message has no password)."""


class PostgresStorage(PostgresCluster, PostgresAvailability, Storage):
    """The server's state in the PostgreSQL database ``url`` (tables created if missing)."""

    durable = True
    sql_dialect = "postgres"

    def __init__(
        self, url: str, *, pool_size: int = 8, timeout: float = 30.0, prepare: bool = True, poll_interval: float = 30.0,
        shared: bool = False, lease_ttl: float = 6.0,
    ) -> None:
        """``shared``: other processes serve the same threads, so every write of a thread needs
        its lease (the server sets it; without it this process acts as the database's only user)."""
        self.url = url
        if not 0.2 <= lease_ttl <= 3600:
            raise ValueError(f"lease_ttl must be between 0.2 and 3600 seconds, got {lease_ttl!r}")
        self.transaction_limit = max(1.0, lease_ttl / 2) if shared else None
        """Seconds a session of this process may sit idle inside a transaction, and a takeover
        may wait for a lease row's lock, before PostgreSQL ends it (several processes only): a
        process frozen mid-transaction (stopped, swapped out) holds the lock of its threads'
        lease rows, so without it a takeover would wait until its TCP connection died."""
        self._conninfo = url if self.transaction_limit is None else with_session_settings(
            url, {"idle_in_transaction_session_timeout": f"{int(self.transaction_limit * 1000)}"}
        )
        self.poll_interval = poll_interval
        """Seconds between "any thread" wake-ups of :meth:`follow` (the net under lost notifications)."""
        self.where = describe(url)
        self.pool_size = pool_size
        self.timeout = timeout
        self.prepare = prepare
        self._writer: psycopg.Connection[Any] | None = None
        self._writer_lock = threading.Lock()
        self._reads: AsyncPoolDriver | ThreadPoolDriver | None = None
        self._known: OrderedDict[tuple[str, str, str], StoredCheckpoint] = OrderedDict()
        self._group = GroupCommit(self._commit)
        self._freeze_on = os.environ.get(FREEZE_HOOK) or None
        self.lease_ttl = lease_ttl
        self.shared = shared
        self.lease_owner = f"p-{uuid.uuid4().hex[:16]}"
        self.leases = pgc.LeaseBook(self.lease_owner, lease_ttl)
        self._acquiring: dict[str, anyio.Event] = {}
        self._inbox = pgc.PostgresInbox(self.lease_owner, partial(self._read_with, None))
        self.inbox = self._inbox
        self._health = StorageHealth(f"PostgreSQL {self.where}")

    def __repr__(self) -> str:
        return f"PostgresStorage({self.where!r})"

    @property
    def batches(self) -> int:
        """Commits made so far (each may hold several writes)."""
        return self._group.batches

    @property
    def writes(self) -> int:
        return self._group.writes

    @property
    def reads_on_threads(self) -> bool:
        """True when reads use the sync pool in worker threads (trio), False for the async pool."""
        return isinstance(self._reads, ThreadPoolDriver)

    # --- opening -------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._writer = await anyio.to_thread.run_sync(self._connect_and_migrate)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(f"cannot open PostgreSQL at {self.where}: {exc}") from None
        self.epoch = await anyio.to_thread.run_sync(self._run_writer, pg.load_epoch)
        try:
            self._reads = await self._open_reads()
        except BaseException:
            await self.aclose()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.Connection.connect(
            self._conninfo, autocommit=True, context=ADAPTERS, connect_timeout=max(2, int(self.timeout))
        )

    def _connect_and_migrate(self) -> psycopg.Connection[Any]:
        conn = self._connect()
        try:
            try:
                run_sync(conn, ensure_schema(self.where), "tx", False)  # the checkpoint tables
                run_sync(conn, pg.ensure_server_schema(self.where), "tx", False)
            except CheckpointError as exc:  # (here only the refusal of a newer checkpoint schema)
                raise SchemaTooNewError(f"PostgreSQL {exc}") from None
            except (psycopg.errors.InvalidSchemaName, psycopg.errors.InsufficientPrivilege) as exc:
                raise self._schema_error(conn, exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _schema_error(self, conn: psycopg.Connection[Any], exc: psycopg.Error) -> SchemaError:
        """Why the tables could not be created, and what to do, in one line."""
        try:
            path = str(conn.execute("SHOW search_path").fetchone()[0])  # type: ignore[index]
        except psycopg.Error:
            path = "?"
        if isinstance(exc, psycopg.errors.InvalidSchemaName):
            return SchemaError(pg.missing_schema(self.where, path))
        reason = " ".join(str(exc).split("\n")[0].split())
        return SchemaError(
            f"PostgreSQL {self.where}: this role may not create or migrate streamhil's tables in its schema "
            f"(search_path {path}): {reason}; grant it CREATE on the schema, or start once with a role that may"
        )

    def _run_writer(self, make_tx: Callable[[], Tx[T]]) -> T:
        with self._writer_lock:
            conn = self._writer_connection()
            return run_sync(conn, make_tx(), "tx", self.prepare)

    def _writer_connection(self) -> psycopg.Connection[Any]:
        """The writer, connected again if the last one was lost (server restart, failover)."""
        conn = self._writer
        if conn is None:
            raise StorageClosedError(f"{self!r} was closed")
        if conn.closed or conn.broken:
            conn.close()
            conn = self._writer = self._connect()
        return conn

    async def aclose(self) -> None:
        writer, reads, self._writer, self._reads = self._writer, self._reads, None, None
        with anyio.CancelScope(shield=True):
            if reads is not None:
                await self._close_reads(reads)
            if writer is not None:
                await anyio.to_thread.run_sync(self._close_writer, writer)

    def _close_writer(self, writer: psycopg.Connection[Any]) -> None:
        with self._writer_lock:  # after a commit under way
            writer.close()

    # --- writing -------------------------------------------------------------------------------

    async def write(self, write: Write) -> None:
        if self._writer is None:
            raise StorageClosedError(f"{self!r} is not open; use 'async with' first")
        if not self.health.available:  # refused at once, as if tried: its parts go back where they came from
            error = self.health.error()
            run_callbacks(write, error)
            raise error
        try:
            await self._group.submit(write)
        except LeaseLostError as exc:
            self._lost(exc.thread_ids)
            raise
        except psycopg.Error as exc:
            problem = connection_problem(exc)
            if problem is not None:
                self.health.lost(problem)  # (refused at once until the watcher finds it back)
            else:
                problem = resource_problem(exc)  # (it answers: only this write waits, then tries again)
                if problem is None:
                    raise
            raise StorageUnavailableError(f"the storage at PostgreSQL {self.where} is unavailable ({problem})") from exc

    def _commit(self, batch: list[Write]) -> list[BaseException | None]:
        """One transaction for the batch. A connection lost during ``COMMIT`` leaves its outcome
        unknown: it is looked up (:meth:`committed_after_all`), and a transaction that did commit
        counts as stored."""
        with self._writer_lock:
            conn, xid = self._begin()
            try:
                errors, saved = self._apply_batch(conn, batch)
                if self._freeze_on is not None:
                    _freeze_for_tests(self._freeze_on, batch)
            except BaseException:
                if not (conn.closed or conn.broken):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except psycopg.OperationalError:
                if not (conn.closed or conn.broken) or not self.committed_after_all(xid):
                    raise  # refused, rolled back, or still unknown
                logger.warning("the connection to %s was lost during a COMMIT, which had been made", self.where)
            self._note_saved(batch, saved, errors)
            return errors

    def _begin(self) -> tuple[psycopg.Connection[Any], int]:
        """The writer, in a new transaction, and the transaction's id (to look its outcome up if
        the connection is lost during ``COMMIT``). A connection found lost at ``BEGIN`` (the
        server restarted, the backend was killed while idle) is replaced once: nothing was sent
        yet. (``BEGIN`` is its own round trip for that reason: sent in a pipeline with the
        statements, a loss could show only after ``COMMIT`` was queued.)"""
        for attempt in (1, 2):
            conn = self._writer_connection()
            try:
                cursor = conn.execute("BEGIN; SELECT txid_current()")  # one round trip
                cursor.nextset()
                row = cursor.fetchone()
            except psycopg.OperationalError:
                if attempt == 2 or not (conn.closed or conn.broken):
                    raise
            else:
                assert row is not None
                return conn, int(row[0])
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_batch(
        self, conn: psycopg.Connection[Any], batch: list[Write]
    ) -> tuple[list[BaseException | None], list[StoredCheckpoint | None]]:
        """Every write of the batch. Several are first made together under one savepoint; if one
        of them fails, that is undone and each is made again in a savepoint of its own, so only
        the failing one fails (a savepoint per write costs two round trips, and failures are rare)."""
        if len(batch) == 1:
            return [None], [self._apply_one(conn, batch[0])]
        try:
            with conn.transaction():
                # one fence for the lot (the first write carries it); if it fails, each write
                # is made again below with its own, and only those of lost threads fail
                fenced: set[str] = set().union(*(written_threads(w) for w in batch)) if self.shared else set()
                together = [
                    self._apply_one(conn, write, fenced if n == 0 else set()) for n, write in enumerate(batch)
                ]
        except Exception:
            if conn.closed or conn.broken:
                raise
        else:
            return [None] * len(batch), together
        errors: list[BaseException | None] = []
        saved: list[StoredCheckpoint | None] = []
        for write in batch:
            try:
                with conn.transaction():  # a savepoint, inside the batch's transaction
                    saved.append(self._apply_one(conn, write))
            except psycopg.OperationalError as exc:
                if conn.closed or conn.broken:
                    raise  # the connection, not this write: the whole batch fails
                errors.append(exc)
                saved.append(None)
            except Exception as exc:
                errors.append(exc)
                saved.append(None)
            else:
                errors.append(None)
        return errors, saved

    def _apply_one(
        self, conn: psycopg.Connection[Any], write: Write, threads: set[str] | None = None
    ) -> StoredCheckpoint | None:
        """One write's statements, behind the check of its threads' leases (their fence; or of
        ``threads``, when the batch's writes are fenced together)."""
        if threads is None:
            threads = written_threads(write) if self.shared else set()
        fenced = sorted(threads)
        missing = [t for t in fenced if t not in self.leases.held]
        if missing:
            raise LeaseLostError(missing)
        fence = pgc.fence_statement(fenced, self.leases) if fenced else None
        try:
            stored = run_sync(conn, pg.apply_write(write, self._known, fence), None, self.prepare)
            for statement in write.sql:  # modules' own tables (thread metadata, run records)
                statement(conn)
            return stored
        except psycopg.Error as exc:
            if exc.sqlstate == pgc.FENCE_SQLSTATE:
                raise LeaseLostError(fenced) from None
            if isinstance(exc, psycopg.errors.UniqueViolation) and "streamhil_answered" in str(exc.diag.constraint_name):
                raise AnswerConflictError(f"an interrupt of thread {write.thread_id} was already answered") from None
            raise

    def _note_saved(
        self, batch: list[Write], saved: list[StoredCheckpoint | None], errors: list[BaseException | None]
    ) -> None:
        """After a commit: remember the checkpoints saved, forget those of deleted threads."""
        forgotten: set[str] = set()
        for write, stored, error in zip(batch, saved, errors, strict=True):
            if error is not None:
                continue
            forgotten.update(write.forget_threads)
            if stored is not None:
                self._remember(stored)
        if forgotten:
            for key in [k for k in self._known if k[0] in forgotten]:
                del self._known[key]

    def _remember(self, stored: StoredCheckpoint) -> None:
        key = (stored.thread_id, stored.checkpoint_ns, stored.checkpoint_id)
        self._known[key] = stored
        self._known.move_to_end(key)
        while len(self._known) > _KNOWN_CHECKPOINTS:
            self._known.popitem(last=False)

    # --- reading -------------------------------------------------------------------------------

    async def _read(self, make_tx: Callable[[], Tx[T]]) -> T:
        return await self._read_with(None, make_tx)

    async def _read_with(self, mode: Mode, make_tx: Callable[[], Tx[T]]) -> T:
        reads = self._reads
        if reads is None:
            raise StorageClosedError(f"{self!r} is not open; use 'async with' first")
        self.health.check()
        try:
            return await reads.run(make_tx, mode)
        except Exception as exc:
            problem = connection_problem(exc.__cause__ if isinstance(exc, CheckpointError) else exc)
            if self._reads is None:
                raise StorageClosedError(f"{self!r} was closed") from exc
            if problem is None and (reads is self._reads and self.health.available):
                raise  # the statement's own error
            if reads is self._reads:  # (not a pool retired meanwhile)
                self.health.lost(problem or f"{type(exc).__name__}: {exc}")
            reason = problem or self.health.reason or "its read pool was replaced while the read waited"
            raise StorageUnavailableError(f"the storage at PostgreSQL {self.where} is unavailable ({reason})") from exc

    async def get_checkpoint(self, address: Address) -> Loaded | None:
        return await self._read(lambda: sql.get_tuple(address))

    async def list_checkpoints(
        self,
        scope: ListScope,
        *,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Loaded]:
        cursor: sql.Cursor | None = None
        if before is not None:  # strictly below ``before`` (every thread: below its id, any thread)
            cursor = (before, "", "")
        remaining = limit
        while remaining is None or remaining > 0:
            want = _PAGE if remaining is None else min(remaining, _PAGE)
            after = cursor
            page, cursor = await self._read(partial(sql.list_page, scope, after, filter, want, _PAGE))
            for loaded in page:
                yield loaded
            if remaining is not None:
                remaining -= len(page)
            if cursor is None:
                return

    async def load_thread(self, thread_id: str) -> ThreadRecord | None:
        rows = await self._read(lambda: pg.rows_of(Sql(pg.SELECT_THREAD + " WHERE thread_id = %s", (thread_id,))))
        return pg.thread_from_row(rows[0]) if rows else None

    async def load_threads(self, thread_ids: Sequence[str]) -> list[ThreadRecord]:
        if not thread_ids:
            return []
        query = pg.SELECT_THREAD + " WHERE thread_id = ANY(%b::text[])"
        rows = await self._read(lambda: pg.rows_of(Sql(query, (TextArray(list(dict.fromkeys(thread_ids))),))))
        return [pg.thread_from_row(r) for r in rows]

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
        where: list[str] = ["true"]
        params: list[Any] = []
        if owner is not None:
            where.append("owner = %s")
            params.append(owner)
        if statuses is not None:  # "running": a run is queued or running, on any process
            where.append(f"(CASE WHEN {pg.OPEN_RUN} IS NULL THEN status ELSE 'running' END) = ANY(%b::text[])")
            params.append(TextArray(statuses))
        if graph is not None:
            where.append("graph = %s")
            params.append(graph)
        if exclude:
            where.append("NOT (thread_id = ANY(%b::text[]))")
            params.append(TextArray(exclude))
        query = (
            f"{pg.SELECT_THREAD} WHERE {' AND '.join(where)}"
            " ORDER BY updated_at DESC, thread_id DESC LIMIT %s OFFSET %s"
        )
        rows = await self._read(lambda: pg.rows_of(Sql(query, (*params, limit, offset))))
        return [pg.thread_from_row(r) for r in rows]

    async def count_threads(self) -> ThreadCounts:
        rows = await self._read(lambda: pg.rows_of(Sql("SELECT count(*), coalesce(sum(n_interrupts), 0) FROM streamhil_threads")))
        return ThreadCounts(int(rows[0][0]), int(rows[0][1]))

    async def read_events(self, thread_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        rows = await self._read(lambda: pg.rows_of(Sql(
            "SELECT seq, frame FROM streamhil_events WHERE thread_id = %s AND seq > %s AND seq <= %s ORDER BY seq",
            (thread_id, after, upto),
        )))
        return [(int(s), str(f)) for s, f in rows]

    async def event_bounds(self, thread_id: str) -> tuple[int, int] | None:
        rows = await self._read(lambda: pg.rows_of(Sql(
            "SELECT min(seq), max(seq) FROM streamhil_events WHERE thread_id = %s", (thread_id,)
        )))
        lo, hi = rows[0]
        return None if hi is None else (int(lo), int(hi))

    async def load_runs(
        self, statuses: Sequence[RunStatus] = OPEN_RUN_STATUSES, thread_id: str | None = None
    ) -> list[RunRecord]:
        query = f"SELECT {pg.RUN_COLUMNS} FROM streamhil_runs WHERE status = ANY(%b::text[])"
        params: list[Any] = [TextArray(statuses)]
        if thread_id is not None:
            query += " AND thread_id = %s"
            params.append(thread_id)
        rows = await self._read(lambda: pg.rows_of(Sql(query + " ORDER BY created_at, n", params)))
        return [RunRecord(r, t, k, s, orjson.loads(p), c, e) for r, t, k, s, p, c, e in rows]

    async def answered_among(self, thread_id: str, interrupt_ids: Sequence[str]) -> list[str]:
        ids = list(interrupt_ids)
        if not ids:
            return []
        rows = await self._read(lambda: pg.rows_of(Sql(
            "SELECT interrupt_id FROM streamhil_answered WHERE thread_id = %s AND interrupt_id = ANY(%b::text[])",
            (thread_id, TextArray(ids)),
        )))
        found = {str(r[0]) for r in rows}
        return [i for i in ids if i in found]

