"""Run PostgresSaver's statements on a psycopg connection or pool its caller opened and owns.

LangGraph's savers take one (``PostgresSaver(conn)``, ``AsyncPostgresSaver(pool)``), so a
LangGraph user's code passes a ``psycopg.Connection``, a ``psycopg_pool.ConnectionPool``, a
``psycopg.AsyncConnection`` or a ``psycopg_pool.AsyncConnectionPool``. :class:`GivenDriver` runs
each operation on it as it is, with none of the own-pool machinery (:mod:`._postgres_drivers`):
no group commit, no kept connection, no reconnect of a single connection (the owner decides
those).

What it asks of the connection is what LangGraph's savers ask: autocommit (an operation is a
series of single statements, each atomic; the migration opens its own transaction). Rows are
read through cursors of its own (tuples, with the saver's array codecs), so the connection's
``row_factory`` (LangGraph's ``dict_row``) does not matter. Statements are prepared unless the
connection's ``prepare_threshold`` is None (a pooler that cannot keep them).

A single connection serves one operation at a time. A sync connection or pool is used from a
worker thread, so from any event loop (asyncio, trio) and from sync code. An async one belongs
to the asyncio loop it was made on (the saver's own if made in async code, else the first that
uses it): a call from another loop or thread is sent to that loop, which must be running and
not blocked waiting for that very call (a sync call made on that loop's thread: ``SyncCallError``,
where LangGraph's ``AsyncPostgresSaver`` raises ``InvalidStateError``). A caller cancelled while
its call is there returns at once, and the call is cancelled on that loop; if the loop stops or
closes before the call ends, the caller gets ``CheckpointError``.

Cancellation: waiting for the connection (a single one's lock, a pool's free connection) can be
cancelled; the statements, once the connection is the call's, run to the end (shielded).
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .._threads import waits_on_helper_thread
from ..errors import CheckpointError, ConfigError, SyncCallError
from . import _postgres_sql as sql
from ._postgres_codecs import register_codecs
from ._postgres_schema import ensure_schema
from ._postgres_common import describe, failed, has_rows, statement_options
from ._postgres_sql import Mode, Tx

try:
    import psycopg
    import psycopg_pool
    from psycopg.rows import tuple_row
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'streamhil[postgres]'"
    ) from exc

__all__ = ["GivenDriver", "is_given_connection"]

T = TypeVar("T")
_LOOP_CHECK = 0.25
"""How often (seconds) a caller in another thread looks whether the connection's loop still runs."""


def _asyncio() -> Any:
    """asyncio, which psycopg's async connections run on (loaded with them: the core never
    imports it itself)."""
    return sys.modules["asyncio"]
_GIVEN_TYPES = (psycopg.Connection, psycopg_pool.ConnectionPool, psycopg.AsyncConnection, psycopg_pool.AsyncConnectionPool)
_ASYNC_TYPES = (psycopg.AsyncConnection, psycopg_pool.AsyncConnectionPool)
_PIPELINE_OFF = psycopg.pq.PipelineStatus.OFF


def is_given_connection(conn: object) -> bool:
    """Whether ``conn`` is a psycopg connection or pool (what LangGraph's savers take)."""
    return isinstance(conn, _GIVEN_TYPES)


def is_single_connection(conn: object) -> bool:
    """Whether ``conn`` is one psycopg connection (not a pool): what ``pipe=`` goes with."""
    return isinstance(conn, (psycopg.Connection, psycopg.AsyncConnection))


def _autocommit_error(kind: str) -> ConfigError:
    return ConfigError(
        f"PostgresSaver needs a {kind} in autocommit mode, as LangGraph's savers do: open it with "
        "autocommit=True (for a pool: kwargs={'autocommit': True})"
    )


def _cursor(conn: Any) -> Any:
    """A cursor on ``conn`` that reads tuples and knows the saver's array codecs."""
    cursor = conn.cursor(row_factory=tuple_row)
    register_codecs(cursor.adapters)
    return cursor


def _rows_sync(cursor: Any) -> list[Any]:
    """The rows a statement returned ([] for none). Not ``has_rows`` first: on a connection in
    pipeline mode (LangGraph's ``pipe=``) the result arrives only when fetched."""
    try:
        rows: list[Any] = cursor.fetchall()
    except psycopg.ProgrammingError:
        if has_rows(cursor) or cursor.pgresult is None:
            raise
        return []  # a statement that returns no rows
    return rows


async def _rows_async(cursor: Any) -> list[Any]:
    """:func:`_rows_sync` on an async cursor."""
    try:
        rows: list[Any] = await cursor.fetchall()
    except psycopg.ProgrammingError:
        if has_rows(cursor) or cursor.pgresult is None:
            raise
        return []
    return rows


def _commands(text: str) -> list[str]:
    """The commands of a string of statements without parameters (the migrations' DDL, whose
    ``;`` only ever end commands)."""
    return [command.strip() for command in text.split(";") if command.strip()] or [text]


def _prepares(conn: Any) -> bool:
    return conn.prepare_threshold is not None


# -- statements, sync and async ------------------------------------------------------------------


