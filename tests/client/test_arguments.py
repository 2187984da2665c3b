"""How the SDK reads its arguments: interrupt objects as ``answers`` keys, a single stream mode."""

from __future__ import annotations


import anyio
import pytest

from streamhil.protocol import InterruptInfo, Resume, StartRun
from streamhil_client import ConflictError, InterruptEvent, RunDoneEvent, open_client

from .fake_server import FAST, FakeServer

pytestmark = pytest.mark.anyio


def test_an_interrupt_with_a_dict_value_is_hashable_by_its_id() -> None:
    info = InterruptInfo(id="i-1", value={"question": "Sign?"}, node="legal")
    same = InterruptInfo(id="i-1", value={"question": "Sign?"}, node="legal")
    assert {info: "ok"}[same] == "ok"
    assert hash(info) == hash(same) and info == same
    assert info != InterruptInfo(id="i-2", value={"question": "Sign?"}, node="legal")
    assert len({info, same, InterruptInfo(id="i-1", value=[1])}) == 2  # equal fields: one member


async def test_interrupt_objects_as_answers_keys(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("fanout_review")
            _ = [event async for event in run]
            legal, finance = run.interrupts
            resumed = await client.resume(run.thread_id, answers={legal: "signed"})
            more = [event async for event in resumed]
            assert any(isinstance(e, InterruptEvent) for e in more)  # finance is still pending
            (pending,) = resumed.interrupts
            assert pending == finance
            with pytest.raises(ConflictError) as info:  # keyed by an answered interrupt: the server says so
                await resumed.resume({legal: "again"})
            assert info.value.code == "already_answered"
            await resumed.resume({pending: "approved"})  # a mapping keyed by the pending interrupts
            rest = [event async for event in resumed]
            assert isinstance(rest[-1], RunDoneEvent)
            sent = [c.answers for c in server.received if isinstance(c, Resume)]
            assert sent == [{"i-L": "signed"}, {"i-L": "again"}, {"i-F": "approved"}]


async def test_a_single_stream_mode_may_be_given_as_a_string(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("publish", stream_modes="values")
            assert run.stream_modes == ("values",)
            _ = [event async for event in run]
            await run.resume("ok", stream_modes="updates")
            assert run.stream_modes == ("updates",)
            _ = [event async for event in run]
            again = await client.resume(run.thread_id, "ok", stream_modes="custom")
            assert again.stream_modes == ("custom",)
            modes = [c.stream_modes for c in server.received if isinstance(c, (StartRun, Resume))]
            assert modes == [("values",), ("updates",), ("custom",)]


async def test_context_goes_with_start_run_and_both_resumes(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("publish", context={"user": "ada"})
            _ = [event async for event in run]
            await run.resume("ok", context={"user": "lin"})
            _ = [event async for event in run]
            again = await client.resume(run.thread_id, "ok")
            _ = [event async for event in again]
            sent = [c.context for c in server.received if isinstance(c, (StartRun, Resume))]
            assert sent == [{"user": "ada"}, {"user": "lin"}, None]
