"""The seeds' flows over real sockets, driven by the Python SDK."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from streamhil.protocol import InterruptEvent, RunDoneEvent, RunInterruptedEvent
from streamhil_client import AuthError, ConflictError, NotFoundError, open_client
from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs

from .conftest import TIMEOUT, fast_backoff, serve
from .graphs import Gate, streaming
from .proxy import open_proxy

pytestmark = pytest.mark.anyio


async def until_end(run: Any) -> list[Any]:
    """The run's events up to its terminal event."""
    events = []
    async for event in run:
        events.append(event)
    return events


def seqs(events: list[Any]) -> list[int]:
    return [e.seq for e in events if hasattr(e, "seq")]


def contiguous(numbers: list[int]) -> bool:
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


async def test_multi_turn_conversation_on_one_socket() -> None:
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("multi_turn", {"messages": []}, stream_modes=["updates"])
            seen = await until_end(run)
            questions = []
            for text in ["hi", "tell me about otters", "and seals", "bye"]:
                interrupt = [e for e in seen if isinstance(e, InterruptEvent)][-1]
                questions.append(interrupt.interrupts[0].value["question"])
                result = await run.resume(text)
                assert result.answered == (interrupt.interrupts[0].id,)
                seen += await until_end(run)
            assert isinstance(seen[-1], RunDoneEvent)
            assert questions[0] == "What would you like to talk about?" and len(set(questions[1:])) == 1
            assert contiguous(seqs(seen))
            state = await client.get_state(run.thread_id)
            replies = [m["content"] for m in state.values["messages"] if m["role"] == "assistant"]
            assert replies == ["You said 'hi' (1 words).", "You said 'tell me about otters' (4 words).",
                               "You said 'and seals' (2 words).", "Goodbye!"]


async def test_parallel_interrupts_answered_one_by_one() -> None:
    """Each answer's effects arrive before the next answer is given."""
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("parallel", {"doc": "contract.pdf"}, stream_modes=["updates"])
            first = await until_end(run)
            pending = {i.value["reviewer"]: i.id for i in run.interrupts}
            assert set(pending) == {"legal", "finance"}
            await run.resume("signed", interrupt_id=pending["legal"])
            second = await until_end(run)
            updates = [e.data for e in second if e.event == "updates"]
            assert {"legal": {"legal": "signed"}} in updates  # legal's effect, streamed now
            assert isinstance(second[-1], RunInterruptedEvent)
            assert second[-1].interrupt_ids == (pending["finance"],)
            assert [i.id for i in run.interrupts] == [pending["finance"]]
            with pytest.raises(ConflictError) as stale:
                await client.resume(run.thread_id, "again", interrupt_id=pending["legal"])
            assert stale.value.code == "already_answered"
            await run.resume({pending["finance"]: "approved"})
            third = await until_end(run)
            assert isinstance(third[-1], RunDoneEvent)
            assert {"merge": {"verdict": "legal=signed; finance=approved"}} in [e.data for e in third if e.event == "updates"]
            assert contiguous(seqs(first + second + third))


async def test_interrupt_inside_a_subgraph() -> None:
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("subgraph", {"item": "a kite"}, stream_modes=["updates"])
            events = await until_end(run)
            (interrupt,) = [e for e in events if isinstance(e, InterruptEvent)][0].interrupts
            assert interrupt.node == "ask_address" and interrupt.ns[0].startswith("shipping:")
            assert any(e.ns and e.ns[0].startswith("shipping:") for e in events if e.event == "updates")
            await run.resume("12 harbour road")
            done = await until_end(run)
            assert isinstance(done[-1], RunDoneEvent)
            assert (await client.get_state(run.thread_id)).values["confirmation"] == "a kite ships to 12 Harbour Road"


async def test_three_threads_interleaved_on_one_socket() -> None:
    async with serve(demo_graphs()) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            runs = [
                await client.start_run("approve", {"request": "order 1"}),
                await client.start_run("validation", {}),
                await client.start_run("review_edit", {"text": "one two three"}),
            ]
            collected: dict[str, list[Any]] = {r.thread_id: [] for r in runs}

            async def drive(run: Any, answers: list[Any]) -> None:
                collected[run.thread_id] += await until_end(run)
                for answer in answers:
                    await run.resume(answer)
                    collected[run.thread_id] += await until_end(run)

            async with anyio.create_task_group() as tg:
                tg.start_soon(drive, runs[0], ["approve"])
                tg.start_soon(drive, runs[1], ["not a number", "-1", "33"])
                tg.start_soon(drive, runs[2], [{"summary": "edited"}])
            for run in runs:
                events = collected[run.thread_id]
                assert isinstance(events[-1], RunDoneEvent), events[-1]
                assert contiguous(seqs(events))
            assert (await client.get_state(runs[1].thread_id)).values == {"age": 33}
            assert (await client.get_state(runs[2].thread_id)).values["published"] == "Published: edited"
            assert client.statistics().threads == 3


