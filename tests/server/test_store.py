"""The store's group commit: concurrent calls share a batch, each keeps its own result and error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest
from streamhil_server.store import RunRecord, Store, ThreadRecord

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("in_memory", [False, True])
async def test_concurrent_calls_share_batches_and_all_commit(tmp_path: Path, in_memory: bool) -> None:
    path = None if in_memory else str(tmp_path / "s.sqlite")
    async with Store(path) as store:
        before_batches, before_calls = store.batches, store.calls
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for n in range(200):
                    tg.start_soon(store.save_run, RunRecord(f"r-{n}", f"t-{n % 7}", "start", "queued", {"n": n}))
        assert store.calls - before_calls == 200
        assert store.batches - before_batches < 200  # calls made meanwhile rode along in one batch
        runs = await store.load_runs()
    assert sorted(r.params["n"] for r in runs) == list(range(200))
    if path is not None:  # committed: another connection sees every row
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (200,)


async def test_a_failing_call_undoes_only_its_own_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    async with Store(path) as store:
        results: dict[str, object] = {}

        async def failing() -> None:
            def write(db: sqlite3.Connection) -> None:
                db.execute("INSERT INTO answered VALUES ('t-1', 'bad-but-written-first')")
                db.execute("INSERT INTO no_such_table VALUES (1)")

            try:
                await store._call(write)
            except sqlite3.OperationalError as exc:
                results["failing"] = exc

        async def good(n: int) -> None:
            await store.add_answered("t-1", [f"i-{n}"])
            results[f"good-{n}"] = await store.answered_among("t-1", [f"i-{n}", "i-none"])

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(good, n)
                    if n == 10:
                        tg.start_soon(failing)
        assert isinstance(results["failing"], sqlite3.OperationalError)
        for n in range(20):
            assert results[f"good-{n}"] == [f"i-{n}"]
        stored = await store.answered_among("t-1", ["bad-but-written-first", *(f"i-{n}" for n in range(20))])
    assert stored == [f"i-{n}" for n in range(20)]


async def test_results_survive_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    record = ThreadRecord("t-1", "g", "alice", status="interrupted", interrupts=[{"id": "i-1"}])
    async with Store(path) as store:
        epoch = store.epoch
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(store.save_thread, record)
                tg.start_soon(store.append_events, [("t-1", 1, "r-1", "{}"), ("t-1", 2, "r-1", "{}")])
                tg.start_soon(store.save_run, RunRecord("r-1", "t-1", "start", "running", {}))
            await store.finish_run("r-1", record)
    async with Store(path) as store:
        assert store.epoch == epoch
        assert [t.interrupts for t in await store.load_threads()] == [[{"id": "i-1"}]]
        assert await store.event_heads() == {"t-1": (1, 2)}
        assert await store.load_runs() == []
