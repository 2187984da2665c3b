"""The SDK against a tiny in-test server (websockets + ServerSession), pinned to asyncio."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamhil.protocol import CloseCode
from streamhil_client import (
    AuthError,
    Client,
    ClientClosedError,
    ConflictError,
    ConnectionLostError,
    InterruptEvent,
    NotFoundError,
    ResyncEvent,
    RunDoneEvent,
    RunInterruptedEvent,
    RunStartedEvent,
    StateUpdatedEvent,
    UpdatesEvent,
    open_client,
)

from .fake_server import FAST, FakeServer

pytestmark = pytest.mark.anyio


def kinds(events: list[Any]) -> list[str]:
    return [e.event for e in events]


async def collect_until(iterator: Any, stop: type, into: list[Any]) -> Any:
    async for event in iterator:
        into.append(event)
        if isinstance(event, stop):
            return event
    raise AssertionError(f"iteration ended before a {stop.__name__}: {kinds(into)}")


async def test_full_hitl_session_on_one_connection(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            assert client.identity == "alice" and client.epoch == "e-1"
            run = await client.start_run("publish", {"topic": "otters"})
            assert (run.thread_id, run.seq) == ("t-1", 0)
            events: list[Any] = []
            answers = iter([{"approved": True}, "blog"])
            async for event in run:
                events.append(event)
                if isinstance(event, InterruptEvent):
                    (pending,) = event.interrupts
                    assert run.interrupts == event.interrupts
                    result = await run.resume(next(answers))
                    assert result.answered == (pending.id,)
            assert kinds(events) == [
                "run_started", "updates", "interrupt", "run_interrupted",
                "run_started", "updates", "interrupt", "run_interrupted",
                "run_started", "updates", "updates", "run_done",
            ]  # fmt: skip
            assert [e.seq for e in events] == list(range(1, 13))
            assert isinstance(events[-1], RunDoneEvent) and events[-1].run_id == run.run_id == "r-3"
            assert client.statistics().events_delivered == 12


async def test_iteration_ends_at_an_unanswered_interrupt(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("publish")
            events = [event async for event in run]
            assert isinstance(events[-1], RunInterruptedEvent) and events[-1].interrupt_ids == ("i-a",)
            resumed = await client.resume(run.thread_id, {"approved": True})
            more = [event async for event in resumed]
            assert isinstance(more[0], RunStartedEvent) and more[0].seq == 5
            assert isinstance(more[-1], RunInterruptedEvent) and more[-1].interrupt_ids == ("i-b",)


async def test_parallel_interrupts_answered_one_at_a_time_by_id_map(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("fanout")
            events: list[Any] = []
            first = await collect_until(run, InterruptEvent, events)
            assert {i.id for i in first.interrupts} == {"i-L", "i-F"}
            with pytest.raises(ConflictError) as info:
                await run.resume("yes")
            assert info.value.code == "ambiguous_resume" and info.value.details["interrupt_ids"] == ["i-L", "i-F"]
            await run.resume({"i-L": "signed"})
            second = await collect_until(run, InterruptEvent, events)
            assert [i.id for i in second.interrupts] == ["i-F"]  # same id after the partial resume
            with pytest.raises(ConflictError, match="already answered") as stale:
                await client.resume(run.thread_id, "rejected", interrupt_id="i-L")
            assert stale.value.code == "already_answered"
            await run.resume({"i-F": "approved: 10k"})
            rest = [event async for event in run]
            assert isinstance(rest[-1], RunDoneEvent)
            updates = [e.data for e in events + rest if isinstance(e, UpdatesEvent)]
            assert {"legal": {"answer": "signed"}} in updates and {"finance": {"answer": "approved: 10k"}} in updates


async def test_error_replies_raise_their_family_and_the_connection_goes_on(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            with pytest.raises(NotFoundError) as info:
                await client.get_state("t-404")
            assert info.value.details == {"resource": "thread"} and info.value.id is not None
            with pytest.raises(NotFoundError):
                await client.start_run("no-such-graph")
            run = await client.start_run("publish")
            _ = [e async for e in run]
            with pytest.raises(ConflictError) as pending:
                await client.start_run("publish", thread_id=run.thread_id)
            assert pending.value.code == "interrupt_pending"
            assert await client.ping("still here") == "still here"


async def test_queries(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("publish")
            _ = [e async for e in run]
            state = await client.get_state(run.thread_id)
            assert state.interrupts[0].id == "i-a" and state.values["draft"] == {"text": "Otters hold hands."}
            assert (await client.get_history(run.thread_id))[0].checkpoint_id == state.checkpoint_id
            (thread,) = await client.list_threads(status="interrupted")
            assert thread.thread_id == run.thread_id and thread.head_seq == 4
            assert await client.list_threads(status=["idle"]) == ()
            assert {g.name for g in await client.list_graphs()} == {"publish", "fanout", "fanout_review"}
            watch = await client.subscribe(run.thread_id)
            updated = await client.update_state(run.thread_id, {"note": "x"}, as_node="review")
            event = await watch.__anext__()
            assert isinstance(event, StateUpdatedEvent) and event.seq == updated.seq == 5
            with pytest.raises(ConflictError) as info:
                await client.cancel(run.thread_id)
            assert info.value.code == "no_active_run"


async def test_bad_token_is_an_auth_error_before_anything_runs(server: FakeServer) -> None:
    with anyio.fail_after(5):
        with pytest.raises(AuthError) as info:
            async with open_client(server.url, token="wrong", **FAST):
                raise AssertionError("must not connect")
        assert info.value.code == "unauthenticated"
        assert server.threads == {}


async def test_other_identities_cannot_see_a_thread(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            _ = [e async for e in run]
            async with open_client(server.url, token="bob-token", **FAST) as bob:
                with pytest.raises(NotFoundError):
                    await bob.resume(run.thread_id, "x")
                with pytest.raises(NotFoundError):
                    await bob.subscribe(run.thread_id, after=0)


async def test_subscribe_replays_a_thread_from_the_start(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            _ = [e async for e in run]
        async with open_client(server.url, token="alice-token", **FAST) as again:
            watch = await again.subscribe(run.thread_id, after=0)
            assert watch.result.replayed == 4 and not watch.result.resync
            replayed = [await watch.__anext__() for _ in range(4)]
            assert [e.seq for e in replayed] == [1, 2, 3, 4]
            with pytest.raises(ValueError, match="already follows"):
                await again.subscribe(run.thread_id, after=1)


async def reconnected(client: Client, count: int) -> None:
    """Wait until the client has reconnected ``count`` times and resubscribed (via a ping)."""
    while client.statistics().reconnects < count:
        await client.ping()


async def test_reconnect_replays_exactly_what_was_missed(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            events: list[Any] = []
            await collect_until(run, RunInterruptedEvent, events)
            server.drop_all()
            async with open_client(server.url, token="alice-token", **FAST) as other:
                await other.resume(run.thread_id, {"approved": True})  # events 5-8 while alice is away
            run.run_id = "r-2"  # alice follows the resumed run, as if she had resumed it herself
            await collect_until(run, RunInterruptedEvent, events)
            assert [e.seq for e in events] == list(range(1, 9))
            stats = alice.statistics()
            assert stats.reconnects == 1 and stats.duplicates_dropped == 0 and stats.connected


async def test_replayed_duplicates_are_dropped(server: FakeServer) -> None:
    server.replay_overlap = 3  # a sloppy server replays 3 events the client already has
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            events: list[Any] = []
            await collect_until(run, RunInterruptedEvent, events)
            await server.close_all(CloseCode.SLOW_CONSUMER)  # recoverable
            await reconnected(alice, 1)
            await run.resume({"approved": True})
            await collect_until(run, RunInterruptedEvent, events)
            assert [e.seq for e in events] == list(range(1, 9))
            assert alice.statistics().duplicates_dropped == 3


async def test_a_gap_makes_the_client_reconnect_and_fill_it(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            events: list[Any] = []
            await collect_until(run, RunInterruptedEvent, events)
            server.skip_next_seq = True
            await run.resume({"approved": True})
            await collect_until(run, RunInterruptedEvent, events)
            assert [e.seq for e in events] == list(range(1, 10))
            assert [e.event for e in events][4] == "custom"  # the event the live stream skipped
            stats = alice.statistics()
            assert stats.gaps == 1 and stats.reconnects == 1


async def test_a_new_server_epoch_surfaces_a_resync_event(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            events: list[Any] = []
            await collect_until(run, RunInterruptedEvent, events)
            watch = await alice.subscribe(run.thread_id)  # the run has ended; watch the thread
            server.new_epoch()
            server.drop_all()
            resync = await watch.__anext__()
            assert isinstance(resync, ResyncEvent)
            assert (resync.epoch, resync.reason, resync.status) == ("e-2", "epoch_changed", "interrupted")
            assert resync.state is not None and resync.state.values["draft"] == {"text": "Otters hold hands."}
            assert [i.id for i in resync.interrupts] == ["i-a"]
            await run.resume({"i-a": "ok"})  # the map form: i-a is pending per the resync
            seen: list[Any] = []
            after = await collect_until(run, RunInterruptedEvent, seen)
            assert isinstance(seen[0], ResyncEvent)  # delivered to the run too, before its resume
            assert [e.seq for e in seen[1:]] == [5, 6, 7, 8] and after.run_id == run.run_id
            assert alice.epoch == "e-2" and alice.statistics().resyncs == 1


async def test_a_terminal_close_ends_iterators_and_requests(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
            watch = await alice.subscribe(run.thread_id)
            await server.close_all(CloseCode.FORBIDDEN)
            with pytest.raises(ClientClosedError) as info:
                await watch.__anext__()
            assert info.value.close_code == CloseCode.FORBIDDEN
            with pytest.raises(ClientClosedError):
                await alice.ping()
            assert server.hellos == 1  # no reconnect attempt


async def test_exiting_the_block_ends_iteration(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
        assert [e async for e in run] == []


async def test_heartbeat_notices_a_hung_server_and_reconnects(server: FakeServer) -> None:
    server.heartbeat_ms = 50
    server.ignore_pings = True
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
            await server.wait_hellos(2)  # the unanswered heartbeat made the client reconnect
            server.ignore_pings = False
            await reconnected(alice, 1)
            result = await run.resume({"approved": True})
            assert result.answered == ("i-a",)


async def test_a_lost_answer_to_a_read_is_asked_again(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
            server.drop_on = "get_state"
            state = await alice.get_state(run.thread_id)  # sent again on the next connection
            assert state.interrupts[0].id == "i-a" and alice.statistics().reconnects == 1


async def test_a_lost_answer_to_a_resume_is_reported_not_repeated(server: FakeServer) -> None:
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            run = await alice.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
            server.drop_on = "resume"
            with pytest.raises(ConnectionLostError, match="no close frame: the network failed"):
                await run.resume({"approved": True})
            await reconnected(alice, 1)
            assert [i.id for i in (await alice.get_state(run.thread_id)).interrupts] == ["i-a"]


def _subscriptions(server: FakeServer) -> set[str]:
    return {tid for conn in server.conns for tid in conn.subscriptions}


async def test_closing_a_runs_last_handle_ends_the_subscription_start_run_made(server: FakeServer) -> None:
    """``start_run`` subscribes the connection to its thread; a long-lived client must not keep
    one subscription per thread it ever ran (the server holds each such thread in memory)."""
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            for _ in range(3):
                async with await client.start_run("publish") as run:
                    await collect_until(run, RunInterruptedEvent, [])
                    assert run.thread_id in _subscriptions(server)
            assert _subscriptions(server) == set() and client.statistics().threads == 0
            watch = await client.subscribe("t-1", after=0)  # an explicit subscription stays
            async with await client.resume("t-1", {"approved": True}) as again:
                await collect_until(again, RunInterruptedEvent, [])
            assert _subscriptions(server) == {"t-1"}
            await watch.aclose()


async def test_a_run_handle_dropped_without_closing_ends_its_subscription(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            run = await client.start_run("publish")
            await collect_until(run, RunInterruptedEvent, [])
            tid = run.thread_id
            del run  # garbage: its listener goes, and the subscription with it
            while _subscriptions(server):
                await anyio.sleep(0.01)
            assert client.statistics().threads == 0
            again = await client.resume(tid, {"approved": True})  # resuming follows the thread anew
            events: list[Any] = []
            await collect_until(again, RunInterruptedEvent, events)
            assert kinds(events)[0] == "run_started" and tid in _subscriptions(server)
