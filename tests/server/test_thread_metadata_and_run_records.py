"""Thread metadata (threads made before their first run) and run records survive a restart (SQLite
and PostgreSQL), and on PostgreSQL every server process sees those another one wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from streamhil.protocol import StartRun

from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.registry import GraphRegistry
from streamhil_server.runtime import Runtime

pytestmark = pytest.mark.anyio


def registry() -> GraphRegistry:
    return GraphRegistry({name: graph for name, (graph, _) in demo_graphs().items()})


async def test_metadata_and_run_records_survive_a_restart(db: str) -> None:
    async with Runtime(registry(), db=db) as runtime:
        await runtime.thread_metadata.create("t-early", "alice", {"team": "ops"})
        await runtime.thread_metadata.stamp("t-early", "alice", {"graph_id": "approve"})
        await runtime.thread_metadata.stamp("t-early", "alice", {"graph_id": "other"})  # first stamp wins
        done = anyio.Event()
        remove = runtime.hub.add_listener(lambda e: done.set() if e.event == "run_interrupted" else None)
        accepted = await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-early", input={"request": "x"}))
        runtime.run_records.accepted(accepted.run_id, "t-early", accepted.seq, assistant_id="a-1",
                                     metadata={"k": "v"}, multitask_strategy="enqueue",
                                     stream_modes=("values", "messages-tuple"), stream_subgraphs=True)
        with anyio.fail_after(10):
            await done.wait()
        remove()
        assert runtime.run_records.get(accepted.run_id).status == "success"  # type: ignore[union-attr]
    async with Runtime(registry(), db=db) as runtime:
        meta = runtime.thread_metadata.get("t-early")
        assert meta is not None and meta.owner == "alice" and meta.metadata == {"team": "ops", "graph_id": "approve"}
        assert runtime.run_records.get(accepted.run_id) is None  # read per thread, when asked
        await runtime.refresh_thread("t-early")  # as every HTTP surface does first
        record = runtime.run_records.get(accepted.run_id)
        assert record is not None and record.status == "success" and record.metadata == {"k": "v"}
        assert record.assistant_id == "a-1" and record.first_seq == accepted.seq
        assert (record.stream_modes, record.stream_subgraphs) == (("values", "messages-tuple"), True)
        assert [r.run_id for r in runtime.run_records.of_thread("t-early")] == [accepted.run_id]


async def test_an_older_sqlite_file_gets_the_stream_column(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:  # the table as servers before the ``stream`` column made it
        old.execute(
            "CREATE TABLE run_records (run_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, status TEXT NOT NULL,"
            " assistant_id TEXT, metadata BLOB NOT NULL, multitask_strategy TEXT, first_seq INTEGER NOT NULL,"
            " created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        old.execute("INSERT INTO run_records VALUES ('r-old', 't-old', 'success', NULL, X'7b7d', NULL, 0, 'a', 'b')")
    async with Runtime(registry(), db=str(db)) as runtime:
        record = await runtime.run_records.find("t-old", "r-old")
        assert record is not None and record.status == "success" and record.stream_modes is None


async def test_every_process_sees_the_metadata_and_run_records_of_the_others(postgres_db_url: str) -> None:
    async with Runtime(registry(), db=postgres_db_url) as first, Runtime(registry(), db=postgres_db_url) as second:
        await first.thread_metadata.create("t-1", "alice", {"team": "ops"})
        assert second.thread_metadata.get("t-1") is None
        await second.refresh_thread("t-1")
        meta = second.thread_metadata.get("t-1")
        assert meta is not None and meta.metadata == {"team": "ops"}
        await second.thread_metadata.merge("t-1", "alice", {"graph_id": "approve"})  # read first: nothing lost
        await first.refresh_thread("t-1")
        assert first.thread_metadata.get("t-1").metadata == {"team": "ops", "graph_id": "approve"}  # type: ignore[union-attr]

        done = anyio.Event()
        remove = first.hub.add_listener(lambda e: done.set() if e.event == "run_interrupted" else None)
        accepted = await first.runs.start_run("alice", StartRun(graph="approve", thread_id="t-1", input={"request": "x"}))
        with anyio.fail_after(10):
            await done.wait()
        remove()
        # the second process accepted nothing but is told of the run's assistant (an HTTP surface there)
        second.run_records.accepted(accepted.run_id, "t-1", accepted.seq, assistant_id="a-1", metadata={"k": "v"},
                                    multitask_strategy=None)
        await second.refresh_thread("t-1")  # each stores what it knows, then reads what all stored
        await first.refresh_thread("t-1")
        await second.refresh_thread("t-1")
        for runtime in (first, second):  # both views merged: the status of one, the assistant of the other
            record = runtime.run_records.get(accepted.run_id)
            assert record is not None and (record.status, record.assistant_id, record.metadata) == ("success", "a-1", {"k": "v"})
        listed = await second.runs.list_threads("alice", None, None, 10, 0)
        assert [(t["thread_id"], t["status"]) for t in listed] == [("t-1", "interrupted")]


async def test_only_recently_used_threads_keep_their_run_records_in_memory(tmp_path: Path) -> None:
    """A long-running server does not keep a record per run it ever ran: beyond ``max_threads``
    the least recently used threads' stored records are forgotten and read again when asked."""
    db = str(tmp_path / "server.sqlite")
    async with Runtime(registry(), db=db) as runtime:
        runtime.run_records.max_threads = 2
        ended: dict[str, str] = {}
        all_ended = anyio.Event()
        tids = [f"t-{i}" for i in range(5)]

        def heard(event: Any) -> None:
            if event.event == "run_interrupted":
                ended[event.thread_id] = event.run_id
                if len(ended) == len(tids):
                    all_ended.set()

        remove = runtime.hub.add_listener(heard)
        for tid in tids:
            await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id=tid, input={"request": tid}))
        with anyio.fail_after(10):
            await all_ended.wait()
        remove()
        records = runtime.run_records
        with anyio.fail_after(10):
            await records._flush()  # store what it heard (if the writer has not yet), forget what it may
        kept = {r.thread_id for r in records.records.values()}
        assert len(kept) <= 2 and kept <= set(tids)
        forgotten = next(t for t in tids if t not in kept)
        assert records.of_thread(forgotten) == []
        await runtime.refresh_thread(forgotten)  # read back from the table, as stored
        [back] = records.of_thread(forgotten)
        assert (back.run_id, back.status) == (ended[forgotten], "success")
        assert len({r.thread_id for r in records.records.values()}) <= 2  # still bounded


