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
aiosqlite; on trio through the stdlib module in a worker thread. See ``docs/checkpointers.md``.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from ...errors import CheckpointError, ConfigError
from .. import _sqlite_sql as sql
from .._records import build_tuple, encode_changed, encode_metadata, encode_writes, list_pages, list_scope, read_address
from .._sqlite_drivers import AioDriver, ThreadDriver, on_asyncio, open_sqlite3
from .._sqlite_sql import Mode, Tx
from ..base import BaseCheckpointSaver, Checkpoint, CheckpointTuple, PendingWrite, thread_config

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
    """Checkpoints in the SQLite file at ``path`` (created if missing).

    ``busy_timeout`` is how many seconds a write waits for another connection's transaction.
    Use it as a context manager (``async with`` or ``with``) so its connections are closed.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        path = os.fspath(path)
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ConfigError(
                f"SqliteSaver needs a file path, got {path!r}; for a store that lives in memory "
                "use InMemorySaver"
            )
        self.path = path
        self._aio = AioDriver(path, busy_timeout)
        self._threaded = ThreadDriver(path, busy_timeout)
        self._busy_timeout = busy_timeout
        self._closed = False

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> SqliteSaver:
        """A saver for the file at ``path``; enter it with ``async with`` or ``with``."""
        return cls(path, busy_timeout=busy_timeout)

    @classmethod
    def from_conn_string(cls, conn_string: str | os.PathLike[str]) -> SqliteSaver:
        """LangGraph's name for :meth:`from_path` (``with SqliteSaver.from_conn_string("x.db")
        as saver:``, or ``async with`` as LangGraph's ``AsyncSqliteSaver``); a file path only."""
        return cls.from_path(conn_string)

    def __repr__(self) -> str:
        return f"SqliteSaver({self.path!r})"

    async def _run(self, tx: Tx[T], mode: Mode) -> T:
        if self._closed:
            tx.close()
            raise CheckpointError(f"{self!r} is closed")
        driver = self._aio if on_asyncio() else self._threaded
        return await driver.run(tx, mode)

    # -- the contract ----------------------------------------------------------------------

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        loaded = await self._run(sql.get_tuple(read_address(config)), "read")
        return None if loaded is None else build_tuple(*loaded)

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        lane, start = list_scope(config, before)

        async def fetch(cursor: sql.Cursor | None, want: int) -> tuple[list[Any], sql.Cursor | None]:
            return await self._run(sql.list_page(lane, cursor, filter, want, _PAGE), "read")

        async for loaded in list_pages(fetch, start, limit, _PAGE):
            yield build_tuple(*loaded)

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, int],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
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
        """Close every connection; the saver cannot be used afterwards."""
        self._closed = True
        if on_asyncio():
            await self._aio.aclose()
        elif self._aio.connection_count:
            # Connections left by earlier asyncio loops need an asyncio loop to close.
            await anyio.to_thread.run_sync(partial(anyio.run, self._aio.aclose, backend="asyncio"))
        await anyio.to_thread.run_sync(self._threaded.close)

    def __enter__(self) -> SqliteSaver:
        open_sqlite3(self.path, self._busy_timeout).close()  # create or check the file now
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection from sync code (what ``with`` does on exit). Inside a running
        event loop (a Jupyter cell) the asyncio connections are closed on a loop of their own in
        a helper thread, as the graph's sync API runs there."""
        self._closed = True
        if self._aio.connection_count:
            close_aio = partial(anyio.run, self._aio.aclose, backend="asyncio")
            if _in_event_loop():
                _run_in_helper_thread(close_aio)
            else:
                close_aio()
        self._threaded.close()


def _run_in_helper_thread(fn: Callable[[], None]) -> None:
    """``fn()`` in a thread with a fresh context (no loop running there), waited for here."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            contextvars.Context().run(fn)
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    thread = threading.Thread(target=target, name="streamhil-sqlite-close")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