def _drive_sync(conn: psycopg.Connection[Any], tx: Tx[T], mode: Mode) -> T:
    if mode == "tx":
        with conn.transaction():
            return _steps_sync(conn, tx)
    return _steps_sync(conn, tx)


def _steps_sync(conn: psycopg.Connection[Any], tx: Tx[T]) -> T:
    prepare = _prepares(conn)

    def execute(op: sql.Sql) -> Any:
        if not op.params and conn.pgconn.pipeline_status != _PIPELINE_OFF:
            *ddl, op = [sql.Sql(command) for command in _commands(op.sql)]
            for command in ddl:  # in pipeline mode a string holds one command
                _rows_sync(_cursor(conn).execute(command.sql, prepare=False))
        return _cursor(conn).execute(op.sql, op.params or None, **statement_options(op, prepare))

    try:
        op = next(tx)
        while True:
            if isinstance(op, sql.Batch):
                with conn.pipeline():
                    cursors = [execute(one) for one in op.statements]
                op = tx.send([_rows_sync(cursor) for cursor in cursors])
            else:
                op = tx.send(_rows_sync(execute(op)))
    except StopIteration as done:
        return done.value


async def _drive_async(conn: psycopg.AsyncConnection[Any], tx: Tx[T], mode: Mode) -> T:
    if mode == "tx":
        async with conn.transaction():
            return await _steps_async(conn, tx)
    return await _steps_async(conn, tx)


async def _steps_async(conn: psycopg.AsyncConnection[Any], tx: Tx[T]) -> T:
    prepare = _prepares(conn)

    async def execute(op: sql.Sql) -> Any:
        if not op.params and conn.pgconn.pipeline_status != _PIPELINE_OFF:
            *ddl, op = [sql.Sql(command) for command in _commands(op.sql)]
            for command in ddl:  # in pipeline mode a string holds one command
                await _rows_async(await _cursor(conn).execute(command.sql, prepare=False))
        return await _cursor(conn).execute(op.sql, op.params or None, **statement_options(op, prepare))

    try:
        op = next(tx)
        while True:
            if isinstance(op, sql.Batch):
                async with conn.pipeline():
                    cursors = [await execute(one) for one in op.statements]
                op = tx.send([await _rows_async(cursor) for cursor in cursors])
            else:
                op = tx.send(await _rows_async(await execute(op)))
    except StopIteration as done:
        return done.value


# -- the driver ----------------------------------------------------------------------------------


