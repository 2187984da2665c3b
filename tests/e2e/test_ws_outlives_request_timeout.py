"""A WebSocket is not an HTTP request that stalls: the slowloris deadline (``--request-timeout``)
must not close it once the upgrade is done (found while checking the dashboard, issue 14: every
page reconnected every 10 s)."""

from __future__ import annotations

import anyio
import pytest
from streamhil_client import open_client
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.http_timeouts import stalling_protocol

from .conftest import TIMEOUT, serve

pytestmark = pytest.mark.anyio

DEADLINE = 0.3


async def test_an_open_websocket_outlives_the_request_deadline() -> None:
    async with serve(demo_graphs(), uvicorn_options={"http": stalling_protocol(DEADLINE)}) as (url, _):
        async with open_client(url, token="alice-token", reconnect=False) as client:
            with anyio.fail_after(TIMEOUT):
                began = anyio.current_time()
                answered = 0
                while anyio.current_time() - began < DEADLINE * 4:  # answered pings, past the deadline
                    assert await client.ping(answered) == answered
                    answered += 1
                assert client.statistics().reconnects == 0
