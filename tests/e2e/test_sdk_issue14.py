"""The Python SDK: a resume keeps the run's stream modes, takes interrupt objects, and
``watch_threads`` follows the identity's threads across a reconnect (issue 14, items 8 and 11)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from streamhil.protocol import CountersNotice, ThreadCreatedNotice, ThreadStatusNotice, ValuesEvent
from streamhil_client import ThreadsSnapshot, open_client
from streamhil_server.demo_graphs import demo_graphs

from .conftest import TIMEOUT, fast_backoff, serve
from .proxy import open_proxy

pytestmark = pytest.mark.anyio


async def until_end(run: Any) -> list[Any]:
    return [event async for event in run]


async def test_a_resume_keeps_the_stream_modes_the_run_was_started_with() -> None:
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("publish", {"topic": "otters"}, stream_modes=["updates"])
            first = await until_end(run)
            await run.resume("yes")
            second = await until_end(run)
            assert not [e for e in first + second if isinstance(e, ValuesEvent)]
            assert [e for e in second if e.event == "updates"]
            # the thread's modes also carry over to client.resume(thread_id, ...)
            again = await client.resume(run.thread_id, "blog")
            third = await until_end(again)
            assert not [e for e in third if isinstance(e, ValuesEvent)] and third[-1].event == "run_done"
            # an explicit choice still wins, and sticks
            fork = await client.start_run("publish", {"topic": "seals"}, stream_modes=["updates"])
            await until_end(fork)
            await fork.resume("yes", stream_modes=["values"])
            assert [e for e in await until_end(fork) if isinstance(e, ValuesEvent)]


async def test_resume_accepts_the_interrupt_objects_themselves() -> None:
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("parallel", {"doc": "contract.pdf"}, stream_modes=["updates"])
            await until_end(run)
            by_reviewer = {i.value["reviewer"]: i for i in run.interrupts}
            result = await run.resume("signed", interrupt_id=by_reviewer["legal"])
            assert result.answered == (by_reviewer["legal"].id,)
            await until_end(run)
            finance = run.interrupts[0]  # the object a caller holds: no need to dig out its id
            result = await run.resume("approved", interrupt_id=finance)
            assert result.answered == (by_reviewer["finance"].id,)
            events = await until_end(run)
            assert events[-1].event == "run_done"
            with pytest.raises(TypeError, match="interrupt id"):
                await run.resume("x", interrupt_id=42)  # type: ignore[arg-type]


async def test_watch_threads_follows_the_identitys_threads_across_a_reconnect() -> None:
    async with serve(demo_graphs()) as (url, _):
        port = int(url.split(":")[2].split("/")[0])
        async with open_proxy(port) as proxy:
            proxied = f"ws://127.0.0.1:{proxy.port}/ws"
            async with open_client(url, token="alice-token") as chat, \
                    open_client(proxied, token="alice-token", backoff=fast_backoff) as dash:
                with anyio.fail_after(TIMEOUT):
                    old = await chat.start_run("validation", {})
                    await until_end(old)
                    async with await dash.watch_threads() as watch:
                        assert [t.thread_id for t in watch.threads] == [old.thread_id]
                        assert watch.threads[0].status == "interrupted" and watch.counters.runs_started == 1

                        run = await chat.start_run("publish", {"topic": "otters"})
                        await until_end(run)
                        seen: list[Any] = []
                        async for item in watch:
                            seen.append(item)
                            if isinstance(item, ThreadStatusNotice) and item.thread.status == "interrupted":
                                break
                        assert isinstance(seen[0], (ThreadCreatedNotice, CountersNotice))
                        created = [n for n in seen if isinstance(n, ThreadCreatedNotice)]
                        assert [n.thread.thread_id for n in created] == [run.thread_id]

                        proxy.cut()  # the dashboard's connection drops; the client watches again
                        await run.resume("no")
                        async for item in watch:
                            if isinstance(item, ThreadsSnapshot):
                                break
                        assert item.reconnected and run.thread_id in {t.thread_id for t in item.threads}
                        async for item in watch:  # after the snapshot, notices flow again
                            if isinstance(item, CountersNotice | ThreadStatusNotice):
                                break
                        assert proxy.connections >= 2
