"""The event hub on its own: numbering, store-then-deliver, replay from memory and SQLite."""

from __future__ import annotations

from pathlib import Path

import anyio
import orjson
import pytest
from streamhil_server.hub import CursorError, EventHub
from streamhil_server.store import Store

pytestmark = pytest.mark.anyio


async def _noop() -> None:
    return None


async def test_seq_replay_and_cursors(tmp_path: Path) -> None:
    async with Store(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=3, max_events_per_thread=1000)
        await tg.start(hub.run)
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
    async with Store(str(tmp_path / "h.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store)
        await hub.load()
        await tg.start(hub.run)
        assert hub.head("t") == 6
        assert hub.publish("t", "custom", "r-3", {}) == 7
        tg.cancel_scope.cancel()


async def test_trimming_makes_old_cursors_too_old() -> None:
    async with Store() as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=2, max_events_per_thread=10)
        await tg.start(hub.run)
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
    async with Store() as store, anyio.create_task_group() as tg:
        hub = EventHub(store)
        await tg.start(hub.run)
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
    async with Store() as store:
        hub = EventHub(store)
        with pytest.raises(RuntimeError, match="start EventHub.run"):
            hub.publish("t", "custom", None, {})


async def test_a_thread_at_rest_is_replayed_from_sqlite() -> None:
    async with Store() as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=100)
        await tg.start(hub.run)
        hub.publish("t", "run_started", "r", {"graph": "g", "kind": "start", "checkpoint_id": None})
        hub.publish("t", "run_done", "r", {"checkpoint_id": None})
        await hub.wait_written()
        assert not hub._logs["t"].ring  # nobody watched it: its ring was dropped
        got: list[str] = []
        sub, replayed = await hub.subscribe("t", got.append, 0)
        await sub.go_live(_noop, max_buffer=10, overflow=lambda: None)
        assert replayed == 2 and [orjson.loads(f)["event"] for f in got] == ["run_started", "run_done"]
        tg.cancel_scope.cancel()
