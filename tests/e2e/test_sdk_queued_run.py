"""The Python SDK against a real server (found by a tester):

- the :class:`Run` of a run queued behind another (``if_busy="enqueue"``) yields its own events
  from its ``run_started`` on; it used to yield the whole stream of the run it waited for first,
  that run's interrupt and ``run_interrupted`` included;
- ``stream_modes=()`` asks for no stream modes (lifecycle and interrupt events only), and a resume
  keeps that; it used to become the default ``("values", "updates")``.
"""

from __future__ import annotations

import anyio
import pytest
from streamhil_client import open_client

from .conftest import TIMEOUT, serve
from .graphs import Gate, streaming

pytestmark = pytest.mark.anyio


async def test_a_queued_run_yields_its_own_events_only() -> None:
    gate = Gate()
    async with serve({"streaming": streaming(gate, count=2)}) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            first = await client.start_run("streaming", {}, stream_modes=["custom"])
            queued = await client.start_run(
                "streaming", {}, thread_id=first.thread_id, if_busy="enqueue", stream_modes=["custom"]
            )
            assert queued.queued and queued.run_id != first.run_id
            gate.open()
            theirs = [event async for event in queued]
            assert {event.run_id for event in theirs} == {queued.run_id}, [(e.event, e.run_id) for e in theirs]
            # its turn came with the first run's question pending: refused when it starts
            assert [event.event for event in theirs] == ["run_started", "run_error"]
            assert theirs[-1].code == "interrupt_pending"
            # the run it waited for is still whole on its own handle
            before = [event async for event in first]
            assert {event.run_id for event in before} == {first.run_id}
            assert [e.event for e in before][0] == "run_started" and before[-1].event == "run_interrupted"
            assert "interrupt" in [e.event for e in before]


async def test_no_stream_modes_sends_lifecycle_and_interrupt_events_only() -> None:
    gate = Gate()
    gate.open()
    async with serve({"streaming": streaming(gate, count=2)}) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("streaming", {}, stream_modes=())
            assert run.stream_modes == ()
            first = [event.event async for event in run]
            assert first == ["run_started", "interrupt", "run_interrupted"]
            await run.resume("yes")  # keeps the run's modes: none
            assert [event.event async for event in run] == ["run_started", "run_done"]
