"""``watch_threads`` of an identity with many threads: the snapshot is made a chunk at a time,
letting other tasks run in between (it held the event loop about 14 ms per 1,000 threads), stops
when its connection is gone, and still lists every thread newest first, with the changes made
meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import orjson
import pytest
from streamhil.protocol.session import encode_reply
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.notices import SNAPSHOT_CHUNK
from streamhil_server.registry import GraphRegistry
from streamhil_server.runtime import Runtime
from streamhil_server.storage.records import ThreadRecord, Write

pytestmark = pytest.mark.anyio

THREADS = 4 * SNAPSHOT_CHUNK + 7


def _registry() -> GraphRegistry:
    return GraphRegistry({name: graph for name, (graph, _) in demo_graphs().items()})


@pytest.fixture
async def db(tmp_path: Path) -> str:
    """A database holding ``THREADS`` interrupted threads of alice (and one of bob)."""
    path = str(tmp_path / "s.sqlite")
    records = [
        ThreadRecord(thread_id=f"t-{n:05d}", graph="approve", owner="alice", status="interrupted",
                     interrupts=[{"id": f"i-{n}", "value": {"n": n}, "node": "ask", "task_id": "x", "ns": []}],
                     updated_at=f"2024-01-01T00:00:00.{n:06d}+00:00")
        for n in range(THREADS)
    ]
    records.append(ThreadRecord(thread_id="bob-1", graph="approve", owner="bob"))
    async with Runtime(_registry(), db=path) as runtime:
        await runtime.storage.write(Write(threads=records))
    return path


def _snapshot(result: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = orjson.loads(encode_reply("1", result))["result"]
    return wire


async def test_the_snapshot_lets_other_tasks_run_and_lists_every_thread(db: str) -> None:
    async with Runtime(_registry(), db=db) as runtime:
        turns = 0  # of another task
        done = False
        made_at: list[int] = []  # the other task's turns when each thread's entry was made
        info = runtime.runs._info

        def counting(*args: Any) -> dict[str, Any]:
            made_at.append(turns)
            return info(*args)

        runtime.runs._info = counting  # type: ignore[method-assign]

        async def other_task() -> None:
            nonlocal turns
            while not done:
                turns += 1
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(other_task)
            watched = await runtime.notifier.watch("alice", lambda notice: None)
            done = True
        longest = max(made_at.count(turn) for turn in set(made_at))  # entries made without a turn between
        assert longest <= 2 * SNAPSHOT_CHUNK  # was every thread at once (trio runs a batch's tasks in any order)
        assert watched is not None
        watcher, result = watched
        threads = _snapshot(result)["threads"]
        assert [t["thread_id"] for t in threads] == [f"t-{n:05d}" for n in reversed(range(THREADS))]
        assert threads[0]["interrupts"] == [{"id": f"i-{THREADS - 1}", "value": {"n": THREADS - 1}, "node": "ask",
                                             "task_id": "x", "ns": []}]
        assert threads[0]["status"] == "interrupted" and threads[0]["run_id"] is None
        assert len(watcher.known) == THREADS
        assert runtime.notifier.watcher_count == 1


async def test_the_snapshot_stops_when_the_connection_is_gone(db: str) -> None:
    async with Runtime(_registry(), db=db) as runtime:
        made = 0
        record_info = runtime.runs.record_info

        def counting(record: ThreadRecord) -> dict[str, Any]:
            nonlocal made
            made += 1
            return record_info(record)

        runtime.runs.record_info = counting  # type: ignore[method-assign]
        sent: list[Any] = []
        assert await runtime.notifier.watch("alice", sent.append, gone=lambda: made > 0) is None
        assert made == SNAPSHOT_CHUNK  # one chunk, not the whole list
        assert runtime.notifier.watcher_count == 0 and sent == []


async def test_a_thread_that_changes_while_the_snapshot_is_made_is_in_it_as_it_is_at_the_end(db: str) -> None:
    async with Runtime(_registry(), db=db) as runtime:
        notifier = runtime.notifier
        sent: list[Any] = []
        first = True

        def gone() -> bool:  # called between chunks: a thread changes there
            nonlocal first
            if first:
                first = False
                [watcher] = notifier._watchers["alice"]
                watcher.offer({"thread_id": "t-00003", "graph": "approve", "status": "idle", "run_id": None,
                               "head_seq": 9, "interrupts": [], "created_at": None,
                               "updated_at": "2025-01-01T00:00:00+00:00"})
            return False

        watched = await notifier.watch("alice", sent.append, gone=gone)
        assert watched is not None
        threads = _snapshot(watched[1])["threads"]
        assert (threads[0]["thread_id"], threads[0]["status"], threads[0]["head_seq"]) == ("t-00003", "idle", 9)
        assert len(threads) == THREADS and sent == []  # no notice before the reply
