"""Slow HTTP clients (issue 8, item 6): sockets that send nothing, or stop half way through a
request, are closed after the request timeout; real clients are served meanwhile."""

from __future__ import annotations

import resource
import anyio
import httpx
import pytest
from streamhil_client import open_client
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.http_timeouts import descriptor_limit, stalling_protocol

from .conftest import serve

pytestmark = pytest.mark.anyio

STALLS = {
    "nothing": b"",
    "half a request line": b"GET /heal",
    "half the headers": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    "half a body": b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789",
}


async def test_stalled_requests_are_closed_and_others_served() -> None:
    options = {"http": stalling_protocol(0.5)}
    async with serve(demo_graphs(), uvicorn_options=options) as (url, _app):
        port = int(url.split(":")[2].split("/")[0])
        closed: dict[str, bool] = {}

        async def stall(name: str, data: bytes) -> None:
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                if data:
                    await stream.send(data)
                with anyio.fail_after(10):
                    try:
                        while await stream.receive():
                            pass  # a 4xx from the server is fine too; what matters is the close
                    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                        pass
                closed[name] = True

        async with anyio.create_task_group() as tg:
            for name, data in STALLS.items():
                tg.start_soon(stall, name, data)
            # Meanwhile a real client is served over HTTP and WebSocket.
            async with httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{port}/healthz")
                assert health.json()["status"] == "ok"
            async with open_client(url, token="alice-token") as client:
                run = await client.start_run("approve", {"request": "deploy"})
                events = [event async for event in run]
                assert type(events[-1]).__name__ == "RunInterruptedEvent"
        assert closed == dict.fromkeys(STALLS, True)


async def test_a_complete_request_on_a_kept_alive_connection_is_served() -> None:
    async with serve(demo_graphs(), uvicorn_options={"http": stalling_protocol(0.5)}) as (url, _app):
        port = int(url.split(":")[2].split("/")[0])
        async with httpx.AsyncClient() as http:  # one connection, several requests
            for _ in range(3):
                assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200


def test_descriptor_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = descriptor_limit()
    assert limit >= soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == limit
    if hard != resource.RLIM_INFINITY:
        assert limit == hard

