"""Workload 9: how much SQLite stores per checkpoint for a one-integer state.

Runs the 100-node chain once on a fresh SQLite file with each runtime's async saver, counts the
thread's checkpoints through the saver's own ``alist``, closes the saver, and reads the file
with the stdlib ``sqlite3``:

* row payload: the sum over every table and row of each column's length in bytes (numbers count
  as their decimal text), divided by the number of checkpoints;
* file pages: the bytes of every page of every table and index (SQLite's ``dbstat``), divided
  by the number of checkpoints.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from harness import LANGGRAPH, STREAMHIL, STREAMHIL_TRIO, Case, Variant, on_backend
from libs import Lib, libraries
from workloads._common import Settings, new_config, temp_db_path
from workloads.chain import NODES, build_chain

__all__ = ["row_payload", "page_bytes", "chain_on_sqlite", "cases"]


def _tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [name for (name,) in rows]


def row_payload(path: str) -> dict[str, int]:
    """Bytes of column values per table."""
    con = sqlite3.connect(path)
    try:
        sizes = {}
        for table in _tables(con):
            columns = [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]
            total = " + ".join(f'COALESCE(LENGTH(CAST("{c}" AS BLOB)), 0)' for c in columns)
            sizes[table] = con.execute(f'SELECT COALESCE(SUM({total}), 0) FROM "{table}"').fetchone()[0]
        return sizes
    finally:
        con.close()


def page_bytes(path: str) -> int:
    """Bytes of all pages holding tables and indexes."""
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT SUM(pgsize) FROM dbstat WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
    finally:
        con.close()


async def chain_on_sqlite(lib: Lib, path: str) -> int:
    """Runs the chain once on ``path``; returns how many checkpoints the thread has."""
    config = new_config()
    async with lib.open_sqlite(path) as saver:
        graph = build_chain(lib).compile(checkpointer=saver)
        out = await graph.ainvoke({"x": 0}, config)
        if out != {"x": NODES}:
            raise AssertionError(f"chain ended with {out!r}")
        return len([item async for item in saver.alist(config)])


def _size_variant(column: str, lib: Lib, backend: str, measure: Callable[[str], float]) -> Variant:
    def run() -> float:
        with temp_db_path() as path:
            count = on_backend(backend, lambda: chain_on_sqlite(lib, path))()
            return measure(path) / count

    return Variant(column, run)


def cases(settings: Settings) -> list[Case]:
    langgraph, streamhil = libraries()
    measures: list[tuple[str, str, Callable[[str], float]]] = [
        ("rows", "row payload", lambda path: float(sum(row_payload(path).values()))),
        ("pages", "file pages", lambda path: float(page_bytes(path))),
    ]
    out = []
    for key, label, measure in measures:
        variants = [
            _size_variant(LANGGRAPH, langgraph, "asyncio", measure),
            _size_variant(STREAMHIL, streamhil, "asyncio", measure),
        ]
        if settings.trio:
            variants.append(_size_variant(STREAMHIL_TRIO, streamhil, "trio", measure))
        out.append(
            Case(
                key=f"size-{key}",
                title=f"sqlite bytes per checkpoint, chain {NODES}, {label}",
                unit="KB/ckpt",
                scale=1e-3,
                variants=variants,
                reps=1,
                warmup=0,
            )
        )
    return out
