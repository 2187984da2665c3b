"""One face for both runtimes, so every workload builds the *same* graph on each.

A workload takes a :class:`Lib` and uses only its fields (``StateGraph``, ``START``, ``END``,
``interrupt``, ``Command``, ``Send`` and the saver factories). The two instances are
``STREAMHIL`` and ``LANGGRAPH`` (the latter is ``None`` when LangGraph is not installed).

PostgreSQL savers need a server: ``STREAMHIL_BENCH_POSTGRES_URL`` (else
``STREAMHIL_TEST_POSTGRES_URL``, which ``.ci/run`` sets) names it; each sample works in a fresh
schema of its own (see ``workloads._common.open_saver``). Without one, those rows show n/a.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import streamhil
import streamhil.types

__all__ = [
    "Lib",
    "STREAMHIL",
    "LANGGRAPH",
    "SaverUnavailable",
    "SqliteUnavailable",
    "PostgresUnavailable",
    "libraries",
    "postgres_url",
]


class SaverUnavailable(RuntimeError):
    """A saver this run cannot use (reported as n/a, not as a failure)."""


class SqliteUnavailable(SaverUnavailable):
    """The library has no SQLite saver usable in this mode."""


class PostgresUnavailable(SaverUnavailable):
    """No PostgreSQL server to run on, or the library's PostgreSQL saver is not installed."""


def postgres_url() -> str:
    """The server the PostgreSQL rows run on; raises :class:`PostgresUnavailable` without one."""
    url = os.environ.get("STREAMHIL_BENCH_POSTGRES_URL") or os.environ.get("STREAMHIL_TEST_POSTGRES_URL")
    if not url:
        raise PostgresUnavailable(
            "set STREAMHIL_BENCH_POSTGRES_URL (or STREAMHIL_TEST_POSTGRES_URL) to a PostgreSQL server"
        )
    return url


@dataclass(frozen=True)
class Lib:
    """What a workload needs from a runtime."""

    name: str
    StateGraph: Any
    START: str
    END: str
    interrupt: Callable[[Any], Any]
    Command: Any
    Send: Any
    memory_saver: Callable[[], Any]
    open_sqlite: Callable[..., contextlib.AbstractAsyncContextManager[Any]]
    """``async with lib.open_sqlite(path, normal_sync=False) as saver``: the async SQLite saver
    on ``path``. ``normal_sync`` puts the connection on ``PRAGMA synchronous=NORMAL`` (no fsync
    per commit in WAL mode), which is streamhil's setting; LangGraph ships with SQLite's default
    (FULL: an fsync of the WAL on every commit)."""
    open_sqlite_sync: Callable[..., contextlib.AbstractContextManager[Any]]
    """``with lib.open_sqlite_sync(path, normal_sync=False) as saver``: for the sync ``invoke``."""
    open_postgres: Callable[[str], contextlib.AbstractAsyncContextManager[Any]]
    """``async with lib.open_postgres(conninfo) as saver``: the async PostgreSQL saver, its tables
    created. streamhil: ``PostgresSaver.from_conn_string``; LangGraph: ``AsyncPostgresSaver`` on
    a psycopg ``AsyncConnectionPool`` configured as its docs say, after ``setup()``."""
    open_postgres_sync: Callable[[str], contextlib.AbstractContextManager[Any]]
    """``with lib.open_postgres_sync(conninfo) as saver``: for the sync ``invoke``."""


# -- streamhil ---------------------------------------------------------------------------------


def _streamhil_sqlite_class() -> Any:
    try:
        from streamhil.checkpoint.sqlite import SqliteSaver
    except ImportError as exc:
        raise SqliteUnavailable(f"streamhil.checkpoint.sqlite is not importable ({exc})") from exc
    return SqliteSaver


@contextlib.asynccontextmanager
async def _streamhil_sqlite(path: str, normal_sync: bool = False) -> AsyncIterator[Any]:
    # streamhil's SqliteSaver always runs WAL with synchronous=NORMAL.
    async with _streamhil_sqlite_class().from_path(path) as saver:
        yield saver


