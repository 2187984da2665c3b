"""RunTail: a reader that falls behind drops the live feed and reads back from the log, with
no gap and no duplicate, holding at most ``limit`` events in memory meanwhile."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from streamhil_server.compat.tail import RunTail
from streamhil_server.hub import EventHub
from streamhil_server.store import Store

pytestmark = pytest.mark.anyio


async def test_a_slow_reader_catches_up_from_the_log(tmp_path: Path) -> None:
    async with Store(str(tmp_path / "t.sqlite")) as store, anyio.create_task_group() as tg:
        hub = EventHub(store, ring_size=4)
        await tg.start(hub.run)
        hub.publish("t", "custom", "r-0", {"i": -1})  # before the tail: not seen
        with RunTail(hub, "t", limit=5) as tail:
            tail.attach(hub.head("t") + 1)
            for i in range(12):
                hub.publish("t", "custom", "r-1", {"i": i})
            hub.publish("other", "custom", "r-2", {"i": 0})  # another thread: not seen
            await hub.wait_written()
            assert len(tail._queue) == 5 and tail._lagging  # bounded: the rest stays in the log
            got = [await tail.next(5) for _ in range(8)]
            for i in range(12, 20):  # live again after the catch-up
                hub.publish("t", "custom", "r-1", {"i": i})
            got += [await tail.next(5) for _ in range(12)]
            assert [e["data"]["i"] for e in got] == list(range(20))
            assert [e["seq"] for e in got] == list(range(2, 22))
            assert await tail.next(0.05) is None  # nothing more: a timeout, not an event
        assert hub.watcher_count("t") == 0
        tg.cancel_scope.cancel()
