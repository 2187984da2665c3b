"""Helpers the workloads share: thread configs, saver opening, temporary database files."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from harness import LANGGRAPH, STREAMHIL, STREAMHIL_TRIO, Variant, on_backend
from libs import Lib, libraries, postgres_url

__all__ = [
    "clock",
    "use_clock",
    "SaverKind",
    "Settings",
    "new_config",
    "open_saver",
    "open_saver_sync",
    "temp_db_path",
    "temp_postgres_schema",
    "async_variants",
    "sync_variants",
]

SaverKind = Literal["none", "memory", "sqlite", "sqlite-normal", "postgres", "postgres-async-commit"]
"""``sqlite``: each library's SQLite saver as shipped. ``sqlite-normal``: the same, with both on
``synchronous=NORMAL`` (LangGraph's default is FULL, an fsync per commit; streamhil's is NORMAL).
``postgres``: each library's PostgreSQL saver, in a fresh schema on the server that
:func:`libs.postgres_url` names, with the server's ``synchronous_commit`` (on: a WAL flush per
commit). ``postgres-async-commit``: the same with both sessions on ``synchronous_commit=off``
(PostgreSQL's counterpart of SQLite's NORMAL: a server crash may lose the last commits)."""

_thread_ids = itertools.count()

_CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def use_clock(name: str) -> None:
    """``wall`` (``perf_counter``, the default) or ``cpu`` (``process_time``: CPU seconds of the
    whole process, every thread included; less sensitive to other processes on a shared box).
    The sleep fan-outs always use the wall clock: they measure latency."""
    global _clock
    if name not in _CLOCKS:
        raise ValueError(f"unknown clock {name!r}: expected one of {', '.join(_CLOCKS)}")
    _clock = _CLOCKS[name]


def clock() -> float:
    """The current reading of the clock chosen with :func:`use_clock`."""
    return _clock()


def new_config(recursion_limit: int = 10_000) -> dict[str, Any]:
    """The config of a thread never used before in this process."""
    return {"configurable": {"thread_id": f"bench-{next(_thread_ids)}"}, "recursion_limit": recursion_limit}


@contextlib.contextmanager
def temp_db_path() -> Iterator[str]:
    """A path for a fresh SQLite file, removed (with its -wal/-shm files) afterwards."""
    with tempfile.TemporaryDirectory(prefix="streamhil-bench-") as folder:
        yield os.path.join(folder, "bench.sqlite")


@contextlib.contextmanager
def temp_postgres_schema(async_commit: bool = False) -> Iterator[str]:
    """A connection string whose ``search_path`` is a fresh schema, dropped afterwards;
    ``async_commit`` adds ``synchronous_commit=off`` to the session options."""
    import uuid

    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    url = postgres_url()
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        options = conninfo_to_dict(url).get("options") or ""
        options = f"{options} -csearch_path={schema}"
        if async_commit:
            options += " -csynchronous_commit=off"
        yield make_conninfo(url, options=options.strip())
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.asynccontextmanager
async def open_saver(lib: Lib, kind: SaverKind) -> AsyncIterator[Any]:
    """No saver, a fresh in-memory saver, or the async SQLite (PostgreSQL) saver on a fresh file
    (schema)."""
    if kind == "none":
        yield None
    elif kind == "memory":
        yield lib.memory_saver()
    elif kind in ("postgres", "postgres-async-commit"):
        with temp_postgres_schema(kind == "postgres-async-commit") as conninfo:
            async with lib.open_postgres(conninfo) as saver:
                yield saver
    else:
        with temp_db_path() as path:
            async with lib.open_sqlite(path, normal_sync=kind == "sqlite-normal") as saver:
                yield saver


@contextlib.contextmanager
def open_saver_sync(lib: Lib, kind: SaverKind) -> Iterator[Any]:
    """As :func:`open_saver`, for the sync API."""
    if kind == "none":
        yield None
    elif kind == "memory":
        yield lib.memory_saver()
    elif kind in ("postgres", "postgres-async-commit"):
        with temp_postgres_schema(kind == "postgres-async-commit") as conninfo, lib.open_postgres_sync(conninfo) as saver:
            yield saver
    else:
        with temp_db_path() as path, lib.open_sqlite_sync(path, normal_sync=kind == "sqlite-normal") as saver:
            yield saver


def async_variants(body: Callable[[Lib], Awaitable[float]], *, trio: bool) -> list[Variant]:
    """LangGraph and streamhil on asyncio, plus streamhil on trio when ``trio``."""
    langgraph, streamhil = libraries()
    variants = [
        Variant(LANGGRAPH, on_backend("asyncio", functools.partial(body, langgraph))),
        Variant(STREAMHIL, on_backend("asyncio", functools.partial(body, streamhil))),
    ]
    if trio:
        variants.append(Variant(STREAMHIL_TRIO, on_backend("trio", functools.partial(body, streamhil))))
    return variants


def sync_variants(body: Callable[[Lib], float]) -> list[Variant]:
    """LangGraph and streamhil through their sync API (no event loop of ours)."""
    langgraph, streamhil = libraries()
    return [
        Variant(LANGGRAPH, functools.partial(body, langgraph)),
        Variant(STREAMHIL, functools.partial(body, streamhil)),
    ]


@dataclass(frozen=True)
class Settings:
    """How big a run is: ``quick`` cuts repetitions; ``trio`` adds streamhil-on-trio columns."""

    quick: bool = False
    trio: bool = True

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full
