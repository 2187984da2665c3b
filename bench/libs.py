"""One face for both runtimes, so every workload builds the *same* graph on each.

A workload takes a :class:`Lib` and uses only its fields (``StateGraph``, ``START``, ``END``,
``interrupt``, ``Command``, ``Send`` and the saver factories). The two instances are
``STREAMHIL`` and ``LANGGRAPH`` (the latter is ``None`` when LangGraph is not installed).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import streamhil
import streamhil.types

__all__ = ["Lib", "STREAMHIL", "LANGGRAPH", "SqliteUnavailable", "libraries"]


class SqliteUnavailable(RuntimeError):
    """The library has no SQLite saver usable in this mode (reported as n/a, not as a failure)."""


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
    )


LANGGRAPH = _make_langgraph()


def libraries() -> tuple[Lib, Lib]:
    """``(LANGGRAPH, STREAMHIL)``; raises with the install hint when LangGraph is missing."""
    if LANGGRAPH is None:
        raise SystemExit("LangGraph is not installed: pip install -e '.[bench]'")
    return LANGGRAPH, STREAMHIL
