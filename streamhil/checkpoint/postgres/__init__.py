"""PostgresSaver: checkpoints in PostgreSQL, shared by any number of processes.

::

    async with PostgresSaver.from_conn_string("postgresql://app@db/app") as saver:   # async code
        graph = builder.compile(checkpointer=saver)

    with PostgresSaver.from_conn_string("postgresql://app@db/app") as saver:         # a script
        graph = builder.compile(checkpointer=saver)
        graph.invoke(inputs, config)          # each call runs its own event loop

Needs the ``postgres`` extra (psycopg 3 and psycopg_pool). The tables are created, or migrated,
when the saver opens. Each ``aput`` (checkpoint row, changed channel values and the step's
pending writes) and each ``aput_writes`` is one statement, so one atomic commit and one round
trip; saves a run queued up (``asave_many``) go together in one pipelined round trip. Calls of
several threads that arrive together are group-committed: they share round trips and commits,
none returns before the commit that holds it, and one that fails fails alone (the batch is
rolled back and each call run alone). A call whose connection was lost is made once more on a
fresh one. On asyncio, ``async with`` opens a psycopg async pool on that loop; on trio, and on
any other loop, a sync pool. Either way saves and reads run on the calling loop, on a kept
connection (``_postgres_wire``); lists borrow a pool connection (a worker thread off the
entering loop). Given a psycopg connection or pool instead of a URL (LangGraph's
``PostgresSaver(pool)``), it runs on that one (``_postgres_given``). See ``docs/checkpointers.md``.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from ..._backend import current_backend
from ..._group_commit import GroupCommit
from ...errors import CheckpointError, ConfigError, SyncCallError
from .. import _postgres_sql as sql
from .._postgres_drivers import AsyncPoolDriver, Maker, ThreadPoolDriver, describe
from .._postgres_given import GivenDriver, is_given_connection, is_single_connection
from .._postgres_sql import Mode, Tx
from .._records import (
    Address,
    Loaded,
    StoredCheckpoint,
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
from ..base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointTuple,
    PendingWrite,
    PutCall,
    WritesCall,
    as_checkpoint,
    thread_config,
)

__all__ = ["PostgresSaver"]

T = TypeVar("T")
_PAGE = 50
_CACHE_SIZE = 10_000

_LOOP_GROUPS: anyio.lowlevel.RunVar[weakref.WeakKeyDictionary[ThreadPoolDriver, GroupCommit[Maker]]] = (
    anyio.lowlevel.RunVar("streamhil_postgres_groups")
)
"""Each event loop's group commit for each thread-pool driver (its events belong to that loop)."""


def _in_event_loop() -> bool:
    try:
        anyio.lowlevel.current_token()
    except RuntimeError:
        return False
    return True


def _encode_put(call: PutCall) -> sql.PutArgs:
    """Check and serialise an ``aput``'s arguments (raising before anything is sent)."""
    address = read_address(call.config)
    metadata = encode_metadata(call.metadata)
    changed = encode_changed(call.checkpoint, call.new_versions)
    grouped = encode_writes(call.writes)
    if grouped and address.checkpoint_id is None:
        raise ConfigError("aput got writes but the config names no parent checkpoint_id")
    return sql.PutArgs(address, call.checkpoint, metadata, changed, grouped)


def _encode_writes(call: WritesCall) -> sql.WritesArgs:
    """Check and serialise an ``aput_writes``'s arguments."""
    address = read_address(call.config, need_id=True)
    grouped = encode_writes((call.task_id, channel, value) for channel, value in call.writes)
    return sql.WritesArgs(address, {call.task_id: grouped.get(call.task_id, [])})


class _Ready:
    """What :meth:`PostgresSaver.setup` returns: ignore it, or await it (that returns None)."""

    def __await__(self) -> Any:
        return iter(())


_READY = _Ready()


class _Deferred:
    """Work for an event loop to await (``await saver.setup()``); nothing is done if it is not
    awaited."""

    def __init__(self, work: Callable[[], Awaitable[Any]]) -> None:
        self._work = work

    def __await__(self) -> Generator[Any, None, None]:
        yield from self._work().__await__()


