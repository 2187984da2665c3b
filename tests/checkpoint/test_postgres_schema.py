"""PostgresSaver's schema: a database of an older version is migrated, and every listing reads
its rows in list order from an index (no sort of the whole thread or table per page)."""

from __future__ import annotations

from typing import Any

import pytest

from streamhil.checkpoint._records import ListScope

from .listing_scopes import LISTING_SCOPES

psycopg = pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")

from streamhil.checkpoint import _postgres_schema as schema  # noqa: E402
from streamhil.checkpoint import _postgres_sql as sql  # noqa: E402
from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402

pytestmark = pytest.mark.anyio

_FILL = """
INSERT INTO streamhil_checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, ts, v, metadata, versions, values_from)
SELECT 't' || (g %% %(threads)s), CASE WHEN g %% 3 = 0 THEN 'sub:x' ELSE '' END,
       lpad(g::text, 12, '0'), 'ts', 1, '{}', '{}', '{}'
FROM generate_series(1, %(rows)s) AS g
"""
"""Empty checkpoints (no channels) in two namespaces of several threads."""


def _indexes(conn: Any) -> set[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'streamhil_checkpoints'"
    ).fetchall()
    return {row[0] for row in rows}


def test_a_version_1_database_is_migrated(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE streamhil_checkpoint_migrations (v integer PRIMARY KEY)")
        conn.execute(schema.MIGRATIONS[0])
        conn.execute("INSERT INTO streamhil_checkpoint_migrations (v) VALUES (1)")
        conn.execute(_FILL, {"threads": 2, "rows": 12})
        assert "streamhil_checkpoints_by_id" in _indexes(conn)
    with PostgresSaver.from_conn_string(postgres_url) as saver:
        listed = list(saver.list({"configurable": {"thread_id": "t1"}}))  # every namespace
        assert [t.checkpoint.id for t in listed] == [f"{g:012d}" for g in (11, 9, 7, 5, 3, 1)]
        assert len(list(saver.list(None))) == 12
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        versions = conn.execute("SELECT v FROM streamhil_checkpoint_migrations ORDER BY v").fetchall()
        assert versions == [(v,) for v in range(1, schema.SCHEMA_VERSION + 1)]
        assert _indexes(conn) == {
            "streamhil_checkpoints_pkey",
            "streamhil_checkpoints_by_thread",
            "streamhil_checkpoints_in_list_order",
        }


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _plan_nodes(child))]


@pytest.mark.parametrize(
    ("scope", "after"),
    LISTING_SCOPES,
    ids=str,
)
def test_listings_read_an_index_in_list_order(postgres_url: str, scope: ListScope, after: Any) -> None:
    """With sequential scans and sorts discouraged, the planner reads the checkpoints through an
    index and sorts nothing: it would sort (whatever it costs) if no index gave the list order."""
    with PostgresSaver.from_conn_string(postgres_url):
        pass  # the tables, migrated
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(_FILL, {"threads": 7, "rows": 3000})
        conn.execute("ANALYZE streamhil_checkpoints")
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_sort = off")
        statement = next(sql.list_page(scope, after, None, 50, 50))
        assert isinstance(statement, sql.Sql)
        ((plan,),) = conn.execute("EXPLAIN (FORMAT JSON) " + statement.sql, statement.params).fetchall()
    nodes = _plan_nodes(plan[0]["Plan"])
    sorts = [node for node in nodes if "Sort" in node["Node Type"]]
    assert sorts == [], sorts
    (scan,) = [node for node in nodes if node.get("Relation Name") == "streamhil_checkpoints"]
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan
