"""SqliteSaver on a connection the caller opened, as LangGraph's savers take one:
``SqliteSaver(sqlite3.connect(path, check_same_thread=False))``, ``AsyncSqliteSaver(aiosqlite
connection)``, and ``":memory:"`` (one connection the saver opens and closes itself)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import TypedDict

import aiosqlite
import pytest

from streamhil.checkpoint.base import thread_config
from streamhil.checkpoint.sqlite import SqliteSaver
from streamhil.checkpoint.sqlite.aio import AsyncSqliteSaver
from streamhil.errors import CheckpointError, ConfigError
from streamhil.graph import START, StateGraph
from streamhil.types import Command, interrupt

from .conformance import CHECKS, Check, make_checkpoint

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.sqlite"


class State(TypedDict):
    x: int


def ask_graph(saver: SqliteSaver) -> object:
    def ask(state: State) -> State:
        return {"x": interrupt("?")}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=saver)


@asynccontextmanager
async def on_sqlite3_connection(db: Path) -> AsyncIterator[SqliteSaver]:
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        async with SqliteSaver(conn) as saver:
            yield saver


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance_on_a_sqlite3_connection(check: Check, db: Path) -> None:
    async with on_sqlite3_connection(db) as saver:
        await check(saver)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance_in_memory(check: Check) -> None:
    async with SqliteSaver.from_conn_string(":memory:") as saver:
        await check(saver)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance_on_an_aiosqlite_connection(check: Check, db: Path) -> None:
    async with aiosqlite.connect(db) as conn:
        async with AsyncSqliteSaver(conn) as saver:
            await check(saver)


def test_langgraph_sync_spelling_on_a_connection(db: Path) -> None:
    """The constructor LangGraph's docs show, with a graph that pauses and resumes."""
    conn = sqlite3.connect(db, check_same_thread=False)
    saver = SqliteSaver(conn)
    graph = ask_graph(saver)
    config = {"configurable": {"thread_id": "1"}}
    graph.invoke({"x": 0}, config)  # type: ignore[attr-defined]
    assert graph.invoke(Command(resume=3), config) == {"x": 3}  # type: ignore[attr-defined]
    assert [t.metadata["step"] for t in saver.list(config)] == [1, 0, -1]
    conn.close()
    with SqliteSaver.from_conn_string(str(db)) as again:  # the history is in the file
        assert again.get_tuple(config).checkpoint.channel_values["x"] == 3  # type: ignore[union-attr]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_langgraph_async_spelling_on_an_aiosqlite_connection(db: Path) -> None:
    conn = await aiosqlite.connect(db)
    graph = ask_graph(AsyncSqliteSaver(conn))
    config = {"configurable": {"thread_id": "1"}}
    await graph.ainvoke({"x": 0}, config)  # type: ignore[attr-defined]
    assert await graph.ainvoke(Command(resume=4), config) == {"x": 4}  # type: ignore[attr-defined]
    await conn.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_aiosqlite_connection_not_yet_awaited_is_started(db: Path) -> None:
    conn = aiosqlite.connect(db)
    saver = AsyncSqliteSaver(conn)
    await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
    assert await saver.aget_tuple(thread_config("t")) is not None
    await conn.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_closed_aiosqlite_connection_is_a_clear_error(db: Path) -> None:
    conn = await aiosqlite.connect(db)
    await conn.close()
    with pytest.raises(CheckpointError, match="aiosqlite connection given to SqliteSaver is closed"):
        await AsyncSqliteSaver(conn).aget_tuple(thread_config("t"))


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_an_aiosqlite_connection_on_trio_is_a_clear_error(db: Path) -> None:
    saver = AsyncSqliteSaver(aiosqlite.connect(db))
    with pytest.raises(CheckpointError, match="asyncio only; on trio give SqliteSaver a file path"):
        await saver.aget_tuple(thread_config("t"))


async def test_the_callers_connection_stays_open_and_keeps_its_settings(db: Path) -> None:
    conn = sqlite3.connect(db, timeout=1.5, check_same_thread=False)
    conn.execute("PRAGMA synchronous = FULL")
    async with SqliteSaver(conn) as saver:
        await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone() == (1,)  # still open
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # the file's, as LangGraph sets
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: the caller's choice kept
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (1500,)
    conn.close()
    with pytest.raises(CheckpointError, match="is closed"):
        await saver.aget_tuple(thread_config("t"))


def test_in_memory_saver_closes_its_own_connection() -> None:
    with SqliteSaver.from_conn_string(":memory:") as saver:
        saver.put(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
        assert saver.get_tuple(thread_config("t")) is not None
        conn = saver.conn
    assert isinstance(conn, sqlite3.Connection)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("SELECT 1")


def test_a_connection_only_its_thread_may_use_is_refused(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        with pytest.raises(ConfigError, match="check_same_thread=False"):
            SqliteSaver(conn)


async def test_a_transaction_left_open_on_the_connection_is_a_clear_error(db: Path) -> None:
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        conn.execute("CREATE TABLE mine (x)")
        saver = SqliteSaver(conn)
        await saver.aget_tuple(thread_config("t"))  # ready the schema first
        conn.execute("INSERT INTO mine VALUES (1)")  # opens a transaction (Python's default mode)
        assert conn.in_transaction
        with pytest.raises(CheckpointError, match="inside a transaction the saver did not start"):
            await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
        conn.commit()
        await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
        assert conn.execute("SELECT x FROM mine").fetchall() == [(1,)]


async def test_a_row_factory_on_the_connection_is_no_problem(db: Path) -> None:
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        conn.row_factory = sqlite3.Row
        async with SqliteSaver(conn) as saver:
            saved = await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {"step": 1}, {"a": 1})
            got = await saver.aget_tuple(thread_config("t"))
            assert got is not None and got.config == saved and got.metadata == {"step": 1}
            assert [t.config for t in [t async for t in saver.alist(None)]] == [saved]
