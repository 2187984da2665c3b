"""Healthy clients stay connected and served while others misbehave (issue 8, item 5), over
real sockets: a reader on a fast run, a client that pipelines many commands, a client that sends
big commands and reads nothing, and an identity that starts a flood of runs."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest
from streamhil_client import LimitError, open_client
from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import TIMEOUT, serve
from .graphs import Gate, streaming

pytestmark = pytest.mark.anyio


async def test_a_reader_keeps_up_with_a_fast_run() -> None:
    """20,000 events as fast as the run can make them: the reading watcher gets every one."""
    gate = Gate()
    gate.open()
    async with serve({"streaming": streaming(gate, 20_000)}) as (url, app):
        async with open_client(url, token="alice-token") as client:
            with anyio.fail_after(TIMEOUT * 3):
                run = await client.start_run("streaming", {}, stream_modes=["custom"])
                custom = [e.data["i"] async for e in run if e.event == "custom"]
        assert custom == list(range(-1, 20_000))
        assert app.state.runtime.slow_consumers == 0


async def test_pipelined_commands_of_a_reading_client_are_all_answered() -> None:
    async with serve(demo_graphs()) as (url, app):
        async with open_client(url, token="alice-token") as client:
            with anyio.fail_after(TIMEOUT * 3):
                results: list[Any] = []

                async def ping(i: int) -> None:
                    results.append(await client.ping(i))

                async with anyio.create_task_group() as tg:
                    for i in range(3_000):
                        tg.start_soon(ping, i)
        assert len(results) == 3_000
        assert app.state.runtime.slow_consumers == 0


async def test_a_client_that_reads_nothing_is_bounded_in_bytes_and_closed() -> None:
    settings = ServerSettings(max_send_queue_bytes=1 << 20, heartbeat_interval_ms=300)
    payload = "x" * 200_000
    async with serve(demo_graphs(), settings=settings) as (url, app):
        async with connect(url, max_size=None, max_queue=1, compression=None) as ws:
            await ws.send(orjson.dumps({"type": "hello", "protocol_version": 1, "token": "alice-token"}).decode())
            await ws.recv()
            with anyio.fail_after(TIMEOUT):
                try:
                    for i in range(400):  # 80 MB of replies asked for, none read
                        await ws.send(orjson.dumps({"type": "ping", "id": str(i), "payload": payload}).decode())
                except ConnectionClosed:
                    pass
                await ws.wait_closed()  # the server closed it (4008, or aborted once its close timed out)
        assert app.state.runtime.slow_consumers == 1
        # meanwhile others are served
        async with open_client(url, token="bob-token") as other:
            assert await other.ping("still here") == "still here"


async def test_one_identity_flooding_runs_does_not_starve_another() -> None:
    settings = ServerSettings(max_runs_per_identity=50, max_concurrent_runs_per_identity=4)
    async with serve(demo_graphs(), settings=settings) as (url, app):
        async with open_client(url, token="alice-token") as flooder, open_client(url, token="bob-token") as bob:
            refused = 0

            async def flood(i: int) -> None:
                nonlocal refused
                try:
                    await flooder.start_run("approve", {"request": f"r{i}"})
                except LimitError:
                    refused += 1

            with anyio.fail_after(TIMEOUT * 3):
                async with anyio.create_task_group() as tg:
                    for i in range(300):
                        tg.start_soon(flood, i)
                    # bob's flow goes through while alice's flood is queued behind her own share
                    run = await bob.start_run("approve", {"request": "bob's"})
                    events = [e async for e in run]
                    assert events[-1].event == "run_interrupted"
            assert refused > 0
