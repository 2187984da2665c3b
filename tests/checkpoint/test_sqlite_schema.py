"""SqliteSaver's schema: a file of an older version is migrated, and every listing reads its rows
in list order from an index (no temporary b-tree sorting the whole thread or file per page)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from streamhil.checkpoint import _sqlite_sql as sql
from streamhil.checkpoint._records import ListScope
from streamhil.checkpoint.sqlite import SqliteSaver

from .listing_scopes import LISTING_SCOPES


def _fill(conn: sqlite3.Connection, threads: int, rows: int) -> None:
    """Empty checkpoints (no channels) in two namespaces of several threads, in one transaction."""
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO checkpoints VALUES (?, ?, ?, NULL, 'ts', 1, '{}', '{}', '{}')",
        [(f"t{g % threads}", "sub:x" if g % 3 == 0 else "", f"{g:012d}") for g in range(1, rows + 1)],
    )
    conn.execute("COMMIT")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _indexes(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'checkpoints'")
    return {row[0] for row in rows}


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        _run_script(conn, sql.MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
        _fill(conn, threads=2, rows=12)
        assert "checkpoints_by_id" in _indexes(conn)
    with SqliteSaver.from_path(db) as saver:
        listed = list(saver.list({"configurable": {"thread_id": "t1"}}))  # every namespace
        assert [t.checkpoint.id for t in listed] == [f"{g:012d}" for g in (11, 9, 7, 5, 3, 1)]
        assert len(list(saver.list(None))) == 12
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchall() == [(sql.SCHEMA_VERSION,)]
        assert {"checkpoints_by_thread", "checkpoints_in_list_order"} <= _indexes(conn)
        assert "checkpoints_by_id" not in _indexes(conn)


@pytest.mark.parametrize(
    ("scope", "after"),
    LISTING_SCOPES,
    ids=str,
)
def test_listings_read_an_index_in_list_order(tmp_path: Path, scope: ListScope, after: Any) -> None:
    db = tmp_path / "list.sqlite"
    with SqliteSaver.from_path(db):
        pass  # the tables
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        _fill(conn, threads=7, rows=3000)
        conn.execute("ANALYZE")
        statement = next(sql.list_page(scope, after, None, 50, 50))
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params)]
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert all(step.startswith(("SEARCH", "SCAN")) and ("INDEX" in step or "PRIMARY KEY" in step) for step in plan), plan
