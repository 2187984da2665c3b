"""SqliteSaver: checkpoints in one SQLite file, durable across restarts and processes.

::

    async with SqliteSaver.from_path("chat.sqlite") as saver:     # in async code
        graph = builder.compile(checkpointer=saver)

    with SqliteSaver.from_path("chat.sqlite") as saver:           # in a plain script
        graph = builder.compile(checkpointer=saver)
        graph.invoke(inputs, config)        # each call runs its own event loop
        graph.invoke(None, config)

The file is in WAL mode with ``synchronous=NORMAL``; each ``aput`` (checkpoint row, changed
channel values and the step's pending writes) and each ``aput_writes`` is atomic: its own
transaction, or, when several threads write at once on asyncio, its own savepoint in a commit
they share (group commit).
Several savers, threads and processes can share a file. On asyncio it talks to SQLite through
aiosqlite; on trio through the stdlib module in a worker thread. Given a connection instead of a
path (as LangGraph's savers are), it uses that one alone and leaves it open for its owner; see
``docs/checkpointers.md``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite
import anyio
import anyio.lowlevel

from ...errors import CheckpointError, ConfigError
from .. import _sqlite_sql as sql
from .._records import (
    Address,
    Loaded,
    build_tuple,
    encode_changed,
    encode_metadata,
    encode_writes,
    list_addressed,
    list_pages,
    list_scope,
    listed_address,
    read_address,
)
from .._blocking import run_in_helper_thread
from .._sqlite_drivers import (
    AioDriver,
    SharedAioDriver,
    ThreadDriver,
    adopt_sqlite3,
    check_shareable,
    on_asyncio,
    open_sqlite3,
)
from .._sqlite_sql import Mode, Tx
from ..base import BaseCheckpointSaver, Checkpoint, CheckpointTuple, PendingWrite, as_checkpoint, thread_config

__all__ = ["SqliteSaver"]

T = TypeVar("T")
_PAGE = 50


def _in_event_loop() -> bool:
    try:
        anyio.lowlevel.current_token()
    except RuntimeError:
        return False
    return True


class SqliteSaver(BaseCheckpointSaver):
    """Checkpoints in the SQLite file at the path ``conn`` (created if missing), in memory for
    ``":memory:"``, or on a connection the caller opened and keeps owning: a ``sqlite3.Connection``
    opened with ``check_same_thread=False`` (used from worker threads, on any loop) or an
    ``aiosqlite.Connection`` (asyncio only).

    ``busy_timeout`` is how many seconds a write waits for another connection's transaction (on
    a connection given to the saver, its own timeout applies). Use it as a context manager
    (``async with`` or ``with``) so the saver's own connections are closed.
    """

    def __init__(
        self,
        conn: str | os.PathLike[str] | sqlite3.Connection | aiosqlite.Connection,
        *,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path: str | None = None
        self.conn: sqlite3.Connection | aiosqlite.Connection | None = None
        """The connection the saver was given (or opened for ``":memory:"``); None for a path."""
        self._aio: AioDriver | SharedAioDriver | None = None
        self._threaded: ThreadDriver | None = None
        self._busy_timeout = busy_timeout
        self._closed = False
        if isinstance(conn, sqlite3.Connection):
            check_shareable(conn)
            self.conn = conn
            self._threaded = ThreadDriver(partial(adopt_sqlite3, conn, _database_name(conn)), owns_connection=False)
        elif isinstance(conn, aiosqlite.Connection):
            self.conn = conn
            self._aio = SharedAioDriver(conn, "the aiosqlite connection's database")
        elif isinstance(conn, (str, os.PathLike)):
            path = os.fspath(conn)
            if path == ":memory:":
                self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                self._threaded = ThreadDriver(partial(adopt_sqlite3, self.conn, path))
            elif not path or path.startswith("file:"):
                raise ConfigError(
                    f"SqliteSaver needs a file path, \":memory:\" or a connection, got {path!r}; for "
                    "a URI, open it yourself: SqliteSaver(sqlite3.connect(uri, uri=True, "
                    "check_same_thread=False))"
                )
            else:
                self.path = path
                self._aio = AioDriver(path, busy_timeout)
                self._threaded = ThreadDriver(partial(open_sqlite3, path, busy_timeout))
        else:
            raise ConfigError(
                "SqliteSaver takes a file path, a sqlite3.Connection or an aiosqlite.Connection, "
                f"got {type(conn).__name__}"
            )

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> SqliteSaver:
        """A saver for the file at ``path``; enter it with ``async with`` or ``with``."""
        return cls(path, busy_timeout=busy_timeout)

    @classmethod
    def from_conn_string(cls, conn_string: str | os.PathLike[str]) -> SqliteSaver:
        """LangGraph's name for :meth:`from_path` (``with SqliteSaver.from_conn_string("x.db")
        as saver:``, or ``async with`` as LangGraph's ``AsyncSqliteSaver``); a file path or
        ``":memory:"``."""
        return cls.from_path(conn_string)

    def __repr__(self) -> str:
        return f"SqliteSaver({self.path if self.path is not None else self.conn!r})"

    async def _run(self, tx: Tx[T], mode: Mode) -> T:
        if self._closed:
            tx.close()
            raise CheckpointError(f"{self!r} is closed")
        if self._aio is not None and on_asyncio():
            return await self._aio.run(tx, mode)
        if self._threaded is None:
            tx.close()
            raise CheckpointError(
                "an aiosqlite connection works on asyncio only; on trio give SqliteSaver a file "
                "path or a sqlite3 connection"
            )
        return await self._threaded.run(tx, mode)

    # -- the contract ----------------------------------------------------------------------

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        loaded = await self._load(read_address(config))
        return None if loaded is None else build_tuple(*loaded)

    async def _load(self, address: Address) -> Loaded | None:
        return await self._run(sql.get_tuple(address), "read")

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if (address := listed_address(config)) is not None:  # that checkpoint alone, as LangGraph's
            async for loaded in list_addressed(address, self._load, filter, before, limit):
                yield build_tuple(*loaded)
            return
        scope, start = list_scope(config, before)

        async def fetch(cursor: sql.Cursor | None, want: int) -> tuple[list[Any], sql.Cursor | None]:
            return await self._run(sql.list_page(scope, cursor, filter, want, _PAGE), "read")

        async for loaded in list_pages(fetch, start, limit, _PAGE):
            yield build_tuple(*loaded)

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        checkpoint = as_checkpoint(checkpoint)
        address = read_address(config)
        encoded_metadata = encode_metadata(metadata)
        changed = encode_changed(checkpoint, new_versions)
        grouped = encode_writes(writes)
        if grouped and address.checkpoint_id is None:
            raise ConfigError("aput got writes but the config names no parent checkpoint_id")
        await self._run(sql.put(address, checkpoint, encoded_metadata, changed, grouped), "write")
        return thread_config(address.thread_id, address.checkpoint_ns, checkpoint.id)

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
    ) -> None:
        address = read_address(config, need_id=True)
        grouped = encode_writes((task_id, channel, value) for channel, value in writes)
        await self._run(sql.put_writes(address, {task_id: grouped.get(task_id, [])}), "write")

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(sql.delete_thread(str(thread_id)), "write")

    async def alist_threads(self) -> list[str]:
        """Every thread id with a checkpoint, most recently checkpointed first."""
        return await self._run(sql.list_threads(), "read")

    # -- opening and closing -----------------------------------------------------------------

    async def __aenter__(self) -> SqliteSaver:
        await self._run(sql.ping(), "read")  # open now, so a bad file fails here
        return self

    async def aclose(self) -> None:
        """Close the saver's connections; one it was given stays open (its owner closes it).
        The saver cannot be used afterwards."""
        self._closed = True
        if isinstance(self._aio, AioDriver):
            if on_asyncio():
                await self._aio.aclose()
            elif self._aio.connection_count:
                # Connections left by earlier asyncio loops need an asyncio loop to close.
                await anyio.to_thread.run_sync(partial(anyio.run, self._aio.aclose, backend="asyncio"))
        if self._threaded is not None:
            await anyio.to_thread.run_sync(self._threaded.close)

    def __enter__(self) -> SqliteSaver:
        if self.path is not None:
            open_sqlite3(self.path, self._busy_timeout).close()  # create or check the file now
        elif self._threaded is not None:
            self._threaded.run_blocking(sql.ping(), "read")  # ready the connection now
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the saver's connections from sync code (what ``with`` does on exit); one it was
        given stays open. Inside a running event loop (a Jupyter cell) the asyncio connections
        are closed on a loop of their own in a helper thread, as the graph's sync API runs
        there."""
        self._closed = True
        if isinstance(self._aio, AioDriver) and self._aio.connection_count:
            close_aio = partial(anyio.run, self._aio.aclose, backend="asyncio")
            if _in_event_loop():
                run_in_helper_thread(close_aio)
            else:
                close_aio()
        if self._threaded is not None:
            self._threaded.close()


def _database_name(conn: sqlite3.Connection) -> str:
    """How errors name the database a connection is on: its file, or "an in-memory database"."""
    try:
        rows = conn.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        return "the sqlite3 connection's database"
    path = next((row[2] for row in rows if row[1] == "main"), "")
    return path or "an in-memory database"
