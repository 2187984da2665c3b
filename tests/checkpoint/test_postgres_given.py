"""PostgresSaver on a psycopg connection or pool its caller opened (LangGraph's
``PostgresSaver(conn)`` / ``AsyncPostgresSaver(pool)``): the conformance suite on each of the four
kinds (sync ones on asyncio and trio, async ones on asyncio), and what it asks of them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest

from streamhil.checkpoint.base import BaseCheckpointSaver, thread_config
from streamhil.errors import CheckpointError, ConfigError, SyncCallError

from .conformance import CHECKS, Check, put

psycopg = pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")
psycopg_pool = pytest.importorskip("psycopg_pool", reason="PostgresSaver needs the 'postgres' extra")

from psycopg.rows import dict_row  # noqa: E402

from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402
from streamhil.checkpoint.postgres.aio import AsyncPostgresSaver  # noqa: E402

pytestmark = pytest.mark.anyio

Opener = Callable[[str], AbstractAsyncContextManager[BaseCheckpointSaver]]
LANGGRAPH_KWARGS = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
"""What LangGraph's docs open connections with."""


@asynccontextmanager
async def on_connection(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    conn = await anyio.to_thread.run_sync(lambda: psycopg.connect(url, **LANGGRAPH_KWARGS))
    try:
        saver = PostgresSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def on_pool(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    pool = psycopg_pool.ConnectionPool(url, kwargs=LANGGRAPH_KWARGS, max_size=4, open=False)
    await anyio.to_thread.run_sync(pool.open)
    try:
        yield PostgresSaver(pool)  # no setup(): the tables are made on first use
    finally:
        await anyio.to_thread.run_sync(pool.close)


@asynccontextmanager
async def on_async_connection(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    async with await psycopg.AsyncConnection.connect(url, **LANGGRAPH_KWARGS) as conn:
        saver = AsyncPostgresSaver(conn)
        await saver.setup()
        yield saver


@asynccontextmanager
async def on_async_pool(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    async with psycopg_pool.AsyncConnectionPool(url, kwargs=LANGGRAPH_KWARGS, max_size=4, open=False) as pool:
        async with AsyncPostgresSaver(pool) as saver:
            yield saver


SYNC_KINDS = {"connection": on_connection, "pool": on_pool}
ASYNC_KINDS = {"async connection": on_async_connection, "async pool": on_async_pool}
CHECK_IDS = {"ids": lambda check: check.__name__.removeprefix("check_")}


@pytest.mark.parametrize("kind", SYNC_KINDS)
@pytest.mark.parametrize("check", CHECKS, **CHECK_IDS)
async def test_conformance_on_a_sync_connection_or_pool(kind: str, check: Check, postgres_url: str) -> None:
    async with SYNC_KINDS[kind](postgres_url) as saver:
        await check(saver)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ASYNC_KINDS)
@pytest.mark.parametrize("check", CHECKS, **CHECK_IDS)
async def test_conformance_on_an_async_connection_or_pool(kind: str, check: Check, postgres_url: str) -> None:
    async with ASYNC_KINDS[kind](postgres_url) as saver:
        await check(saver)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_saver_is_a_postgres_saver_and_leaves_the_connection_open(postgres_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_url, **LANGGRAPH_KWARGS) as conn:
        async with AsyncPostgresSaver(conn) as saver:
            assert isinstance(saver, PostgresSaver)
            assert saver.conn is conn
            assert "password" not in repr(saver) and "AsyncConnection" in repr(saver)
            await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
        assert not conn.closed
        with pytest.raises(CheckpointError, match="is closed"):
            await saver.aget_tuple(thread_config("t"))
        cursor = await conn.execute("SELECT count(*) AS n FROM streamhil_checkpoints")
        assert (await cursor.fetchone()) == {"n": 1}  # the connection's own row factory is untouched


async def test_a_pipeline_connection_works(postgres_url: str) -> None:
    """LangGraph's ``PostgresSaver(conn, pipe)``: statements go through the pipeline."""

    def run() -> Any:
        with psycopg.connect(postgres_url, **LANGGRAPH_KWARGS) as conn, conn.pipeline() as pipe:
            saver = PostgresSaver(conn, pipe)
            saver.setup()
            saved = saver.put(thread_config("t"), _checkpoint(), {"step": 0}, {"a": 1})
            got = saver.get_tuple(saved)
            return got.checkpoint.channel_values if got else None

    assert await anyio.to_thread.run_sync(run) == {"a": 1}


def _checkpoint() -> Any:
    from .conformance import make_checkpoint

    return make_checkpoint({"a": 1}, {"a": 1})


async def test_what_a_given_connection_must_be(postgres_url: str) -> None:
    def check() -> None:
        with psycopg.connect(postgres_url) as conn:  # not autocommit
            with pytest.raises(ConfigError, match="autocommit=True"):
                PostgresSaver(conn)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            with pytest.raises(ConfigError, match="no serde="):
                PostgresSaver(conn, serde=object())
        pool = psycopg_pool.ConnectionPool(postgres_url, open=False)  # its connections: not autocommit
        with pytest.raises(ConfigError, match="pipe= goes with a single connection"):
            PostgresSaver(pool, object())
        with pool:
            with pytest.raises(ConfigError, match="autocommit=True"):
                PostgresSaver(pool).setup()
        with pytest.raises(ConfigError, match="pipe= goes with a psycopg Connection"):
            PostgresSaver(postgres_url, object())
        with pytest.raises(ConfigError, match="no serde="):
            PostgresSaver.from_conn_string(postgres_url, serde=object())
        PostgresSaver.from_conn_string(postgres_url, pipeline=True).close()  # accepted, not needed

    await anyio.to_thread.run_sync(check)


def test_an_async_connection_elsewhere_than_its_loop(postgres_url: str) -> None:
    """From another thread its loop serves the call; a sync call that blocks that loop, or a
    call after the loop ended, fails with a typed error instead of hanging."""

    async def main() -> AsyncPostgresSaver:
        async with await psycopg.AsyncConnection.connect(postgres_url, **LANGGRAPH_KWARGS) as conn:
            saver = AsyncPostgresSaver(conn)
            await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
            listed = await asyncio.to_thread(lambda: list(saver.list(thread_config("t"))))
            assert len(listed) == 1
            from_trio = await asyncio.to_thread(lambda: trio_get(saver))
            assert from_trio is not None and from_trio.checkpoint.channel_values == {"a": 1}
            with pytest.raises(SyncCallError, match="blocks the event loop"):
                saver.get_tuple(thread_config("t"))
            return saver

    saver = asyncio.run(main())
    with pytest.raises(CheckpointError, match="no longer running"):
        saver.get_tuple(thread_config("t"))


def trio_get(saver: Any) -> Any:
    return anyio.run(saver.aget_tuple, thread_config("t"), backend="trio")


def test_an_async_connection_made_outside_a_loop_is_refused_on_trio(postgres_url: str) -> None:
    conn = anyio.run(lambda: psycopg.AsyncConnection.connect(postgres_url, **LANGGRAPH_KWARGS), backend="asyncio")
    try:
        saver = AsyncPostgresSaver(conn)
        with pytest.raises(CheckpointError, match="works on asyncio only"):
            anyio.run(saver.aget_tuple, thread_config("t"), backend="trio")
    finally:
        thread = threading.Thread(target=lambda: asyncio.run(conn.close()))
        thread.start()
        thread.join()


def _tables(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {row[0] for row in rows}


def test_a_subclass_takes_a_connection_and_conninfo_is_a_keyword(postgres_url: str) -> None:
    class Mine(PostgresSaver):
        pass

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        saver = Mine(conn)
        assert type(saver) is Mine and saver.conn is conn
        saver.setup()
        saver.put(thread_config("t"), _checkpoint(), {"step": 0}, {"a": 1})
    with PostgresSaver(conninfo=postgres_url) as by_keyword:
        assert by_keyword.get_tuple(thread_config("t")) is not None
    with Mine.from_conn_string(postgres_url, pipeline=True) as mine:
        assert type(mine) is Mine and mine.get_tuple(thread_config("t")) is not None
    with pytest.raises(ConfigError, match="not both"):
        PostgresSaver(postgres_url, conninfo=postgres_url)


def test_setup_on_a_sync_connection_outside_a_loop_makes_the_tables_at_once(postgres_url: str) -> None:
    """LangGraph's ``PostgresSaver(conn).setup()`` in a script."""
    with psycopg.connect(postgres_url, **LANGGRAPH_KWARGS) as conn:
        PostgresSaver(conn).setup()
        assert "streamhil_checkpoints" in _tables(postgres_url)


async def test_a_sync_connection_in_async_code_never_blocks_the_loop(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``setup()`` returns an awaitable that makes the tables in a worker thread (not awaited, it
    does nothing: the first call makes them); ``with`` is refused as with a connection string,
    ``async with`` works."""
    from streamhil.checkpoint._postgres_given import GivenDriver

    threads: list[int] = []
    real = GivenDriver.run_blocking

    def run_blocking(self: Any, *args: Any) -> Any:
        threads.append(threading.get_ident())
        return real(self, *args)

    monkeypatch.setattr(GivenDriver, "run_blocking", run_blocking)
    conn = await anyio.to_thread.run_sync(lambda: psycopg.connect(postgres_url, **LANGGRAPH_KWARGS))
    try:
        saver = PostgresSaver(conn)
        pending = saver.setup()
        assert threads == []  # nothing ran on the loop
        await pending
        assert len(threads) == 1 and threads[0] != threading.get_ident()
        assert "streamhil_checkpoints" in await anyio.to_thread.run_sync(_tables, postgres_url)
        with pytest.raises(SyncCallError, match="async with"):
            with saver:
                pass
        async with saver:
            await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
        assert threading.get_ident() not in threads
    finally:
        conn.close()
