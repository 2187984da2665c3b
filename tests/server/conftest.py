"""Fixtures: a TestClient factory on the test's anyio backend, an open connection helper, and
``db``: each durable store a server can use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from streamhil_server import create_app

from .wire import Wire

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
# A server without tokens answers loopback host names only (DNS-rebinding defence).
LOCAL_HTTP = "http://localhost"
LOCAL_WS = "ws://localhost/ws"


@pytest.fixture
def make_client(anyio_backend: str) -> Callable[..., Any]:
    """``make_client(graphs, **create_app_kwargs)`` → a TestClient context on this backend."""

    @contextmanager
    def factory(graphs: Any = None, **kwargs: Any) -> Iterator[TestClient]:
        kwargs.setdefault("tokens", TOKENS)
        app = create_app(graphs, **kwargs)
        with TestClient(app, backend=anyio_backend, base_url=LOCAL_HTTP) as client:
            yield client

    return factory


@contextmanager
def connect(client: TestClient, token: str | None = "alice-token", url: str = LOCAL_WS, **kwargs: Any) -> Iterator[Wire]:
    """An open connection that said hello with ``token``."""
    with client.websocket_connect(url, **kwargs) as ws:
        wire = Wire(ws)
        welcome = wire.hello(token)
        assert welcome["type"] == "welcome", welcome
        yield wire


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or a PostgreSQL URL to a fresh schema (skipped when no server answers)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db_url"))
    return str(tmp_path / "s.sqlite")