class _ParentCache:
    """The last checkpoints this process saved or read, by address: a save whose parent is here
    needs no read first. Checkpoints never change once saved, so an entry cannot go stale; a
    parent deleted meanwhile is caught by the save itself (see ``_postgres_sql.put``)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()  # loops in several threads may share the saver
        self._items: dict[tuple[str, str, str], StoredCheckpoint] = {}

    def get_parent(self, address: Address) -> StoredCheckpoint | None:
        """The checkpoint ``address`` names, if remembered (None for "the latest")."""
        if address.checkpoint_id is None:
            return None
        return self._items.get((address.thread_id, address.checkpoint_ns, address.checkpoint_id))

    def add(self, stored: StoredCheckpoint) -> None:
        key = (stored.thread_id, stored.checkpoint_ns, stored.checkpoint_id)
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = stored
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]

    def forget_thread(self, thread_id: str) -> None:
        with self._lock:
            for key in [key for key in self._items if key[0] == thread_id]:
                del self._items[key]


class PostgresSaver(BaseCheckpointSaver):
    """Checkpoints in the PostgreSQL database ``conn`` (or ``conninfo=``) names, a URL or
    ``key=value`` string, on connections the saver opens and owns; or on ``conn`` itself when it
    is a psycopg ``Connection`` (with its ``pipe``), ``ConnectionPool``, ``AsyncConnection`` or
    ``AsyncConnectionPool`` the caller owns, as LangGraph's savers take (see
    :mod:`.._postgres_given`: the tables are made on first use or by ``setup()``, and closing the
    saver leaves the connection open).

    ``max_connections`` bounds each pool; ``timeout`` is how many seconds a call waits for a free
    connection (and a connection attempt for the server). ``prepare=False`` turns off
    server-side prepared statements (for a pooler that cannot keep them). These three go with a
    connection string only. The tables go in the connection's ``search_path`` schema
    (``?options=-csearch_path%3Dmyschema`` in a URL). Use it as a context manager (``async
    with`` or ``with``) so its connections are closed.
    """

    def __init__(
        self,
        conn: str | Any = None,
        pipe: Any = None,
        serde: Any = None,
        *,
        conninfo: str | None = None,
        max_connections: int = 10,
        timeout: float = 30.0,
        prepare: bool = True,
    ) -> None:
        _refuse_serde(serde)
        if conninfo is not None:
            if conn is not None:
                raise ConfigError("PostgresSaver takes conn or conninfo=, not both")
            conn = conninfo
        self._parents = _ParentCache(_CACHE_SIZE)
        self._closed = False
        self._given: GivenDriver | None = None
        if is_given_connection(conn):
            if pipe is not None and not is_single_connection(conn):
                raise ConfigError(
                    f"pipe= goes with a single connection, not a {type(conn).__name__} (as in LangGraph)"
                )
            self._given = GivenDriver(conn)
            self.conn, self.pipe = conn, pipe
            self.conninfo = self._where = self._given.where
            return
        if pipe is not None:
            raise ConfigError(
                "pipe= goes with a psycopg Connection (PostgresSaver(conn, pipe)); with a connection "
                "string the saver pipelines its statements itself"
            )
        if not isinstance(conn, str) or not conn.strip():
            raise ConfigError(
                "PostgresSaver needs a connection string, or a psycopg Connection, ConnectionPool, "
                f"AsyncConnection or AsyncConnectionPool, got {conn!r}"
            )
        if max_connections < 1:
            raise ConfigError(f"max_connections must be at least 1, got {max_connections!r}")
        self.conninfo = conn
        self._where = describe(conn)
        self._aio = AsyncPoolDriver(conn, max_size=max_connections, timeout=timeout, prepare=prepare)
        self._threaded = ThreadPoolDriver(conn, max_size=max_connections, timeout=timeout, prepare=prepare)
        self._aio_group: GroupCommit[Maker] = GroupCommit(self._aio.run_batch)

    @classmethod
    def from_conn_string(
        cls,
        conninfo: str,
        *,
        pipeline: bool = False,
        serde: Any = None,
        max_connections: int = 10,
        timeout: float = 30.0,
        prepare: bool = True,
    ) -> PostgresSaver:
        """A saver for ``conninfo``; enter it with ``async with`` or ``with``. ``pipeline`` is
        LangGraph's option, accepted and not needed (saves are pipelined already)."""
        _refuse_serde(serde)
        return cls(conninfo, max_connections=max_connections, timeout=timeout, prepare=prepare)

    def __repr__(self) -> str:
        return f"PostgresSaver({self._given if self._given is not None else self._where!r})"

    def setup(self) -> Any:
        """Make or migrate the tables now; LangGraph's savers need ``saver.setup()`` (sync) or
        ``await saver.setup()`` (async) once, and both spellings work here. With a connection
        string the saver does it when it opens, so this does nothing. On a connection or pool of
        the caller's (where the first call would do it too): an async one, ``await
        saver.setup()``, as LangGraph's; a sync one, at once from sync code, and from async code
        when awaited, in a worker thread (never blocking the event loop)."""
        given = self._given
        if given is None:
            return _READY
        if given.is_async:
            return self._run(sql.ping)
        if _in_event_loop():
            return _Deferred(partial(self._run, sql.ping))
        given.run_blocking(sql.ping)
        return _READY

    async def _run(self, make_tx: Callable[[], Tx[T]], mode: Mode = None) -> T:
        """Run the operation ``make_tx()`` builds (again from the start if it must be retried),
        on a pool connection of its own: for long reads (lists) that should not hold up saves."""
        if self._closed:
            raise CheckpointError(f"{self!r} is closed")
        if self._given is not None:
            return await self._given.run(make_tx, mode)
        if current_backend() == "asyncio" and self._aio.serves_current_loop():
            return await self._aio.run(make_tx, mode)
        return await self._threaded.run(make_tx, mode)

    async def _commit(self, make_tx: Callable[[], Tx[T]]) -> T:
        """Run the operation ``make_tx()`` builds in the group commit of this loop: with the
        other calls that arrive while a batch is on the wire, in the next batch."""
        if self._given is not None:  # no group commit on the caller's connection
            return await self._run(make_tx)
        if self._closed:
            raise CheckpointError(f"{self!r} is closed")
        group = self._aio_group if self._on_aio_loop() else self._threaded_group()
        result: T = await group.submit(make_tx)
        return result

    def _on_aio_loop(self) -> bool:
        """Whether this runs on the asyncio loop whose async pool is open (``_run``'s test, in a
        form cheap enough for every call: no trio probe, no anyio token)."""
        loop = self._aio.loop
        asyncio = sys.modules.get("asyncio") if loop is not None else None  # not imported here
        return asyncio is not None and self._aio.is_open and asyncio._get_running_loop() is loop

    def _threaded_group(self) -> GroupCommit[Maker]:
        try:
            groups = _LOOP_GROUPS.get()
        except LookupError:
            groups = weakref.WeakKeyDictionary()
            _LOOP_GROUPS.set(groups)
        group = groups.get(self._threaded)
        if group is None:
            group = groups[self._threaded] = GroupCommit(self._threaded.run_batch)
        return group

    # -- the contract ----------------------------------------------------------------------

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        loaded = await self._commit(partial(sql.get_tuple, read_address(config)))
        if loaded is None:
            return None
        self._parents.add(loaded[0])
        return build_tuple(*loaded)

    async def _load(self, address: Address) -> Loaded | None:
        """The addressed checkpoint, read on a connection of its own (not a group commit)."""
        return await self._run(partial(sql.get_tuple, address))

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
            return await self._run(partial(sql.list_page, scope, cursor, filter, want, _PAGE))

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
        args = _encode_put(PutCall(config, checkpoint, metadata, new_versions, writes))
        stored = await self._commit(partial(sql.put, args, self._parents.get_parent(args.address)))
        self._parents.add(stored)
        return thread_config(args.address.thread_id, args.address.checkpoint_ns, checkpoint.id)

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
    ) -> None:
        args = _encode_writes(WritesCall(config, writes, task_id))
        await self._commit(partial(sql.put_writes, args.address, args.writes))

    async def asave_many(self, calls: Sequence[PutCall | WritesCall]) -> None:
        """Make the calls in order, sending each run of saves whose parents are known in one
        round trip (psycopg's pipeline mode); each save is still one atomic statement."""
        encoded: list[sql.PutArgs | sql.WritesArgs] = []
        failure: Exception | None = None
        for call in calls:
            try:
                encoded.append(_encode_put(call) if isinstance(call, PutCall) else _encode_writes(call))
            except Exception as exc:  # a value that cannot be stored: save what came before it
                failure = exc
                break
        if encoded:
            known = {}
            for args in encoded:
                parent = self._parents.get_parent(args.address) if isinstance(args, sql.PutArgs) else None
                if parent is not None:
                    known[(parent.thread_id, parent.checkpoint_ns, parent.checkpoint_id)] = parent
            for stored in await self._commit(partial(sql.save_many, encoded, known)):
                self._parents.add(stored)
        if failure is not None:
            raise failure

    async def adelete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        self._parents.forget_thread(thread_id)
        await self._run(partial(sql.delete_thread, thread_id))

    async def alist_threads(self) -> list[str]:
        """Every thread id with a checkpoint, most recently checkpointed first."""
        return await self._run(sql.list_threads)

    # -- opening and closing -----------------------------------------------------------------

    async def __aenter__(self) -> PostgresSaver:
        """Open now, so a bad URL or a newer schema fails here: an async pool bound to this
        loop on asyncio, the thread pool on trio."""
        if self._given is not None:
            await self._run(sql.ping)  # makes the tables if need be
            return self
        if self._closed:
            raise CheckpointError(f"{self!r} is closed")
        if current_backend() == "asyncio":
            if not self._aio.is_open:
                await self._aio.open()
        else:
            await anyio.to_thread.run_sync(self._threaded.open)
        return self

    async def aclose(self) -> None:
        """Close every connection; the saver cannot be used afterwards. Call it on the loop that
        entered the saver (its async pool belongs there). A connection or pool of the caller's
        stays open (its owner closes it)."""
        self._closed = True
        if self._given is not None:
            return
        await anyio.to_thread.run_sync(self._threaded.close)
        if self._aio.is_open:
            if current_backend() == "asyncio" and self._aio.serves_current_loop():
                await self._aio.aclose()
            else:
                raise SyncCallError(
                    f"{self!r} has an async pool that belongs to another event loop; close it there"
                )

    def __enter__(self) -> PostgresSaver:
        given = self._given
        if given is not None and given.is_async:
            return self  # nothing to open: the tables are made on first use
        self._refuse_inside_loop()  # the work below would block the event loop
        if self._closed:
            raise CheckpointError(f"{self!r} is closed")
        if given is None:
            self._threaded.open()
        else:
            given.run_blocking(sql.ping)  # makes the tables if need be
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection from sync code (what ``with`` does on exit)."""
        if self._given is not None:
            self._closed = True  # the caller's connection stays open
            return
        self._refuse_inside_loop()
        self._closed = True
        if self._aio.is_open:
            raise SyncCallError(f"{self!r} was opened with 'async with'; close it with 'await saver.aclose()'")
        self._threaded.close()

    def _refuse_inside_loop(self) -> None:
        if _in_event_loop():
            raise SyncCallError(
                "inside async code use 'async with PostgresSaver.from_conn_string(...)' (or 'async "
                "with PostgresSaver(conn)'), not 'with', and 'await saver.aclose()', not 'close()'"
            )


def _refuse_serde(serde: Any) -> None:
    if serde is not None:
        raise ConfigError(
            "PostgresSaver stores values in streamhil's own format (see docs/langgraph-differences.md); "
            "it takes no serde=, leave it out"
        )