async def test_two_watchers_of_one_thread() -> None:
    async with serve(demo_graphs()) as (url, _):
        async with open_client(url, token="alice-token") as a, open_client(url, token="alice-token") as b:
            with anyio.fail_after(TIMEOUT):
                run = await a.start_run("publish", {"topic": "otters"}, stream_modes=["updates"])
                watch = await b.subscribe(run.thread_id, after=0)
                got_a = await until_end(run)
                got_b = []
                async for event in watch:
                    got_b.append(event)
                    if event.event == "run_interrupted":
                        break
                assert [(e.seq, e.event) for e in got_a] == [(e.seq, e.event) for e in got_b]
                # B answers; A, watching the thread, sees the effects of B's answer
                watch_a = await a.subscribe(run.thread_id)
                pending = got_b[-2].interrupts[0].id
                await b.resume(run.thread_id, {"approved": True}, interrupt_id=pending)
                after_a = []
                async for event in watch_a:
                    after_a.append(event)
                    if event.event == "run_interrupted":
                        break
                assert after_a[0].seq == got_a[-1].seq + 1
                assert {"review": {"approved": True}} in [e.data for e in after_a if e.event == "updates"]
                await watch.aclose()


async def test_cancel_a_run() -> None:
    gate = Gate()
    async with serve({"streaming": streaming(gate, 5)}) as (url, _), open_client(url, token="alice-token") as client:
        with anyio.fail_after(TIMEOUT):
            run = await client.start_run("streaming", {}, stream_modes=["custom"])
            async for event in run:
                if event.event == "custom":
                    break
            await run.cancel()
            rest = await until_end(run)
            assert rest[-1].event == "run_cancelled" and rest[-1].reason == "cancelled"
            # stopped mid-step: the thread is idle (nothing asks the human anything) and can be
            # continued from its last checkpoint
            threads = await client.list_threads()
            assert [t.status for t in threads] == ["idle"]
            assert (await client.get_state(run.thread_id)).next == ("work",)
            gate.open()
            again = await client.start_run("streaming", None, thread_id=run.thread_id, stream_modes=["custom"])
            events = await until_end(again)
            assert events[-1].event == "run_interrupted" and len(events[-1].interrupt_ids) == 1
            assert [e.data["i"] for e in events if e.event == "custom"] == list(range(-1, 5))


async def test_reconnect_mid_run_replays_without_gap_or_duplicate() -> None:
    gate = Gate()
    async with serve({"streaming": streaming(gate, 200)}) as (url, _):
        port = int(url.split(":")[2].split("/")[0])
        async with open_proxy(port) as proxy:
            proxied = f"ws://127.0.0.1:{proxy.port}/ws"
            async with open_client(proxied, token="alice-token", backoff=fast_backoff) as client:
                with anyio.fail_after(TIMEOUT):
                    run = await client.start_run("streaming", {}, stream_modes=["custom"])
                    events = []
                    async for event in run:
                        events.append(event)
                        if event.event == "custom":
                            proxy.cut()  # drop the connection mid-run
                            gate.open()  # the run goes on while the client is away
                    assert proxy.connections >= 2
                    numbers = seqs(events)
                    assert contiguous(numbers)
                    custom = [e.data["i"] for e in events if e.event == "custom"]
                    assert custom == list(range(-1, 200))
                    assert events[-1].event == "run_interrupted"
                    stats = client.statistics()
                    assert stats.reconnects >= 1 and stats.gaps == 0 and stats.resyncs == 0


async def test_refused_origin_gets_403_before_the_upgrade() -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    settings = ServerSettings(allowed_origins=("https://app.example",))
    async with serve(demo_graphs(), settings=settings) as (url, app):
        with anyio.fail_after(TIMEOUT):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403
            async with open_client(url, token="alice-token", origin="https://app.example") as client:
                assert client.identity == "alice"
            assert app.state.runtime.statistics().runs.runs_started == 0


async def test_auth_and_ownership_rejections() -> None:
    async with serve(demo_graphs()) as (url, _):
        with anyio.fail_after(TIMEOUT):
            with pytest.raises(AuthError) as bad:
                async with open_client(url, token="wrong", reconnect=False):
                    pass
            assert bad.value.code == "unauthenticated"
            async with open_client(url, headers={"Authorization": "Bearer bob-token"}) as bob:
                assert bob.identity == "bob"
            async with open_client(url, token="alice-token") as alice, open_client(url, token="bob-token") as bob:
                run = await alice.start_run("validation", {})
                await until_end(run)
                with pytest.raises(NotFoundError):
                    await bob.subscribe(run.thread_id, after=0)
                with pytest.raises(NotFoundError):
                    await bob.resume(run.thread_id, 30)
                with pytest.raises(AuthError) as forbidden:
                    await bob.start_run("validation", {}, thread_id=run.thread_id)
                assert forbidden.value.code == "forbidden"
                assert await bob.list_threads() == ()
                await run.resume(30)
                assert (await until_end(run))[-1].event == "run_done"