async def test_a_thread_keeps_only_its_newest_run_records_in_memory(tmp_path: Path) -> None:
    """A thread answered thousands of times keeps its newest ``max_runs_per_thread`` records in
    memory; older ones are still found and listed, from the table."""
    async with Runtime(registry(), db=str(tmp_path / "server.sqlite")) as runtime:
        records = runtime.run_records
        records.max_runs_per_thread = 2
        await runtime.hub.ensure("t-long")
        run_ids = [f"r-{n}" for n in range(5)]
        for run_id in run_ids:  # five runs, one after another, as the run manager reports them
            runtime.hub.publish("t-long", "run_started", run_id, {})
            runtime.hub.publish("t-long", "run_done", run_id, {})
        with anyio.fail_after(10):
            await runtime.hub.wait_written()  # the records are stored with the events they were heard from
            await records._flush()
        assert [r.run_id for r in records.of_thread("t-long")] == ["r-4", "r-3"]  # in memory: the newest
        assert [r.run_id for r in await records.all_of_thread("t-long")] == run_ids[::-1]
        oldest = await records.find("t-long", "r-0")
        assert oldest is not None and oldest.status == "success"
        assert await records.find("t-other", "r-0") is None  # a run is found only under its thread
        assert await records.find("t-long", "r-missing") is None


async def test_run_records_outlive_a_database_that_refuses_writes_for_a_while(db: str) -> None:
    """The database restarts, or cuts the writer's connection: the run records' writer tries
    again later (it used to die, and the whole runtime with it), and nothing is lost."""

    class Refused(Exception):
        pass

    async with Runtime(registry(), db=db) as runtime:
        store = runtime.run_records.store
        refusals = {"left": 2}
        stored = anyio.Event()

        class FlakyStore:
            """The storage as the run records see it (other parts use it as it is), refusing
            their first statements."""

            def __getattr__(self, name: str) -> Any:
                return getattr(store, name)

            async def run_sql(self, fn: Any) -> Any:
                if refusals["left"]:
                    refusals["left"] -= 1
                    raise Refused("the database system is shutting down")
                result = await store.run_sql(fn)
                stored.set()
                return result

        runtime.run_records.store = FlakyStore()  # type: ignore[assignment]
        done = anyio.Event()
        remove = runtime.hub.add_listener(lambda e: done.set() if e.event == "run_interrupted" else None)
        accepted = await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-flaky", input={"request": "x"}))
        runtime.run_records.accepted(accepted.run_id, "t-flaky", accepted.seq, assistant_id="a-1", metadata={},
                                     multitask_strategy="reject")
        with anyio.fail_after(20):
            await done.wait()
            await stored.wait()  # after two refusals, the third attempt stored them
        remove()
        assert refusals["left"] == 0
        # The runtime still serves: another run starts and pauses.
        done = anyio.Event()
        remove = runtime.hub.add_listener(lambda e: done.set() if e.event == "run_interrupted" else None)
        await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-after", input={"request": "y"}))
        with anyio.fail_after(10):
            await done.wait()
        remove()
        runtime.run_records.store = store
    async with Runtime(registry(), db=db) as runtime:
        await runtime.refresh_thread("t-flaky")
        record = runtime.run_records.get(accepted.run_id)
        assert record is not None and record.status == "success" and record.assistant_id == "a-1"