class GivenDriver:
    """Operations on a connection or pool the caller owns (see the module docstring)."""

    def __init__(self, conn: Any) -> None:
        if not is_given_connection(conn):
            raise TypeError(f"not a psycopg connection or pool: {conn!r}")
        self.conn = conn
        self.kind = type(conn).__name__
        self.is_async = isinstance(conn, _ASYNC_TYPES)
        if isinstance(conn, (psycopg.Connection, psycopg.AsyncConnection)):
            if not conn.autocommit:
                raise _autocommit_error(self.kind)
            self.where = describe(conn.info.dsn)
        else:
            self.where = describe(conn.conninfo)
        self._lock = threading.Lock()  # a sync Connection: one operation at a time
        self._alock: Any = None  # an AsyncConnection: the same, on its loop
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self.loop: Any = None
        """The asyncio loop an async connection or pool belongs to, once known."""
        self._loop_thread: int | None = None
        if self.is_async:
            self._claim_current_loop()

    def __repr__(self) -> str:
        return f"{self.kind} at {self.where}"

    # -- sync connections and pools: a worker thread ----------------------------------------

    async def run(self, make_tx: Callable[[], Tx[T]], mode: Mode = None) -> T:
        """Run the operation ``make_tx()`` builds; the tables are made first if need be."""
        if self.is_async:
            return await self._run_async(make_tx, mode)
        return await anyio.to_thread.run_sync(self.run_blocking, make_tx, mode)

    def run_blocking(self, make_tx: Callable[[], Tx[T]], mode: Mode = None) -> T:
        """:meth:`run` for a sync connection or pool, blocking (a worker thread, or sync code)."""
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:
                    self._once_sync(lambda: ensure_schema(self.where), "tx")
                    self._schema_ready = True
        return self._once_sync(make_tx, mode)

    def _once_sync(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        tx = make_tx()
        try:
            with self._borrow() as conn:
                return _drive_sync(conn, tx, mode)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise failed(exc, self.where) from exc
        finally:
            tx.close()

    @contextmanager
    def _borrow(self) -> Iterator[psycopg.Connection[Any]]:
        if isinstance(self.conn, psycopg_pool.ConnectionPool):
            with self.conn.connection() as conn:
                if not conn.autocommit:
                    raise _autocommit_error("ConnectionPool's connection")
                yield conn
        else:
            with self._lock:
                yield self.conn

    # -- async connections and pools: on their own loop ---------------------------------------

    def _claim_current_loop(self) -> None:
        """Note the running asyncio loop (if any) as the one the connection belongs to."""
        try:
            loop = _asyncio().get_running_loop()
        except RuntimeError:
            return
        self.loop, self._loop_thread = loop, threading.get_ident()

    async def _run_async(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        if self.loop is None:
            self._claim_current_loop()
        loop = self.loop
        try:
            here = _asyncio().get_running_loop()
        except RuntimeError:
            here = None
        if loop is not None and here is loop:
            return await self._run_here(make_tx, mode)
        if loop is None:
            raise CheckpointError(
                f"an {self.kind} works on asyncio only; on trio give PostgresSaver a sync "
                "Connection or ConnectionPool, or a connection string (PostgresSaver.from_conn_string)"
            )
        if loop.is_closed() or not loop.is_running():
            raise CheckpointError(
                f"the {self.kind} belongs to an asyncio event loop that is no longer running; "
                "make the saver and its connection on the loop that uses them"
            )
        if self._loop_thread is not None and waits_on_helper_thread(self._loop_thread):
            raise SyncCallError(
                f"this sync call blocks the event loop the {self.kind} belongs to, which it needs: "
                "use the async API there (await graph.ainvoke(...), saver.alist(...)), or give "
                "PostgresSaver a sync Connection or ConnectionPool, or a connection string"
            )
        return await self._run_on_owner_loop(loop, make_tx, mode)

    async def _run_on_owner_loop(self, loop: Any, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        """Send the call to the connection's loop and wait for it in a worker thread the caller
        can abandon. A cancelled caller returns at once and the call is cancelled on that loop
        (a statement that has started is finished there); if that loop stops or closes before
        the call ends, :class:`CheckpointError`."""
        call = _RemoteCall()
        # In a fresh context: the task must not inherit the caller's (on trio, anyio and sniffio
        # would take the owner loop for trio).
        future = contextvars.Context().run(
            _asyncio().run_coroutine_threadsafe, call.run(lambda: self._run_here(make_tx, mode)), loop
        )
        try:
            result: T = await anyio.to_thread.run_sync(self._wait_for, loop, future, abandon_on_cancel=True)
            return result
        finally:
            if not future.done():
                try:
                    loop.call_soon_threadsafe(call.cancel)
                except RuntimeError:  # the loop is closed: nothing of the call will run
                    pass

    def _wait_for(self, loop: Any, future: concurrent.futures.Future[T]) -> T:
        """``future``'s result, or :class:`CheckpointError` once ``loop`` (which runs it) has
        stopped or closed: asyncio says nothing when a loop stops, so look every
        ``_LOOP_CHECK`` seconds while waiting."""
        while True:
            try:
                return future.result(timeout=_LOOP_CHECK)
            except concurrent.futures.TimeoutError:
                if not future.done() and (loop.is_closed() or not loop.is_running()):
                    state = "closed" if loop.is_closed() else "stopped"
                    raise CheckpointError(
                        f"the asyncio event loop the {self.kind} belongs to ({loop!r}) {state} "
                        "before this call finished; keep that loop running while other threads use "
                        "the saver, or give PostgresSaver a sync Connection or ConnectionPool, or a "
                        "connection string"
                    ) from None

    async def _run_here(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        """Run on the connection's own loop."""
        if not self._schema_ready:
            await self._once_async(lambda: ensure_schema(self.where), "tx")
            self._schema_ready = True  # (the migration takes an advisory lock: racing is safe)
        return await self._once_async(make_tx, mode)

    async def _once_async(self, make_tx: Callable[[], Tx[T]], mode: Mode) -> T:
        """Run one operation. Waiting for the connection (others' work) can be cancelled; once it
        is ours, the statements run to the end, and it is given back, even if the caller is
        cancelled meanwhile."""
        tx = make_tx()
        try:
            conn = await self._acquire()
            with anyio.CancelScope(shield=True):
                try:
                    result = await _drive_async(conn, tx, mode)
                finally:
                    await self._release(conn)
            return result
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise failed(exc, self.where) from exc
        finally:
            tx.close()

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        """The connection to run on: one of the pool's, or the single one once free."""
        if isinstance(self.conn, psycopg_pool.AsyncConnectionPool):
            conn = await self.conn.getconn()
            if not conn.autocommit:
                with anyio.CancelScope(shield=True):
                    await self.conn.putconn(conn)
                raise _autocommit_error("AsyncConnectionPool's connection")
            return conn
        if self._alock is None:
            self._alock = _asyncio().Lock()
        await self._alock.acquire()
        return self.conn

    async def _release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if isinstance(self.conn, psycopg_pool.AsyncConnectionPool):
            await self.conn.putconn(conn)
        else:
            self._alock.release()


class _RemoteCall:
    """A call run on the connection's loop for a caller in another thread, which may cancel it
    (:meth:`cancel`, called on that loop): it is cancelled as an anyio scope, so the statement
    shield inside holds (a raw ``Task.cancel`` would break into a statement)."""

    def __init__(self) -> None:
        self._scope: anyio.CancelScope | None = None
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        if self._scope is not None:
            self._scope.cancel()

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        with anyio.CancelScope() as self._scope:
            if self._cancelled:
                self._scope.cancel()
            return await work()
        raise CheckpointError("cancelled by its caller")  # nobody waits for this any more
