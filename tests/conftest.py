"""Shared fixtures: every async test runs on asyncio and on trio unless its module pins a backend.

``postgres_url`` is a connection string to a schema of its own (dropped afterwards) on the
PostgreSQL server that ``STREAMHIL_TEST_POSTGRES_URL`` names (``.ci/run`` starts one and sets
it). Without that variable, or without a server answering there, tests that use it are skipped
with the reason; under CI (``CI`` set) they fail instead, so CI cannot skip them silently.

A hang guard fails any *sync* test (the browser tests drive Chromium synchronously) that runs
longer than ``HANG_LIMIT`` seconds, so a stuck browser or server fails a test instead of CI.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from types import FrameType

import pytest

HANG_LIMIT = 240.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _hang_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    function = getattr(request.node, "function", None)
    if (
        function is None
        or inspect.iscoroutinefunction(function)
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
    ):
        yield
        return

    def fail(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"{request.node.nodeid} ran longer than {HANG_LIMIT:.0f} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


POSTGRES_ENV = "STREAMHIL_TEST_POSTGRES_URL"
_postgres_problem: list[str | None] = []  # computed once per session


def _postgres_unreachable(url: str) -> str | None:
    """None when a server answers at ``url``, else why not."""
    if not _postgres_problem:
        try:
            import psycopg
        except ImportError:
            _postgres_problem.append("psycopg is not installed (pip install 'streamhil[postgres]')")
        else:
            try:
                with psycopg.connect(url, connect_timeout=3) as conn:
                    conn.execute("SELECT 1")
                _postgres_problem.append(None)
            except psycopg.Error as exc:
                _postgres_problem.append(f"no PostgreSQL server answers at {POSTGRES_ENV}: {exc}")
    return _postgres_problem[0]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A connection string whose ``search_path`` is a fresh schema, dropped after the test."""
    url = os.environ.get(POSTGRES_ENV)
    problem = (
        _postgres_unreachable(url)
        if url
        else f"{POSTGRES_ENV} is not set (.ci/run starts PostgreSQL 15 and sets it)"
    )
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {problem}")
        pytest.skip(problem)
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        options = conninfo_to_dict(url).get("options") or ""
        yield make_conninfo(url, options=f"{options} -csearch_path={schema}".strip())
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_db_url(postgres_url: str) -> str:
    """``postgres_url`` as a ``postgresql://`` URL (what ``--db`` and ``create_app(db=...)`` take)."""
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    parts = {k: str(v) for k, v in conninfo_to_dict(postgres_url).items() if v is not None}
    user = quote(parts.pop("user", ""), safe="")
    password = parts.pop("password", None)
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host, port, dbname = parts.pop("host", "localhost"), parts.pop("port", "5432"), parts.pop("dbname", "")
    query = f"?{urlencode(parts)}" if parts else ""
    return f"postgresql://{auth}{host}:{port}/{quote(dbname, safe='')}{query}"