async def test_run_records_the_database_keeps_refusing_are_dropped_not_kept_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the database will never take (say, a column it does not have) is dropped after a
    bounded number of attempts: the writer goes on with the next records."""
    import streamhil_server.run_records as run_records_module

    monkeypatch.setattr(run_records_module, "_ATTEMPTS", 2)
    async with Runtime(registry(), db=str(tmp_path / "server.sqlite")) as runtime:
        store = runtime.run_records.store
        real_run_sql = store.run_sql
        attempts: list[int] = []
        given_up, stored = anyio.Event(), anyio.Event()

        async def refusing_run_sql(fn: Any) -> Any:
            if len(attempts) < 3:  # two refusals, then the third, after which the batch is dropped
                attempts.append(1)
                if len(attempts) == 3:
                    given_up.set()
                raise RuntimeError("no such column: stream")
            result = await real_run_sql(fn)
            stored.set()
            return result

        store.run_sql = refusing_run_sql  # type: ignore[method-assign]
        first = await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-doomed", input={"request": "x"}))
        runtime.run_records.accepted(first.run_id, "t-doomed", first.seq, assistant_id="a", metadata={},
                                     multitask_strategy="reject")
        with anyio.fail_after(20):
            await given_up.wait()
        second = await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-next", input={"request": "y"}))
        runtime.run_records.accepted(second.run_id, "t-next", second.seq, assistant_id="b", metadata={},
                                     multitask_strategy="reject")
        with anyio.fail_after(20):
            await stored.wait()  # the writer went on: the next records are stored
        store.run_sql = real_run_sql  # type: ignore[method-assign]


async def test_a_late_start_does_not_revive_a_run_that_ended(tmp_path: Path) -> None:
    """A run cancelled while queued ends then (its record says so); stored with its cancel, it
    still gets its run_started and run_cancelled when its turn comes, also after a restart, when
    this process no longer remembers it was dropped. That late start must not show the run as
    running again (GET, join and cancel?wait=1 would wait for it)."""
    from streamhil_server.hub import HubEvent
    from streamhil_server.run_records import RunInfo

    async with Runtime(registry(), db=str(tmp_path / "server.sqlite")) as runtime:
        records = runtime.run_records
        ended = RunInfo("r-queued", "t-1", first_seq=0)
        ended.status = "interrupted"
        records._keep(ended)
        records._heard(HubEvent("t-1", 5, "run_started", "r-queued", (), {"graph": "approve", "kind": "start"}))
        assert records.records["r-queued"].status == "interrupted"
        fresh = RunInfo("r-next", "t-1", first_seq=5)
        records._keep(fresh)
        records._heard(HubEvent("t-1", 6, "run_started", "r-next", (), {"graph": "approve", "kind": "start"}))
        assert records.records["r-next"].status == "running"  # an ordinary start still counts


class _CountingDict(dict):  # type: ignore[type-arg]
    """Counts lookups by thread (what forgetting records visits)."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up = 0

    def get(self, key: Any, default: Any = None) -> Any:
        self.looked_up += 1
        return super().get(key, default)


async def test_run_records_stay_bounded_when_runs_ride_with_their_events(tmp_path: Path) -> None:
    """On the WebSocket path a run's record is stored with the write of its events, never by the
    writer's flush: the records of threads beyond ``max_threads`` are forgotten there too (they
    grew by about 1 KB per thread for the process's life), at a bounded cost per event however
    many threads have a run going."""
    async with Runtime(registry(), db=str(tmp_path / "server.sqlite")) as runtime:
        records, hub = runtime.run_records, runtime.hub
        records.max_threads = 5
        records._by_thread = counting = _CountingDict()
        for n in range(40):  # runs that stay going: their records must stay
            await hub.ensure(f"busy-{n}")
            hub.publish(f"busy-{n}", "run_started", f"busy-run-{n}", {})
        for n in range(200):
            tid = f"t-{n}"
            await hub.ensure(tid)
            hub.publish(tid, "run_started", f"r-{n}", {})
            hub.publish(tid, "run_done", f"r-{n}", {})
            with anyio.fail_after(10):
                await hub.wait_written()
            assert len(records._used) <= 5 + 40 + 1
        assert records._dirty == {}  # nothing went through the writer's flush
        kept = {r.thread_id for r in records.records.values()}
        assert {f"busy-{n}" for n in range(40)} <= kept
        assert len(kept - {f"busy-{n}" for n in range(40)}) <= 5
        assert len(records.records) <= 5 + 40
        assert counting.looked_up / 200 <= 3 * 8  # threads visited per new thread: bounded
        back = await records.find("t-0", "r-0")  # forgotten, still stored
        assert back is not None and back.status == "success"
