"""streamhil._group_commit: a lone item goes at once, items arriving during a commit share the
next one, one failing item fails only its caller, a failed commit fails the whole batch; and the
SQLite batch runner behind SqliteSaver (a savepoint per transaction)."""

from __future__ import annotations

import sqlite3
from typing import Any

import anyio
import pytest

from streamhil._group_commit import GroupCommit
from streamhil.checkpoint._sqlite_drivers import run_batch
from streamhil.checkpoint._sqlite_sql import Sql, Tx
from streamhil.errors import CheckpointError

pytestmark = pytest.mark.anyio


class Recorder:
    """A commit function that records its batches and can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.release = anyio.Event()
        self.entered = anyio.Event()
        self.hold_first = False

    async def commit(self, batch: list[Any]) -> list[Any]:
        self.batches.append(list(batch))
        self.entered.set()
        if self.hold_first and len(self.batches) == 1:
            await self.release.wait()
        return [ValueError(f"bad {item}") if str(item).startswith("bad") else f"ok {item}" for item in batch]


async def test_a_lone_item_is_committed_at_once() -> None:
    recorder = Recorder()
    group: GroupCommit[str] = GroupCommit(recorder.commit)
    assert await group.submit("a") == "ok a"
    assert recorder.batches == [["a"]] and group.batches == 1 and group.items == 1


async def test_items_arriving_during_a_commit_share_the_next_one_and_fail_alone() -> None:
    recorder = Recorder()
    recorder.hold_first = True
    settled: list[tuple[str, Any]] = []
    group: GroupCommit[str] = GroupCommit(recorder.commit, settled=lambda item, result: settled.append((item, result)))
    results: dict[str, Any] = {}

    async def submit(item: str) -> None:
        try:
            results[item] = await group.submit(item)
        except ValueError as exc:
            results[item] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(submit, "first")
        await recorder.entered.wait()  # the first batch is being committed
        for item in ("b1", "bad2", "b3"):  # one after another (trio starts tasks in any order)
            tg.start_soon(submit, item)
            await anyio.wait_all_tasks_blocked()
        recorder.release.set()
    assert recorder.batches == [["first"], ["b1", "bad2", "b3"]]
    assert results["first"] == "ok first" and results["b1"] == "ok b1" and results["b3"] == "ok b3"
    assert isinstance(results["bad2"], ValueError)
    assert [item for item, _ in settled] == ["first", "b1", "bad2", "b3"]  # in submission order


async def test_a_failed_commit_fails_every_caller_of_its_batch() -> None:
    async def broken(batch: list[str]) -> list[Any]:
        raise OSError("disk full")

    group: GroupCommit[str] = GroupCommit(broken)
    with pytest.raises(OSError, match="disk full"):
        await group.submit("a")
    assert group.batches == 1


async def test_a_cancelled_caller_still_waits_for_its_commit() -> None:
    recorder = Recorder()
    recorder.hold_first = True
    group: GroupCommit[str] = GroupCommit(recorder.commit)
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as scope:
            tg.start_soon(group.submit, "held")
            await recorder.entered.wait()
            scope.cancel()
        recorder.release.set()
    assert group.items == 1 and recorder.batches == [["held"]]


# -- the SQLite batch runner -----------------------------------------------------------------


def insert(value: str, fail_after: bool = False) -> Tx[str]:
    yield Sql("INSERT INTO t (v) VALUES (?)", (value,))
    if fail_after:
        raise ValueError(f"refused {value}")
    return value


def count() -> Tx[int]:
    rows = yield Sql("SELECT count(*) FROM t")
    return int(rows[0][0])


def conn(tmp_path: Any) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "batch.sqlite", isolation_level=None, check_same_thread=False)
    db.execute("CREATE TABLE t (v TEXT PRIMARY KEY)")
    return db


def test_a_batch_is_one_transaction_with_a_savepoint_each(tmp_path: Any) -> None:
    db = conn(tmp_path)
    results = run_batch(db, [(insert("a"), "write"), (insert("b", fail_after=True), "write"), (count(), "read"),
                             (insert("a"), "write"), (insert("c"), "write")])
    assert results[0] == "a" and results[4] == "c"
    assert isinstance(results[1], ValueError)  # its insert was rolled back with it
    assert results[2] == 1  # a read sees the batch's earlier writes, not the refused one
    assert isinstance(results[3], CheckpointError)  # a duplicate key fails alone
    assert sorted(v for (v,) in db.execute("SELECT v FROM t")) == ["a", "c"]
    assert not db.in_transaction


def test_a_failed_begin_fails_the_whole_batch(tmp_path: Any) -> None:
    db = conn(tmp_path)
    other = sqlite3.connect(tmp_path / "batch.sqlite", isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    db.execute("PRAGMA busy_timeout = 0")
    results = run_batch(db, [(insert("a"), "write"), (insert("b"), "write")])
    assert all(isinstance(r, CheckpointError) for r in results)
    other.execute("ROLLBACK")
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