@contextlib.contextmanager
def _streamhil_sqlite_sync(path: str, normal_sync: bool = False) -> Iterator[Any]:
    with _streamhil_sqlite_class().from_path(path) as saver:
        yield saver


def _streamhil_postgres_class() -> Any:
    try:
        from streamhil.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise PostgresUnavailable(f"streamhil.checkpoint.postgres is not importable ({exc})") from exc
    return PostgresSaver


@contextlib.asynccontextmanager
async def _streamhil_postgres(conninfo: str) -> AsyncIterator[Any]:
    async with _streamhil_postgres_class().from_conn_string(conninfo) as saver:
        yield saver


@contextlib.contextmanager
def _streamhil_postgres_sync(conninfo: str) -> Iterator[Any]:
    with _streamhil_postgres_class().from_conn_string(conninfo) as saver:
        yield saver


STREAMHIL = Lib(
    name="streamhil",
    StateGraph=streamhil.StateGraph,
    START=streamhil.START,
    END=streamhil.END,
    interrupt=streamhil.interrupt,
    Command=streamhil.Command,
    Send=streamhil.types.Send,
    memory_saver=streamhil.InMemorySaver,
    open_sqlite=_streamhil_sqlite,
    open_sqlite_sync=_streamhil_sqlite_sync,
    open_postgres=_streamhil_postgres,
    open_postgres_sync=_streamhil_postgres_sync,
)


# -- LangGraph ---------------------------------------------------------------------------------


def _make_langgraph() -> Lib | None:
    try:
        import langgraph.graph as graph
        import langgraph.types as types
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    except ImportError:
        return None

    @contextlib.asynccontextmanager
    async def open_sqlite(path: str, normal_sync: bool = False) -> AsyncIterator[Any]:
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            if normal_sync:
                await saver.conn.execute("PRAGMA synchronous = NORMAL")
            yield saver

    @contextlib.contextmanager
    def open_sqlite_sync(path: str, normal_sync: bool = False) -> Iterator[Any]:
        with SqliteSaver.from_conn_string(path) as saver:
            if normal_sync:
                saver.conn.execute("PRAGMA synchronous = NORMAL")
            yield saver

    @contextlib.asynccontextmanager
    async def open_postgres(conninfo: str) -> AsyncIterator[Any]:
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
            from psycopg.rows import dict_row
            from psycopg_pool import AsyncConnectionPool
        except ImportError as exc:
            raise PostgresUnavailable(f"langgraph-checkpoint-postgres is not installed ({exc})") from exc
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        async with AsyncConnectionPool(conninfo, min_size=1, max_size=10, kwargs=kwargs, open=False) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver

    @contextlib.contextmanager
    def open_postgres_sync(conninfo: str) -> Iterator[Any]:
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as exc:
            raise PostgresUnavailable(f"langgraph-checkpoint-postgres is not installed ({exc})") from exc
        with PostgresSaver.from_conn_string(conninfo) as saver:
            saver.setup()
            yield saver

    return Lib(
        name="langgraph",
        StateGraph=graph.StateGraph,
        START=graph.START,
        END=graph.END,
        interrupt=types.interrupt,
        Command=types.Command,
        Send=types.Send,
        memory_saver=InMemorySaver,
        open_sqlite=open_sqlite,
        open_sqlite_sync=open_sqlite_sync,
        open_postgres=open_postgres,
        open_postgres_sync=open_postgres_sync,
    )


LANGGRAPH = _make_langgraph()


def libraries() -> tuple[Lib, Lib]:
    """``(LANGGRAPH, STREAMHIL)``; raises with the install hint when LangGraph is missing."""
    if LANGGRAPH is None:
        raise SystemExit("LangGraph is not installed: pip install -e '.[bench]'")
    return LANGGRAPH, STREAMHIL
