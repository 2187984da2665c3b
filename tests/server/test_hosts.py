"""DNS-rebinding defence (issue 8, item 4): a server without tokens answers loopback host names
only, over HTTP and for WebSocket upgrades, unless told which other names to serve."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from streamhil_server import ServerSettings, create_app
from streamhil_server.hosts import host_allowed, host_name

from .conftest import connect
from .graphs import counter


@pytest.mark.parametrize(
    "header,name",
    [("localhost:8000", "localhost"), ("[::1]:8000", "::1"), ("[::1]", "::1"), ("Example.COM", "example.com"),
     ("127.0.0.1", "127.0.0.1"), ("::1", "::1")],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    "header,allowed,ok",
    [
        ("localhost:8000", None, True),
        ("app.localhost:8000", None, True),
        ("127.0.0.1:8000", None, True),
        ("127.8.9.10", None, True),
        ("[::1]:8000", None, True),
        ("evil.example:8000", None, False),
        ("localhost.evil.example", None, False),
        ("127.0.0.1.nip.io", None, False),
        ("192.168.1.5:8000", None, False),
        ("", None, False),
        (None, None, False),
        ("evil.example", ("good.example",), False),
        ("good.example:443", ("good.example",), True),
        ("api.good.example", (".good.example",), True),
        ("good.example", (".good.example",), True),
        ("notgood.example", (".good.example",), False),
        ("anything.example", ("*",), True),
    ],
)
def test_host_allowed(header: str | None, allowed: tuple[str, ...] | None, ok: bool) -> None:
    assert host_allowed(header, allowed) is ok


def _client(anyio_backend: str, host: str, **kwargs: Any) -> TestClient:
    app = create_app({"counter": counter()}, **kwargs)
    return TestClient(app, backend=anyio_backend, base_url=f"http://{host}")


def test_open_server_refuses_a_rebound_host(anyio_backend: str) -> None:
    with _client(anyio_backend, "attacker.example:8000") as client:
        for path in ("/healthz", "/metrics", "/chat/", "/"):
            refused = client.get(path, headers={"origin": "http://attacker.example:8000"})
            assert refused.status_code == 403 and "--allow-host" in refused.text
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect("ws://attacker.example:8000/ws", headers={"origin": "http://attacker.example:8000"}) as ws:
                ws.receive_text()
        assert closed.value.code == 1008


def test_open_server_serves_loopback_names(anyio_backend: str) -> None:
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        with _client(anyio_backend, host) as client:
            assert client.get("/healthz").json()["status"] == "ok"
            with connect(client, None, url=f"ws://{host}/ws", headers={"origin": f"http://{host}"}) as wire:
                tid = wire.request("start_run", graph="counter", input={"n": 1})["thread_id"]
                assert wire.run_end(tid)["event"] == "run_done"


def test_allowed_hosts_are_served(anyio_backend: str) -> None:
    settings = ServerSettings(allowed_hosts=("hil.example",))
    with _client(anyio_backend, "hil.example", settings=settings) as client:
        assert client.get("/healthz").status_code == 200
        with connect(client, None, url="ws://hil.example/ws") as wire:
            wire.request("ping")
    with _client(anyio_backend, "other.example", settings=settings) as client:
        assert client.get("/healthz").status_code == 403


def test_a_server_with_tokens_needs_no_host_list(anyio_backend: str) -> None:
    with _client(anyio_backend, "hil.example", tokens={"tok": "alice"}) as client:
        assert client.get("/healthz").status_code == 200
        with connect(client, "tok", url="ws://hil.example/ws") as wire:
            wire.request("ping")
    # an explicit list applies with tokens too
    settings = ServerSettings(allowed_hosts=("hil.example",))
    with _client(anyio_backend, "evil.example", tokens={"tok": "alice"}, settings=settings) as client:
        assert client.get("/healthz").status_code == 403


def test_settings_refuse_empty_host_names() -> None:
    with pytest.raises(ValueError, match="allowed_hosts"):
        ServerSettings(allowed_hosts=("",))
    with pytest.raises(ValueError, match="metrics_token"):
        ServerSettings(metrics_token="")
