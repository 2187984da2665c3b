"""Run SqliteSaver's transactions: on aiosqlite under asyncio, on sqlite3 in a thread otherwise.

aiosqlite only works on asyncio, and its connection answers on the loop that awaits it, so
:class:`AioDriver` keeps one connection per event loop, opened on first use, and closes the
connections of loops that have since closed (a script calling ``graph.invoke`` in a row runs a
new loop each time). Under trio, :class:`ThreadDriver` runs each whole transaction in a worker
thread on one stdlib connection guarded by a lock; a thread lock is loop-agnostic, so that
connection outlives any loop.

On aiosqlite each whole transaction is also one trip to its connection thread: the transaction
runs there through ``Connection._execute`` (the queue every aiosqlite method goes through), on
the ``sqlite3`` connection it owns, exactly as :class:`ThreadDriver` runs it. A round trip per
statement (``BEGIN``, each query, ``COMMIT``) made a checkpoint cost 5-8 thread hand-offs, most of
a step's time. ``_execute`` is not public API, so :data:`WHOLE_TX_ON_AIOSQLITE` checks it is
there and falls back to one aiosqlite call per statement if a release removes it.

On aiosqlite, transactions of one loop's connection are also group-committed (and under trio,
those of one loop on the shared connection)
(:mod:`streamhil._group_commit`): those arriving while a batch is on the connection's thread wait
and then run together as the next batch, one ``BEGIN`` ... ``COMMIT`` with a savepoint each
(:func:`run_batch`), so one that fails is rolled back alone and every caller returns only after
the commit that holds its transaction. Fifty threads answering at once then share a few commits
instead of queueing for fifty (``python bench/run_core.py --only resume-concurrent-sqlite-lib``).

A saver given a connection (LangGraph's ``SqliteSaver(sqlite3.connect(...))`` and
``AsyncSqliteSaver(aiosqlite_connection)``) runs on it alone: :class:`ThreadDriver` on a stdlib
connection, on every loop; :class:`SharedAioDriver` on an aiosqlite connection, on every asyncio
loop (aiosqlite answers on the loop that awaits it). The caller owns such a connection: the saver
never closes it, and changes only the file's journal mode (WAL) on it (:func:`adopt_sqlite3`).

A transaction is never left half-done: the aiosqlite one runs under a shielded cancel scope,
and a worker thread always runs to the end; on an error it is rolled back.
"""

from __future__ import annotations

import inspect
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import partial
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
import anyio
import anyio.lowlevel

from .._backend import current_backend
from .._group_commit import GroupCommit
from ..errors import CheckpointError, ConfigError
from . import _sqlite_sql as sql
from ._sqlite_sql import Mode, Tx

__all__ = [
    "AioDriver",
    "SharedAioDriver",
    "adopt_sqlite3",
    "check_shareable",
    "run_batch",
    "ThreadDriver",
    "WHOLE_TX_ON_AIOSQLITE",
    "on_asyncio",
    "open_sqlite3",
    "run_async",
    "run_sync",
    "setup_sqlite3",
]

T = TypeVar("T")
_BEGIN = {"read": "BEGIN", "write": "BEGIN IMMEDIATE"}


def on_asyncio() -> bool:
    """Whether the running event loop is asyncio (otherwise it is trio)."""
    return current_backend() == "asyncio"


def _failed(exc: sqlite3.Error) -> CheckpointError:
    return CheckpointError(f"SQLite failed: {exc}")


# -- stdlib sqlite3, in worker threads -------------------------------------------------------


def run_sync(conn: sqlite3.Connection, tx: Tx[T], mode: Mode) -> T:
    """Run ``tx`` to the end on ``conn`` (one transaction unless ``mode`` is None)."""
    try:
        if mode is not None:
            conn.execute(_BEGIN[mode])
        try:
            result = _steps(conn, tx)
            if mode is not None:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result
    except sqlite3.Error as exc:
        raise _failed(exc) from exc


def _steps(conn: sqlite3.Connection, tx: Tx[T]) -> T:
    """Run ``tx``'s statements on ``conn`` (inside whatever transaction is open)."""
    try:
        op = next(tx)
        while True:
            run = conn.executemany if op.many else conn.execute
            op = tx.send(run(op.sql, op.params).fetchall())
    except StopIteration as done:
        return done.value


