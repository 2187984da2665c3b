"""Run PostgresSaver's statements on psycopg 3: an async pool on asyncio, a sync pool elsewhere.

psycopg's async connections work on asyncio only, and a ``psycopg_pool.AsyncConnectionPool``
belongs to the event loop that opened it (its connections and workers live there).
:class:`AsyncPoolDriver` is that pool, used only from its own loop. :class:`ThreadPoolDriver` is a
sync ``psycopg_pool.ConnectionPool`` whose ``run`` calls run whole in a worker thread
(``anyio.to_thread.run_sync``); it serves trio, and any asyncio loop other than the one the async
pool belongs to (a script calling ``graph.invoke`` runs a new loop each time). Both drivers'
``run_batch`` (below) runs on the calling loop instead, with no worker thread.

Every connection is in autocommit: an operation is a series of single statements, each atomic
(see :mod:`._postgres_sql`); only the migration runs in a transaction. Statements with
parameters are prepared on first use on each connection and read back in binary.

A statement that has started is finished even if the caller is cancelled (a shielded scope on
asyncio; a worker thread always runs to the end). A call whose connection is lost (the server
restarted, a backend was killed) is made again on a new connection; see ``_ATTEMPTS``.

Group commit (``run_batch``): PostgresSaver hands the drivers batches of operations that arrived
together (:mod:`streamhil._group_commit`). A batch of one runs as ``run`` would, in autocommit. A
larger batch advances its operations in step, each round trip one pipeline with one ``Sync`` (so
one implicit transaction, one WAL flush for all of them); if anything in it fails, that round is
rolled back whole and each operation is then run alone, so only the one at fault fails. Every
operation is idempotent, so running again what a failed round had done changes nothing.
Batches run on a connection the driver keeps checked out between batches (``_take`` /
``_give_back``; not with a pool of one, whose only connection lists need too), and their
statements go through :mod:`._postgres_wire` on the running loop: on trio too, with no worker
thread. psycopg's ``execute`` and a pool checkout per call cost as much client CPU as the
statement itself.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from . import _postgres_sql as sql
from . import _postgres_wire as wire
from ._postgres_codecs import ADAPTERS
from ._postgres_common import describe, failed, has_rows, statement_options
from ._postgres_schema import ensure_schema
from ._postgres_sql import Mode, Tx

try:
    import psycopg
    import psycopg_pool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'streamhil[postgres]'"
    ) from exc

__all__ = ["AsyncPoolDriver", "ThreadPoolDriver", "ADAPTERS", "describe", "failed", "run_alone_native", "run_together_native"]

T = TypeVar("T")
Maker = Callable[[], Tx[Any]]
"""Builds an operation's generator (again from the start when it must be run again)."""
_IDLE = psycopg.pq.TransactionStatus.IDLE


_ATTEMPTS = (1, 2, 3)
"""A call whose connection was lost is made again (twice at most), on another connection, after
the pool has dropped its other dead connections (``check()``; a connection the pool was still
adding when the server dropped them all is only in the pool by the next check, hence a third
attempt): every statement is idempotent (saves are upserts, a delete repeats until nothing is left, reads read), so
running again one that did commit before the connection went changes nothing."""


