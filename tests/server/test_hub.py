"""The event hub on its own: numbering, store-then-deliver, replay from memory and SQLite, the
thread journal (events taken by a step's write) and loading logs on demand."""

from __future__ import annotations

from pathlib import Path

import sqlite3

import anyio
import anyio.lowlevel
import orjson
import pytest
from streamhil_server.hub import CursorError, EventHub, LogNotLoadedError
from streamhil_server.storage import MemoryStorage, SqliteStorage, Write

pytestmark = pytest.mark.anyio


async def _noop() -> None:
    return None


async def test_seq_replay_and_cursors(tmp_path: Path) -> None:
    async with SqliteStorage(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=3, max_events_per_thread=1000)
        await tg.start(hub.run)
        hub.create("t")
        hub.create("other")
        live: list[dict] = []
        sub = hub.subscribe_live("t", lambda f: live.append(orjson.loads(f)), 1)
        sub.start_live()
        seqs = [hub.publish("t", "custom", "r-1", {"i": i}) for i in range(6)]
        hub.publish("other", "custom", "r-2", {"i": 0})
        assert seqs == [1, 2, 3, 4, 5, 6] and hub.head("t") == 6 and hub.head("other") == 1
        await hub.wait_written()
        assert [f["seq"] for f in live] == seqs and [f["data"]["i"] for f in live] == list(range(6))
        # stored before delivered: the database has every event that was delivered
        assert [s for s, _ in await store.read_events("t", 0, 6)] == seqs

        for after, source in [(4, "ring"), (1, "sqlite")]:
            got: list[str] = []
            replay, replayed = await hub.subscribe("t", got.append, after)
            assert replayed == 6 - after
            await replay.go_live(_noop, max_buffer=10, overflow=lambda: None)
            assert [orjson.loads(f)["seq"] for f in got] == list(range(after + 1, 7)), source
            replay.close()
        with pytest.raises(CursorError) as ahead:
            await hub.subscribe("t", lambda f: None, 7)
        assert ahead.value.reason == "cursor_ahead"
        sub.close()
        assert hub.watcher_count("t") == 0
        stats = hub.statistics()
        assert stats.events_total == 7 and stats.unwritten == 0 and stats.threads == 2
        tg.cancel_scope.cancel()

    # a new hub on the same file continues the numbering
    async with SqliteStorage(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store)
        await tg.start(hub.run)
        with pytest.raises(LogNotLoadedError):
            hub.publish("t", "custom", "r-3", {})
        await hub.ensure("t")
        assert hub.head("t") == 6
        assert hub.publish("t", "custom", "r-3", {}) == 7
        tg.cancel_scope.cancel()


async def test_trimming_makes_old_cursors_too_old() -> None:
    async with MemoryStorage() as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=2, max_events_per_thread=10)
        await tg.start(hub.run)
        hub.create("t")
        for i in range(30):
            hub.publish("t", "custom", None, {"i": i})
            if i % 5 == 4:
                await hub.wait_written()
        await hub.wait_written()
        with pytest.raises(CursorError) as old:
            await hub.subscribe("t", lambda f: None, 0)
        assert old.value.reason == "cursor_too_old"
        got: list[str] = []
        sub, replayed = await hub.subscribe("t", got.append, 25)
        await sub.go_live(_noop, max_buffer=10, overflow=lambda: None)
        assert replayed == 5 and [orjson.loads(f)["seq"] for f in got] == [26, 27, 28, 29, 30]
        tg.cancel_scope.cancel()


async def test_live_events_during_a_replay_wait_and_overflow() -> None:
    async with MemoryStorage() as store, anyio.create_task_group() as tg:
        hub = EventHub(store)
        await tg.start(hub.run)
        hub.create("t")
        for i in range(5):
            hub.publish("t", "custom", None, {"i": i})
        await hub.wait_written()
        got: list[int] = []
        overflowed: list[bool] = []
        sub, _ = await hub.subscribe("t", lambda f: got.append(orjson.loads(f)["seq"]), 0)
        for i in range(3):  # arrive while the subscriber has not gone live yet
            hub.publish("t", "custom", None, {"i": i})
        await hub.wait_written()
        assert got == []
        await sub.go_live(_noop, max_buffer=2, overflow=lambda: overflowed.append(True))
        assert overflowed == [True]  # 3 live events piled up behind a buffer of 2
        sub.close()
        tg.cancel_scope.cancel()


