"""``streamhil-server --db postgresql://...`` refuses a schema it cannot open with one line and exit
status 2, like every other bad ``--db`` (it printed uvicorn's 45-line traceback and exited with 3):
a ``search_path`` naming no schema that exists, and tables migrated by a newer streamhil. A
schema that goes wrong after the check (the start itself fails) is refused the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg

SERVE = [sys.executable, "-m", "streamhil_server", "--demo", "--port", "0", "--log-level", "warning"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _refused_in_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("streamhil-server: --db: PostgreSQL "), line
    for text in expected:
        assert text in line, line
    return line


def test_a_search_path_naming_no_schema_is_refused_in_one_line(postgres_db_url: str, postgres_url: str) -> None:
    schema = postgres_url.rsplit("search_path=", 1)[1].strip("'").split()[0]
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    done = _run([*SERVE, "--db", postgres_db_url.replace(schema, missing)])
    _refused_in_one_line(done, f"no schema of its search_path ({missing}) exists", "CREATE SCHEMA")
    assert done.stderr.strip().count("\n") == 0 and not done.stdout  # nothing else: the check came first


def test_tables_migrated_by_a_newer_streamhil_are_refused_in_one_line(postgres_db_url: str, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE streamhil_server_migrations (v integer PRIMARY KEY)")
        conn.execute("INSERT INTO streamhil_server_migrations VALUES (99)")
    done = _run([*SERVE, "--db", postgres_db_url])
    _refused_in_one_line(done, "server schema version 99", "upgrade streamhil")


def test_a_schema_the_start_cannot_open_after_the_check_is_refused_in_one_line(
    postgres_db_url: str, postgres_url: str
) -> None:
    """The check passed, then the storage could not create its tables (the schema was dropped
    meanwhile): the start fails, and says why in one line, not uvicorn's traceback."""
    schema = postgres_url.rsplit("search_path=", 1)[1].strip("'").split()[0]
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    skip_check = "import sys, streamhil_server.__main__ as m; m.check_db = lambda db: None; m.main(sys.argv[1:])"
    done = _run([sys.executable, "-c", skip_check, *SERVE[3:], "--db", postgres_db_url.replace(schema, missing)])
    _refused_in_one_line(done, f"no schema of its search_path ({missing}) exists")
