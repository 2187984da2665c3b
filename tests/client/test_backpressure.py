"""The SDK's in-flight window and reconnect backoff against the fake server (asyncio only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from streamhil.protocol import CloseCode
from streamhil_client import Client, ConnectionLostError, RunInterruptedEvent, backoff_delays, open_client

from .fake_server import FAST, FakeServer

pytestmark = pytest.mark.anyio


async def reconnected(client: Client, count: int) -> None:
    """Wait until the client has reconnected ``count`` times and resubscribed (via a ping)."""
    while client.statistics().reconnects < count:
        await client.ping()


async def test_the_window_comes_from_the_announced_send_queue(server: FakeServer) -> None:
    server.max_send_queue = 64
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as alice:
            assert alice._conn is not None and alice._conn.window.size == 4
        async with open_client(server.url, token="alice-token", max_in_flight=2, **FAST) as alice:
            assert alice._conn is not None and alice._conn.window.size == 2
    with pytest.raises(ValueError, match="max_in_flight"):
        Client(server.url, max_in_flight=0)


async def test_200_subscribes_never_exceed_the_window(server: FakeServer) -> None:
    server.max_send_queue = 64  # window 64 // 16 = 4; each subscribe owes 5 frames
    ids = [f"t-{i}" for i in range(200)]
    for thread_id in ids:
        await server.seed(thread_id)
    server.hold = True
    watches: dict[str, Any] = {}
    with anyio.fail_after(20):
        async with open_client(server.url, token="alice-token", heartbeat=False, **FAST) as alice:

            async def subscribe(thread_id: str) -> None:
                watches[thread_id] = await alice.subscribe(thread_id, after=0)

            async with anyio.create_task_group() as tg:
                for thread_id in ids:
                    tg.start_soon(subscribe, thread_id)
                answered = 0
                while answered < len(ids):
                    await server.wait_held(min(4, len(ids) - answered))
                    assert alice.statistics().in_flight <= 4
                    answered += await server.release()
            assert server.max_unanswered == 4 and server.overflows == 0 and server.hellos == 1
            assert alice.statistics().in_flight == alice.statistics().queued == 0
            assert sorted(watches) == sorted(ids)
            for thread_id in ids[:: len(ids) // 10]:
                watch = watches[thread_id]
                assert watch.result.replayed == 4 and not watch.result.resync
                events = [await watch.__anext__() for _ in range(4)]
                assert [e.seq for e in events] == [1, 2, 3, 4] and isinstance(events[-1], RunInterruptedEvent)


async def test_without_the_window_the_same_burst_overflows(server: FakeServer) -> None:
    """The control: the fake server really closes with 4008 when a client floods it."""
    server.max_send_queue = 64
    for i in range(200):
        await server.seed(f"t-{i}")
    server.hold = True
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", heartbeat=False, max_in_flight=200, **FAST) as alice:
            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(alice.subscribe, f"t-{i}")
                await server.wait_overflow()
                assert server.max_unanswered > 4
                tg.cancel_scope.cancel()


async def test_queued_commands_survive_a_drop_once_each_after_the_resubscribes(server: FakeServer) -> None:
    server.max_send_queue = 64  # window 4
    ids = [f"t-{i}" for i in range(12)]
    for thread_id in ids:
        await server.seed(thread_id)
    results: dict[str, Any] = {}
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", heartbeat=False, **FAST) as alice:
            await alice.subscribe("t-0")  # followed before the drop: re-subscribed after it
            await alice.subscribe("t-1")
            server.hold = True

            async def subscribe(thread_id: str) -> None:
                results[thread_id] = await alice.subscribe(thread_id, after=0)

            async def update() -> None:
                results["update"] = await alice.update_state("t-0", {"note": "hi"})

            async with anyio.create_task_group() as tg:
                for thread_id in ids[2:]:
                    tg.start_soon(subscribe, thread_id)
                await server.wait_held(4)
                tg.start_soon(update)
                await anyio.wait_all_tasks_blocked()
                stats = alice.statistics()
                assert (stats.in_flight, stats.queued) == (4, 7)  # 6 subscribes + update_state wait
                server.hold = False
                server.drop_all()  # 4 subscribes lost in flight (resent: reads), 7 never sent
            assert server.hellos == 2 and server.max_unanswered == 4
            first, second = server.sessions
            assert [c for c in first.commands if c[0] == "update_state"] == []
            assert second.commands[:2] == [("subscribe", "t-0"), ("subscribe", "t-1")]
            assert sorted(second.commands[2:]) == sorted(
                [("subscribe", t) for t in ids[2:]] + [("update_state", "t-0")]
            )  # each exactly once, none lost
            assert {t: results[t].result.replayed for t in ids[2:]} == {t: 4 for t in ids[2:]}
            assert results["update"].thread_id == "t-0"
            assert server.threads["t-0"].values["note"] == "hi"


async def test_an_unsent_write_waits_but_a_sent_one_is_reported_lost(server: FakeServer) -> None:
    server.max_send_queue = 16  # window 1
    await server.seed("t-0")
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", heartbeat=False, **FAST) as alice:
            server.hold = True
            outcome: dict[str, Any] = {}

            async def resume() -> None:
                try:
                    await alice.resume("t-0", {"approved": True})
                except ConnectionLostError as exc:
                    outcome["resume"] = exc

            async def update() -> None:
                outcome["update"] = await alice.update_state("t-0", {"note": "later"})

            async with anyio.create_task_group() as tg:
                tg.start_soon(resume)
                await server.wait_held(1)  # the resume is sent and unanswered: the window is full
                tg.start_soon(update)
                await anyio.wait_all_tasks_blocked()
                assert alice.statistics().queued == 1
                server.hold = False
                server.drop_all()
            assert isinstance(outcome["resume"], ConnectionLostError)  # sent: not repeated
            assert outcome["update"].thread_id == "t-0"  # never sent: sent on the next connection
            assert [c[0] for c in server.sessions[1].commands] == ["update_state"]
            assert server.threads["t-0"].pending  # the lost resume was not replayed


class _Recorder:
    """A backoff factory that records each series it makes and the hellos seen at each draw."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.series: list[list[tuple[float, int]]] = []

    def __call__(self) -> Iterator[float]:
        draws: list[tuple[float, int]] = []
        self.series.append(draws)
        for delay in backoff_delays(initial=0.001, factor=2, maximum=1, jitter=0, max_attempts=20):
            draws.append((delay, self.server.hellos))
            yield delay


async def test_a_slow_consumer_close_storm_backs_off_across_connections(server: FakeServer) -> None:
    await server.seed("t-0")
    recorder = _Recorder(server)
    with anyio.fail_after(10):
        async with open_client(server.url, token="alice-token", heartbeat=False, backoff=recorder, proxy=None) as alice:
            await alice.subscribe("t-0")
            server.slow_consumer_on_subscribe = 3  # the next 3 connections die on their re-subscribe
            await server.close_all(CloseCode.SLOW_CONSUMER)
            await reconnected(alice, 4)
            assert server.overflows == 3 and server.hellos == 5
            # one series across the storm: a growing delay before every reconnect
            assert recorder.series == [[(0.001, 1), (0.002, 2), (0.004, 3), (0.008, 4)]]
            # a connection whose re-subscribes were all answered starts the series over
            await server.close_all(CloseCode.SLOW_CONSUMER)
            await reconnected(alice, 5)
            assert recorder.series[1:] == [[(0.001, 5)]]