def _lost(exc: Exception, conn: Any) -> bool:
    """Whether ``exc`` is the connection going away (server restart, failover, a killed backend):
    a connection exception (SQLSTATE 08...), a shutdown (57P...), or a connection psycopg found
    broken. Not a statement timeout or a cancel (57014), which would only happen again."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return state.startswith(("08", "57P")) or (conn is not None and (conn.broken or conn.closed))


# -- sync connections, in worker threads -------------------------------------------------------


def run_sync(conn: psycopg.Connection[Any], tx: Tx[T], mode: Mode, prepare: bool) -> T:
    """Run ``tx`` to the end on ``conn`` (in one transaction when ``mode`` is ``"tx"``)."""
    if mode == "tx":
        with conn.transaction():
            return _drive_sync(conn, tx, prepare)
    return _drive_sync(conn, tx, prepare)


def _drive_sync(conn: psycopg.Connection[Any], tx: Tx[T], prepare: bool) -> T:
    try:
        op = next(tx)
        while True:
            if isinstance(op, sql.Batch):
                with conn.pipeline():
                    cursors = [
                        conn.execute(one.sql, one.params or None, **statement_options(one, prepare))
                        for one in op.statements
                    ]
                op = tx.send([cursor.fetchall() if has_rows(cursor) else [] for cursor in cursors])
            else:
                cursor = conn.execute(op.sql, op.params or None, **statement_options(op, prepare))
                op = tx.send(cursor.fetchall() if has_rows(cursor) else [])
    except StopIteration as done:
        return done.value


def _statements(op: sql.Sql | sql.Batch) -> tuple[sql.Sql, ...]:
    return op.statements if isinstance(op, sql.Batch) else (op,)


def _start(txs: list[Tx[Any]], results: list[Any]) -> list[tuple[int, sql.Sql | sql.Batch]]:
    """The first statement of each operation (one that yields none is done at once)."""
    pending = []
    for index, tx in enumerate(txs):
        try:
            pending.append((index, next(tx)))
        except StopIteration as done:
            results[index] = done.value
    return pending


def _advance(tx: Tx[Any], op: sql.Sql | sql.Batch, rows: list[Any], index: int, results: list[Any], pending: list[Any]) -> None:
    """Send ``rows`` to ``tx``; note its next statement, or its result when it is done."""
    try:
        pending.append((index, tx.send(rows if isinstance(op, sql.Batch) else rows[0])))
    except StopIteration as done:
        results[index] = done.value


async def run_together_native(conn: Any, makers: list[Maker], prepare: bool) -> list[Any]:
    """Run the operations ``makers`` build together, advancing them in step: each round trip
    carries the next statement(s) of every one not yet done, as one
    :func:`~._postgres_wire.execute_batch` (one implicit transaction, one commit). Most
    operations are one statement, so a batch is usually one round trip and one commit. Each
    operation's statements are atomic one by one (they run in autocommit when alone), so a
    commit per round keeps every promise a lone call makes. Any error is raised: the round
    that failed is rolled back whole, and the caller then runs each operation alone."""
    txs = [make() for make in makers]
    results: list[Any] = [None] * len(txs)
    try:
        pending = _start(txs, results)
        while pending:
            statements = [one for _, op in pending for one in _statements(op)]
            for one in statements:
                statement_options(one, prepare)
            rows = await wire.execute_batch(conn, statements, prepare)
            was, pending, position = pending, [], 0
            for index, op in was:
                count = len(_statements(op))
                _advance(txs[index], op, rows[position : position + count], index, results, pending)
                position += count
    finally:
        for tx in txs:
            tx.close()
    return results


# -- one operation on this loop, statement by statement (group commit's lone calls) -------------

async def run_alone_native(conn: Any, make: Maker, prepare: bool) -> Any:
    """Run one operation in autocommit as ``run`` does, but through :mod:`._postgres_wire` on
    the running loop (asyncio or trio, a sync or an async connection): a statement with
    :func:`~._postgres_wire.execute`, a :class:`~._postgres_sql.Batch` with
    :func:`~._postgres_wire.execute_batch` (one implicit transaction, as psycopg's pipeline)."""
    tx = make()
    try:
        op = next(tx)
        while True:
            if isinstance(op, sql.Batch):
                for one in op.statements:
                    statement_options(one, prepare)
                op = tx.send(await wire.execute_batch(conn, op.statements, prepare))
            else:
                op = tx.send(await wire.execute(conn, op, statement_options(op, prepare).get("prepare", False)))
    except StopIteration as done:
        return done.value
    finally:
        tx.close()


async def _run_batch(on_kept: Callable[[Any], Awaitable[Any]], makers: list[Maker], prepare: bool) -> list[Any]:
    """A batch together (:func:`run_together_native`) on the connection ``on_kept`` lends; if
    that fails, each operation alone, so only the one at fault fails."""
    if len(makers) > 1:
        try:
            together: list[Any] = await on_kept(partial(run_together_native, makers=makers, prepare=prepare))
            return together
        except Exception:  # the failed round was rolled back whole: each alone, below
            pass
    results: list[Any] = []
    for make in makers:
        try:
            results.append(await on_kept(partial(run_alone_native, make=make, prepare=prepare)))
        except Exception as exc:
            results.append(exc)
    return results


class ThreadPoolDriver:
    """A sync pool, opened on first use; each operation runs whole in a worker thread."""

    def __init__(self, conninfo: str, *, max_size: int, timeout: float, prepare: bool) -> None:
        self._conninfo = conninfo
        self._where = describe(conninfo)
        self._max_size = max_size
        self._timeout = timeout
        self._prepare = prepare
        self._lock = threading.Lock()
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        self._kept: psycopg.Connection[Any] | None = None
        """A connection kept checked out between batches (see :meth:`run_batch`)."""

    async def run(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        return await anyio.to_thread.run_sync(self.run_blocking, make_tx, mode)

    def run_blocking(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        for attempt in _ATTEMPTS:
            tx = make_tx()
            conn: psycopg.Connection[Any] | None = None
            try:
                pool = self.open()
                with pool.connection(timeout=self._timeout) as conn:
                    return run_sync(conn, tx, mode, self._prepare)
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                if attempt == _ATTEMPTS[-1] or not _lost(exc, conn):
                    raise failed(exc, self._where) from exc
                pool.check()  # the other idle connections may be gone too: drop them
            finally:
                tx.close()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- group commit: batches on a kept connection --------------------------------------------

    async def run_batch(self, makers: list[Maker]) -> list[Any]:
        """Run a batch (see the module docstring) on the calling loop, on the kept sync
        connection through :mod:`._postgres_wire` (no worker thread but for the pool's own
        blocking calls): each operation's result, or the exception it failed with. Call it inside a
        shielded scope (the group commit's)."""
        return await _run_batch(self._on_kept, makers, self._prepare)

    async def _on_kept(self, body: Callable[[psycopg.Connection[Any]], Awaitable[T]]) -> T:
        """``await body(conn)`` on the kept connection, on this loop; once more on a new
        connection if it was lost. The pool's blocking calls go to a worker thread. Call it
        inside a shielded scope (the group commit's)."""
        for attempt in _ATTEMPTS:
            conn: psycopg.Connection[Any] | None = None
            try:
                with self._lock:
                    conn, self._kept = self._kept, None
                if conn is None:
                    conn = await anyio.to_thread.run_sync(self._take)
                result = await body(conn)
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                await anyio.to_thread.run_sync(self._give_back, conn)
                if attempt == _ATTEMPTS[-1] or not _lost(exc, conn):
                    raise failed(exc, self._where) from exc
                await anyio.to_thread.run_sync(lambda: self.open().check())
                continue
            except BaseException:
                await anyio.to_thread.run_sync(self._give_back, conn)
                raise
            if not self._keep(conn):
                await anyio.to_thread.run_sync(self._give_back, conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _keep(self, conn: psycopg.Connection[Any]) -> bool:
        """Keep ``conn`` for the next batch if it is healthy and none is kept (not blocking)."""
        if self._max_size < 2 or conn.closed or conn.broken or conn.pgconn.transaction_status != _IDLE:
            return False  # a pool of one keeps nothing back: lists need a connection too
        with self._lock:
            if self._kept is None and self._pool is not None:
                self._kept = conn
                return True
        return False

    def _take(self) -> psycopg.Connection[Any]:
        with self._lock:
            conn, self._kept = self._kept, None
        if conn is None:
            conn = self.open().getconn(timeout=self._timeout)
        return conn

    def _give_back(self, conn: psycopg.Connection[Any] | None) -> None:
        """Keep ``conn`` for the next batch if it is healthy and none is kept; else return it to
        the pool (which drops a broken one)."""
        if conn is None or self._keep(conn):
            return
        pool = self._pool
        if pool is not None:
            pool.putconn(conn)
        else:
            conn.close()

    def open(self) -> psycopg_pool.ConnectionPool[Any]:
        """The pool, opened (and the schema migrated) on the first call. Blocking."""
        with self._lock:
            if self._pool is None:
                try:
                    with psycopg.connect(
                        self._conninfo, autocommit=True, context=ADAPTERS, connect_timeout=_connect_timeout(self._timeout)
                    ) as conn:
                        run_sync(conn, ensure_schema(self._where), "tx", False)
                except psycopg.Error as exc:
                    raise failed(exc, self._where) from exc
                pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._max_size,
                    kwargs={"autocommit": True, "context": ADAPTERS},
                    timeout=self._timeout,
                    num_workers=1,
                    open=False,
                    name="streamhil-checkpoints",
                )
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    def close(self) -> None:
        """Close the pool and its connections (blocking; from a worker thread in async code)."""
        with self._lock:
            pool, self._pool = self._pool, None
            kept, self._kept = self._kept, None
        if pool is not None:
            if kept is not None:
                pool.putconn(kept)
            pool.close()

    @property
    def is_open(self) -> bool:
        return self._pool is not None


# -- async connections, on the asyncio loop that opened them -----------------------------------


async def run_async(conn: psycopg.AsyncConnection[Any], tx: Tx[T], mode: Mode, prepare: bool) -> T:
    """Run ``tx`` to the end on ``conn``; call it inside a shielded scope."""
    if mode == "tx":
        async with conn.transaction():
            return await _drive_async(conn, tx, prepare)
    return await _drive_async(conn, tx, prepare)


async def _drive_async(conn: psycopg.AsyncConnection[Any], tx: Tx[T], prepare: bool) -> T:
    try:
        op = next(tx)
        while True:
            if isinstance(op, sql.Batch):
                async with conn.pipeline():
                    cursors = [
                        await conn.execute(one.sql, one.params or None, **statement_options(one, prepare))
                        for one in op.statements
                    ]
                op = tx.send([await cursor.fetchall() if has_rows(cursor) else [] for cursor in cursors])
            else:
                cursor = await conn.execute(op.sql, op.params or None, **statement_options(op, prepare))
                op = tx.send(await cursor.fetchall() if has_rows(cursor) else [])
    except StopIteration as done:
        return done.value


class AsyncPoolDriver:
    """An async pool bound to the asyncio loop that opened it."""

    def __init__(self, conninfo: str, *, max_size: int, timeout: float, prepare: bool) -> None:
        self._conninfo = conninfo
        self._where = describe(conninfo)
        self._max_size = max_size
        self._timeout = timeout
        self._prepare = prepare
        self._pool: psycopg_pool.AsyncConnectionPool[Any] | None = None
        self._kept: psycopg.AsyncConnection[Any] | None = None
        """A connection kept checked out between batches (see :meth:`run_batch`)."""
        self.loop: Any = None
        """The loop's anyio native token (the asyncio loop) once open."""

    async def open(self) -> None:
        """Migrate the schema on one connection, then open the pool; call on the asyncio loop."""
        with anyio.CancelScope(shield=True):
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, context=ADAPTERS, connect_timeout=_connect_timeout(self._timeout)
                )
                async with conn:
                    await run_async(conn, ensure_schema(self._where), "tx", False)
            except psycopg.Error as exc:
                raise failed(exc, self._where) from exc
            pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
                self._conninfo,
                min_size=1,
                max_size=self._max_size,
                kwargs={"autocommit": True, "context": ADAPTERS},
                timeout=self._timeout,
                num_workers=1,
                open=False,
                name="streamhil-checkpoints",
            )
            await pool.open(wait=False)
            self._pool = pool
            self.loop = anyio.lowlevel.current_token().native_token

    def serves_current_loop(self) -> bool:
        return self._pool is not None and anyio.lowlevel.current_token().native_token is self.loop

    async def run(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        assert self._pool is not None
        with anyio.CancelScope(shield=True):
            for attempt in _ATTEMPTS:
                tx = make_tx()
                conn: psycopg.AsyncConnection[Any] | None = None
                try:
                    async with self._pool.connection(timeout=self._timeout) as conn:
                        return await run_async(conn, tx, mode, self._prepare)
                except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                    if attempt == _ATTEMPTS[-1] or not _lost(exc, conn):
                        raise failed(exc, self._where) from exc
                    await self._pool.check()  # the other idle connections may be gone too
                finally:
                    tx.close()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- group commit: batches on a kept connection --------------------------------------------

    async def run_batch(self, makers: list[Maker]) -> list[Any]:
        """Run a batch (see the module docstring): each operation's result, or the exception it
        failed with. Call it on the pool's loop, inside a shielded scope (the group commit's)."""
        return await _run_batch(self._on_kept, makers, self._prepare)

    async def _on_kept(self, body: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """``body(conn)`` on the kept connection; once more on a new one if it was lost."""
        assert self._pool is not None
        for attempt in _ATTEMPTS:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn, self._kept = self._kept, None
                if conn is None:
                    conn = await self._pool.getconn(timeout=self._timeout)
                result = await body(conn)
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                await self._give_back(conn)
                if attempt == _ATTEMPTS[-1] or not _lost(exc, conn):
                    raise failed(exc, self._where) from exc
                await self._pool.check()  # the other idle connections may be gone too
                continue
            except BaseException:
                await self._give_back(conn)
                raise
            await self._give_back(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _give_back(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        if conn is None:
            return
        healthy = not conn.closed and not conn.broken and conn.pgconn.transaction_status == _IDLE
        if healthy and self._max_size > 1 and self._kept is None and self._pool is not None:
            self._kept = conn
        elif self._pool is not None:
            await self._pool.putconn(conn)
        else:
            await conn.close()

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        kept, self._kept = self._kept, None
        if pool is not None:
            with anyio.CancelScope(shield=True):
                if kept is not None:
                    await pool.putconn(kept)
                await pool.close()

    @property
    def is_open(self) -> bool:
        return self._pool is not None


def _connect_timeout(timeout: float) -> int:
    return max(2, int(timeout))  # libpq takes whole seconds; below 2 it means 2