def run_batch(conn: sqlite3.Connection, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
    """Run several transactions as one (group commit): each in a savepoint of one ``BEGIN`` ...
    ``COMMIT``, so one that fails is rolled back alone. Returns each one's result, or the
    exception it failed with; if the transaction itself fails, that error for every one."""
    if conn.in_transaction:  # only a connection the caller gave the saver can be left like this
        busy = CheckpointError(
            "SqliteSaver's connection is inside a transaction the saver did not start; commit or "
            "roll it back before the saver uses the connection"
        )
        return [busy] * len(batch)
    if len(batch) == 1:
        tx, mode = batch[0]
        try:
            return [run_sync(conn, tx, mode)]
        except BaseException as exc:
            return [exc]
    results: list[Any] = []
    try:
        conn.execute(_BEGIN["write" if any(mode == "write" for _, mode in batch) else "read"])
        try:
            for tx, _ in batch:
                conn.execute("SAVEPOINT streamhil_tx")
                try:
                    results.append(_steps(conn, tx))
                except Exception as exc:
                    conn.execute("ROLLBACK TO streamhil_tx")
                    results.append(_failed(exc) if isinstance(exc, sqlite3.Error) else exc)
                finally:
                    tx.close()
                conn.execute("RELEASE streamhil_tx")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        return [_failed(exc)] * len(batch)
    return results


def setup_sqlite3(conn: sqlite3.Connection, path: str, busy_timeout: float) -> None:
    """Configure a new connection; check the schema, and create it (under the write lock) if new."""
    run_sync(conn, sql.configure(int(busy_timeout * 1000)), None)
    if not run_sync(conn, sql.schema_is_current(path), None):
        run_sync(conn, sql.ensure_schema(path), "write")


def open_sqlite3(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A stdlib connection, configured, with the schema checked (created if new)."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _failed(exc) from exc
    try:
        setup_sqlite3(conn, path, busy_timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def adopt_sqlite3(conn: sqlite3.Connection, name: str) -> sqlite3.Connection:
    """Ready a connection the caller opened (and keeps owning): the file in WAL mode, as LangGraph's
    saver sets it too (a file-wide setting; an in-memory database keeps its own journal), the
    schema checked and created if new. Its per-connection settings (busy timeout, ``synchronous``)
    stay the caller's. ``name`` names the database in errors."""
    run_sync(conn, sql.configure_shared(), None)
    if not run_sync(conn, sql.schema_is_current(name), None):
        run_sync(conn, sql.ensure_schema(name), "write")
    return conn


def check_shareable(conn: sqlite3.Connection) -> None:
    """Refuse a connection that only its own thread may use: the saver runs every transaction in
    a worker thread, and LangGraph's saver is documented with ``check_same_thread=False`` too."""
    refused: list[sqlite3.ProgrammingError] = []

    def probe() -> None:
        try:
            conn.cursor().close()
        except sqlite3.ProgrammingError as exc:
            refused.append(exc)

    thread = threading.Thread(target=probe, name="streamhil-sqlite-probe")
    thread.start()
    thread.join()
    if refused:
        raise ConfigError(
            "SqliteSaver runs its transactions in worker threads, so the connection must be opened "
            f"with sqlite3.connect(..., check_same_thread=False) ({refused[0]})"
        )


class ThreadDriver:
    """One sqlite3 connection; transactions run whole in a worker thread under a lock, those of
    one event loop group-committed as on aiosqlite (loops in other threads share the lock).

    The connection is ``connect()``'s, made on first use; ``owns_connection=False`` leaves it open
    on :meth:`close` (a connection the caller gave the saver)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, owns_connection: bool = True) -> None:
        self._connect = connect
        self._owns_connection = owns_connection
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._guard = threading.Lock()  # guards the table below
        self._groups: dict[int, tuple[Any, GroupCommit[tuple[Tx[Any], Mode]]]] = {}
        """Per thread: the loop running in it, and that loop's group commit."""

    async def run(self, tx: Tx[T], mode: Mode) -> T:
        result: T = await self._group().submit((tx, mode))
        return result

    def _group(self) -> GroupCommit[tuple[Tx[Any], Mode]]:
        """The group commit of the loop running in this thread (a thread runs one loop at a
        time: a loop found in the table that is not this one has ended)."""
        loop = anyio.lowlevel.current_token().native_token
        thread = threading.get_ident()
        with self._guard:
            entry = self._groups.get(thread)
            if entry is None or entry[0] is not loop:
                if entry is None:  # a new thread: forget those that have ended
                    alive = {t.ident for t in threading.enumerate()}
                    for ended in [t for t in self._groups if t not in alive]:
                        del self._groups[ended]
                entry = self._groups[thread] = (loop, GroupCommit(self._commit))
            return entry[1]

    async def _commit(self, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
        results: list[Any] = await anyio.to_thread.run_sync(self._run_batch, batch)
        return results

    def _run_batch(self, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
        with self._lock:
            if self._conn is None:
                try:
                    self._conn = self._connect()
                except BaseException as exc:
                    return [exc] * len(batch)
            return run_batch(self._conn, batch)

    def run_blocking(self, tx: Tx[T], mode: Mode) -> T:
        """Run ``tx`` in this thread (blocking), after any batch in progress."""
        result = self._run_batch([(tx, mode)])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        """Close the connection if it is the driver's own, and forget it (blocking; call from a
        worker thread inside async code)."""
        with self._lock:
            if self._conn is not None and self._owns_connection:
                self._conn.close()
            self._conn = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None


# -- aiosqlite, one connection per asyncio loop ----------------------------------------------


def _whole_tx_supported() -> bool:
    """Whether this aiosqlite has the internals :func:`run_async` uses to run a whole transaction
    on its thread: ``_execute(fn, *args)`` (a coroutine) and the ``_conn`` property."""
    execute = getattr(aiosqlite.Connection, "_execute", None)
    if not inspect.iscoroutinefunction(execute):
        return False
    params = list(inspect.signature(execute).parameters.values())
    takes_args = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return takes_args and isinstance(getattr(aiosqlite.Connection, "_conn", None), property)


WHOLE_TX_ON_AIOSQLITE = _whole_tx_supported()
"""True when each transaction is one call on aiosqlite's thread (else one call per statement)."""


def _run_on_connection_thread(db: aiosqlite.Connection, tx: Tx[T], mode: Mode) -> T:
    return run_sync(db._conn, tx, mode)


async def run_async(db: aiosqlite.Connection, tx: Tx[T], mode: Mode) -> T:
    """Run ``tx`` to the end on ``db``; call it inside a shielded scope."""
    if WHOLE_TX_ON_AIOSQLITE:
        result: T = await db._execute(_run_on_connection_thread, db, tx, mode)
        return result
    return await run_stepwise(db, tx, mode)


async def run_stepwise(db: aiosqlite.Connection, tx: Tx[T], mode: Mode) -> T:
    """Run ``tx`` on ``db`` through aiosqlite's public API, one call per statement."""
    try:
        if mode is not None:
            await db.execute(_BEGIN[mode])
        try:
            op = next(tx)
            while True:
                if op.many:
                    await db.executemany(op.sql, op.params)
                    rows: list[Any] = []
                else:
                    rows = list(await db.execute_fetchall(op.sql, op.params))
                op = tx.send(rows)
        except StopIteration as done:
            if mode is not None:
                await db.execute("COMMIT")
            return done.value
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise _failed(exc) from exc


@dataclass(eq=False)
class _LoopConnection:
    loop: Any  # the asyncio loop (anyio's native token for it)
    lock: anyio.Lock  # guards opening the connection
    db: aiosqlite.Connection | None = None
    group: GroupCommit[tuple[Tx[Any], Mode]] = field(init=False)
    """Transactions on this connection: those arriving while one commits share the next."""


async def _commit_batch(entry: _LoopConnection, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
    assert entry.db is not None
    return await _commit_on(entry.db, batch)


async def _commit_on(db: aiosqlite.Connection, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
    """One trip to aiosqlite's thread for the whole batch (one transaction, a savepoint each)."""
    if WHOLE_TX_ON_AIOSQLITE:
        results: list[Any] = await db._execute(_run_batch_on_connection_thread, db, batch)
        return results
    outcome: list[Any] = []
    for tx, mode in batch:  # aiosqlite without the internals: one transaction each
        try:
            outcome.append(await run_stepwise(db, tx, mode))
        except Exception as exc:
            outcome.append(exc)
    return outcome


def _run_batch_on_connection_thread(db: aiosqlite.Connection, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
    return run_batch(db._conn, batch)


class AioDriver:
    """aiosqlite connections, one per live asyncio loop, opened on first use."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._guard = threading.Lock()  # the table below is shared by loops in other threads
        self._by_loop: dict[int, _LoopConnection] = {}

    async def run(self, tx: Tx[T], mode: Mode) -> T:
        entry, stale = self._entry()
        if stale or entry.db is None:
            async with entry.lock:
                with anyio.CancelScope(shield=True):
                    try:
                        if entry.db is None:
                            entry.db = await self._open()
                    finally:
                        # Dead loops' connections are closed only once this loop's is open:
                        # closing a file's last connection makes SQLite checkpoint and delete
                        # the WAL, which the next connection would recreate (a sync invoke runs
                        # a new loop each time).
                        for old in stale:
                            if old.db is not None:
                                await old.db.close()
        result: T = await entry.group.submit((tx, mode))
        return result

    def _entry(self) -> tuple[_LoopConnection, list[_LoopConnection]]:
        """This loop's entry, and the entries of closed loops (removed; close them)."""
        loop = anyio.lowlevel.current_token().native_token
        with self._guard:
            entry = self._by_loop.get(id(loop))
            if entry is not None:
                return entry, []
            entry = self._by_loop[id(loop)] = _LoopConnection(loop, anyio.Lock())
            entry.group = GroupCommit(partial(_commit_batch, entry))
            stale = [e for e in self._by_loop.values() if e.loop.is_closed()]
            for old in stale:
                del self._by_loop[id(old.loop)]
        return entry, stale

    async def _open(self) -> aiosqlite.Connection:
        try:
            db = await aiosqlite.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        try:
            if WHOLE_TX_ON_AIOSQLITE:
                await db._execute(self._setup_on_connection_thread, db)
            else:
                await run_stepwise(db, sql.configure(int(self._busy_timeout * 1000)), None)
                if not await run_stepwise(db, sql.schema_is_current(self._path), None):
                    await run_stepwise(db, sql.ensure_schema(self._path), "write")
        except BaseException:
            await db.close()
            raise
        return db

    def _setup_on_connection_thread(self, db: aiosqlite.Connection) -> None:
        setup_sqlite3(db._conn, self._path, self._busy_timeout)

    @property
    def connection_count(self) -> int:
        """Open connections (one per loop that used this saver and is not known closed)."""
        return sum(1 for e in self._by_loop.values() if e.db is not None)

    async def aclose(self) -> None:
        """Close every connection; call it on an asyncio loop."""
        with self._guard:
            entries = list(self._by_loop.values())
            self._by_loop.clear()
        with anyio.CancelScope(shield=True):
            for entry in entries:
                if entry.db is not None:
                    await entry.db.close()



class SharedAioDriver:
    """An aiosqlite connection the caller opened and owns, used from any asyncio loop; each loop's
    transactions are group-committed, each batch one trip to the connection's thread."""

    def __init__(self, db: aiosqlite.Connection, name: str) -> None:
        self._db = db
        self._name = name
        self._ready = False
        self._guard = threading.Lock()
        self._groups: dict[int, tuple[Any, GroupCommit[tuple[Tx[Any], Mode]]]] = {}
        """Per loop id: the loop and its group commit (loops that closed are dropped)."""

    async def run(self, tx: Tx[T], mode: Mode) -> T:
        if not self._ready:
            with anyio.CancelScope(shield=True):
                await self._adopt()
        result: T = await self._group().submit((tx, mode))
        return result

    def _group(self) -> GroupCommit[tuple[Tx[Any], Mode]]:
        loop = anyio.lowlevel.current_token().native_token
        with self._guard:
            entry = self._groups.get(id(loop))
            if entry is None or entry[0] is not loop:
                for key in [k for k, (old, _) in self._groups.items() if old.is_closed()]:
                    del self._groups[key]
                entry = self._groups[id(loop)] = (loop, GroupCommit(self._commit))
            return entry[1]

    async def _adopt(self) -> None:
        """Start the connection if the caller has not awaited it yet, then ready it (idempotent:
        two loops doing it at once is harmless)."""
        try:
            _ = self._db.in_transaction  # raises ValueError until the connection is started
        except ValueError:
            try:
                await self._db
            except RuntimeError as exc:  # its thread was started and has ended: closed
                raise CheckpointError(f"the aiosqlite connection given to SqliteSaver is closed ({exc})") from exc
        try:
            if WHOLE_TX_ON_AIOSQLITE:
                await self._db._execute(adopt_sqlite3, self._db._conn, self._name)
            else:
                await run_stepwise(self._db, sql.configure_shared(), None)
                if not await run_stepwise(self._db, sql.schema_is_current(self._name), None):
                    await run_stepwise(self._db, sql.ensure_schema(self._name), "write")
        except ValueError as exc:  # aiosqlite's "Connection closed"
            raise CheckpointError(f"the aiosqlite connection given to SqliteSaver is closed ({exc})") from exc
        self._ready = True

    async def _commit(self, batch: list[tuple[Tx[Any], Mode]]) -> list[Any]:
        try:
            return await _commit_on(self._db, batch)
        except ValueError as exc:  # aiosqlite's "Connection closed"
            closed = CheckpointError(f"the aiosqlite connection given to SqliteSaver is closed ({exc})")
            return [closed] * len(batch)