async def test_publish_before_the_writer_runs_is_an_error() -> None:
    async with MemoryStorage() as store:
        hub = EventHub(store)
        with pytest.raises(RuntimeError, match="start EventHub.run"):
            hub.publish("t", "custom", None, {})


async def test_a_thread_at_rest_is_replayed_from_sqlite() -> None:
    async with MemoryStorage() as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=100)
        await tg.start(hub.run)
        hub.create("t")
        hub.publish("t", "run_started", "r", {"graph": "g", "kind": "start", "checkpoint_id": None})
        hub.publish("t", "run_done", "r", {"checkpoint_id": None})
        await hub.wait_written()
        assert not hub._logs["t"].ring  # nobody watched it: its ring was dropped
        got: list[str] = []
        sub, replayed = await hub.subscribe("t", got.append, 0)
        await sub.go_live(_noop, max_buffer=10, overflow=lambda: None)
        assert replayed == 2 and [orjson.loads(f)["event"] for f in got] == ["run_started", "run_done"]
        tg.cancel_scope.cancel()


async def test_a_steps_write_takes_the_events_and_they_are_delivered_only_once_committed(tmp_path: Path) -> None:
    async with SqliteStorage(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store, flush_delay=30)  # the hub itself would wait 30 s: only the step's write stores them
        await tg.start(hub.run)
        hub.create("t")
        live: list[int] = []
        sub = hub.subscribe_live("t", lambda f: live.append(orjson.loads(f)["seq"]), 1)
        sub.start_live()
        hub.publish("t", "updates", "r", {"n": 1})
        hub.publish("t", "updates", "r", {"n": 2})
        await anyio.lowlevel.checkpoint()  # the hub's task runs: it must not store (nor send) them on its own
        assert live == [] and hub.statistics().unwritten == 2  # not stored: not sent
        write = hub.take("t")
        assert [r.seq for r in write.events] == [1, 2]
        write.threads = []
        await store.write(write)
        await hub.wait_written()
        assert live == [1, 2]
        assert [s for s, _ in await store.read_events("t", 0, 2)] == [1, 2]
        sub.close()
        assert hub.forget("t") and not hub.loaded("t")  # at rest: its log leaves memory
        await hub.ensure("t")
        assert hub.head("t") == 2
        tg.cancel_scope.cancel()


async def test_a_failed_write_gives_its_events_back_to_the_journal(tmp_path: Path) -> None:
    async with SqliteStorage(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store, flush_delay=30)
        await tg.start(hub.run)
        hub.create("t")
        hub.publish("t", "custom", "r", {"i": 1})
        bad = hub.take("t")
        bad.events.append(bad.events[0])  # the same seq twice: the transaction fails
        with pytest.raises(sqlite3.IntegrityError):
            await store.write(bad)
        assert await store.read_events("t", 0, 10) == []
        good = hub.take("t")
        assert [r.seq for r in good.events] == [1]
        await store.write(good)
        await hub.wait_written()
        assert [s for s, _ in await store.read_events("t", 0, 10)] == [1]
        tg.cancel_scope.cancel()


async def test_staged_records_go_with_the_next_write_of_their_kind() -> None:
    async with MemoryStorage() as store, anyio.create_task_group() as tg:
        hub = EventHub(store)
        await tg.start(hub.run)
        hub.create("t")
        hub.stage("t", Write(answered=[("t", "i-1")]), with_checkpoint=True)
        assert not hub.take("t", checkpoint=False).answered  # an event flush does not take an answer
        assert hub.take("t").answered == [("t", "i-1")]
        hub.stage("t", Write(answered=[("t", "i-2")]), with_checkpoint=True)
        assert hub.unstage("t").answered == [("t", "i-2")]  # type: ignore[union-attr]
        assert hub.forget("t")
        tg.cancel_scope.cancel()
