"""The Python SDK asks for batched frames (docs/protocol.md section 1.1) and reads them: a HITL
session's events arrive complete and in order, whether the server batches or not."""

from __future__ import annotations

import anyio
import pytest
from streamhil.protocol import InterruptEvent, RunDoneEvent, RunInterruptedEvent
from streamhil_client import open_client
from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs

from .conftest import TIMEOUT, serve

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("server_batches", [True, False], ids=["batched", "server-declines"])
async def test_the_sdk_negotiates_batching_and_reads_batched_messages(server_batches: bool) -> None:
    settings = ServerSettings(batch_frames=server_batches)
    async with serve(demo_graphs(), settings=settings) as (url, app), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("multi_turn", {"messages": []}, stream_modes=["updates", "values"])
            events = [event async for event in run]
            for text in ["hi", "and otters", "and seals", "bye"]:
                assert isinstance(events[-1], RunInterruptedEvent)
                await run.resume(text)
                events += [event async for event in run]
            (connection,) = app.state.runtime.connections.values()
            assert connection.session.batched is server_batches
            if server_batches:  # the events a step ends with went together
                assert connection.messages_sent < connection.frames_sent
            else:
                assert connection.messages_sent == connection.frames_sent
    assert isinstance(events[-1], RunDoneEvent)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(isinstance(e, InterruptEvent) for e in events) == 4
