"""Both storage backends pass the storage conformance suite, and a StorageSaver over each passes
the library's checkpointer suite; SQLite's group commit and read connection on their own."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from streamhil import START, StateGraph, interrupt
from streamhil.types import Command
from streamhil_server.storage import MemoryStorage, SqliteStorage, Storage, StorageSaver, ThreadRecord, Write

from checkpoint.conformance import CHECKS as SAVER_CHECKS
from checkpoint.conformance import Check
from .storage_conformance import CHECKS, StorageCheck

pytestmark = pytest.mark.anyio

BACKENDS = ["memory", "sqlite", "postgres"]


@asynccontextmanager
async def open_storage(kind: str, request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """A fresh storage; PostgreSQL in a schema of its own (skipped when no server answers)."""
    storage: Storage
    if kind == "memory":
        storage = MemoryStorage()
    elif kind == "sqlite":
        storage = SqliteStorage(request.getfixturevalue("tmp_path") / "s.sqlite")
    else:
        from streamhil_server.storage.postgres import PostgresStorage

        storage = PostgresStorage(request.getfixturevalue("postgres_url"))
    async with storage:
        yield storage


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_storage_conformance(kind: str, check: StorageCheck, request: pytest.FixtureRequest) -> None:
    async with open_storage(kind, request) as storage:
        await check(storage)


# alist_threads is an extra of the library's savers, not part of the checkpointer contract
@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("check", [c for c in SAVER_CHECKS if c.__name__ != "check_list_threads"], ids=lambda check: check.__name__.removeprefix("check_"))
async def test_storage_saver_is_a_conforming_checkpointer(kind: str, check: Check, request: pytest.FixtureRequest) -> None:
    async with open_storage(kind, request) as storage:
        await check(StorageSaver(storage))


async def test_a_sqlite_batch_with_a_failing_write_commits_the_others(tmp_path: Path) -> None:
    """A batch is first made under one savepoint; a failure undoes that and makes each write
    again in a savepoint of its own: only the failing write fails, nothing of it is stored."""
    from streamhil_server.storage.records import EventRow

    def events(thread_id: str, seqs: range) -> list[EventRow]:
        return [EventRow(thread_id, seq, None, f'{{"seq": {seq}}}') for seq in seqs]

    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        await storage.write(Write(thread_id="b", events=events("b", range(1, 2))))
        batch = [
            Write(thread_id="a", events=events("a", range(1, 3)), threads=[ThreadRecord("a", "g", "alice")]),
            Write(thread_id="b", events=events("b", range(1, 2)), threads=[ThreadRecord("b", "g", "alice")]),  # seq 1 again
            Write(thread_id="c", events=events("c", range(1, 4))),
        ]
        errors = await anyio.to_thread.run_sync(storage._commit, batch)
        assert [error is None for error in errors] == [True, False, True]
        assert isinstance(errors[1], sqlite3.IntegrityError)
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        rows = db.execute("SELECT thread_id, COUNT(*) FROM events GROUP BY thread_id ORDER BY thread_id").fetchall()
        assert rows == [("a", 2), ("b", 1), ("c", 3)]
        assert db.execute("SELECT thread_id FROM threads").fetchall() == [("a",)]  # none of b's write


async def test_group_commit_shares_commits_and_a_lone_write_is_not_delayed(tmp_path: Path) -> None:
    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        before = storage.batches
        await storage.save_thread(ThreadRecord("alone", "g", "alice"))
        assert storage.batches == before + 1  # a lone write is its own commit, at once
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for n in range(200):
                    tg.start_soon(storage.save_thread, ThreadRecord(f"t{n}", "g", "alice"))
        assert storage.writes - 1 == 200 and storage.batches - before - 1 < 200  # writes rode along
        with sqlite3.connect(tmp_path / "s.sqlite") as db:  # committed: another connection sees them
            assert db.execute("SELECT COUNT(*) FROM threads").fetchone() == (201,)


async def test_the_wal_is_checkpointed_past_its_own_threshold_not_sqlites_default(tmp_path: Path) -> None:
    """SQLite copies the WAL back every 1,000 pages by default; the server's writer waits for
    WAL_CHECKPOINT_PAGES, so pages dirtied again and again are copied once (docs/server.md)."""
    from streamhil_server.storage.sqlite import WAL_CHECKPOINT_PAGES

    frame = 24 + 4096  # a WAL frame: header and one page
    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        for n in range(900):  # lone writes: a commit each, a few pages each
            await storage.save_thread(ThreadRecord(f"t{n:04d}", "g", "alice", metadata={"n": "x" * 200}))
        wal = (tmp_path / "s.sqlite-wal").stat().st_size
        assert 1_200 * frame < wal < WAL_CHECKPOINT_PAGES * frame  # past the default, none yet
    with sqlite3.connect(tmp_path / "s.sqlite") as db:  # closed: everything is in the file
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone() == (900,)


async def test_reads_do_not_wait_for_a_commit_in_progress(tmp_path: Path) -> None:
    """The reader connection answers while the writer holds the write lock (WAL)."""
    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        await storage.save_thread(ThreadRecord("t", "g", "alice"))
        blocker = sqlite3.connect(tmp_path / "s.sqlite", isolation_level=None, timeout=30)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: our writes must wait
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(storage.save_thread, ThreadRecord("u", "g", "alice"))
                with anyio.fail_after(5):
                    assert (await storage.load_thread("t")) is not None  # the read is not queued behind it
                    assert await storage.list_threads(owner="alice") != []
                blocker.execute("COMMIT")
        finally:
            blocker.close()
        assert await storage.load_thread("u") is not None


async def test_a_file_written_by_the_server_opens_with_sqlite_saver(tmp_path: Path) -> None:
    from streamhil.checkpoint.base import thread_config
    from streamhil.checkpoint.sqlite import SqliteSaver

    from checkpoint.conformance import make_checkpoint

    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        saver = StorageSaver(storage)
        checkpoint = make_checkpoint({"x": 1}, {"x": 1})
        await saver.aput(thread_config("t"), checkpoint, {"step": 0}, checkpoint.channel_versions)
    async with SqliteSaver.from_path(tmp_path / "s.sqlite") as plain:
        got = await plain.aget_tuple(thread_config("t"))
        assert got is not None and got.checkpoint.channel_values == {"x": 1}


async def test_the_head_cache_serves_the_latest_checkpoint_without_a_read(tmp_path: Path) -> None:
    from streamhil.checkpoint.base import thread_config

    from checkpoint.conformance import make_checkpoint

    async with SqliteStorage(tmp_path / "s.sqlite") as storage:
        saver = StorageSaver(storage, head_cache_size=2)
        parent = None
        for n in range(5):
            checkpoint = make_checkpoint({"x": n, "fixed": "same"}, {"x": n + 1, "fixed": 1}, step=n)
            config = thread_config("t", checkpoint_id=parent) if parent else thread_config("t")
            changed = {"x": n + 1} if parent else checkpoint.channel_versions
            await saver.aput(config, checkpoint, {"step": n}, changed)
            await saver.aput_writes(thread_config("t", checkpoint_id=checkpoint.id), [("x", n * 10)], "task")
            parent = checkpoint.id
        misses = saver.heads.misses
        got = await saver.aget_tuple(thread_config("t"))
        assert got is not None and got.checkpoint.channel_values == {"x": 4, "fixed": "same"}
        assert got.pending_writes == [("task", "x", 40)]
        assert saver.heads.misses == misses  # served from memory
        fresh = StorageSaver(storage)  # what a reader of the file sees is the same
        again = await fresh.aget_tuple(thread_config("t"))
        assert again is not None and again.checkpoint.channel_values == got.checkpoint.channel_values
        assert again.pending_writes == got.pending_writes and fresh.heads.misses == 1
        for n in range(3):  # the cache is bounded
            await saver.aput(thread_config(f"other-{n}"), make_checkpoint({"x": n}, {"x": 1}), {"step": 0}, {"x": 1})
        assert len(saver.heads) == 2


async def test_a_write_on_a_closed_storage_says_so(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError, match="not open"):
        await storage.write(Write(thread_id="t"))
    memory = MemoryStorage()
    with pytest.raises(RuntimeError, match="not open"):
        await memory.write(Write(thread_id="t"))


# --- an answer's head handed to the run that takes it -------------------------------------------


def _keep_appending(left: list[str], right: list[str]) -> list[str]:
    left.extend(right)  # a reducer that changes its left value in place
    return left


class _AskState(TypedDict, total=False):
    items: Annotated[list[str], _keep_appending]
    answer: str


def _asking_graph(saver: StorageSaver) -> Any:
    def ask(state: _AskState) -> _AskState:
        return {"answer": interrupt("value?")}

    g = StateGraph(_AskState)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    return g.compile(checkpointer=saver)


class _CountingStorage(MemoryStorage):
    reads = 0

    async def get_checkpoint(self, address: Any) -> Any:
        self.reads += 1
        return await super().get_checkpoint(address)


def _sink(ns: Any, mode: str, payload: Any) -> None:
    return None


_T = {"configurable": {"thread_id": "t"}}


async def _answered(storage: MemoryStorage, command: Command[Any]) -> Any:
    """A graph on ``storage`` that asked once (state ``items: ["a"]``), with ``command`` recorded."""
    graph = _asking_graph(StorageSaver(storage))
    await graph.ainvoke({"items": ["a"]}, _T)
    await graph.arecord_command(_T, command)
    return graph


async def test_an_answers_head_goes_to_the_run_that_takes_it_without_a_read() -> None:
    async with _CountingStorage() as storage:
        graph = await _answered(storage, Command(resume="yes"))
        config = _T
        reads = storage.reads
        outcome = await graph.arun(None, config, sink=_sink)
        assert storage.reads == reads  # the run started from the head the answer was checked on
        assert outcome.values == {"items": ["a"], "answer": "yes"}
        state = await graph.aget_state(config)
        assert state.values == {"items": ["a"], "answer": "yes"} and storage.reads == reads + 1


async def test_a_write_between_answer_and_run_voids_the_handed_head() -> None:
    async with _CountingStorage() as storage:
        graph = await _answered(storage, Command(resume="yes"))
        config = _T
        await graph.aupdate_state(config, {"items": ["b"]})  # a write of the lane in between
        reads = storage.reads
        await graph.arun(None, config, sink=_sink)
        assert storage.reads > reads  # read again: the handed head was out of date
        assert (await graph.aget_state(config)).values["items"] == ["a", "b"]


async def test_an_update_command_is_not_handed_over() -> None:
    # Checking Command(update=...) applies it once with the reducers; one that changes its
    # value in place would otherwise see it applied twice by a run sharing those values.
    async with _CountingStorage() as storage:
        graph = await _answered(storage, Command(resume="yes", update={"items": ["u"]}))
        outcome = await graph.arun(None, _T, sink=_sink)
        assert outcome.values["items"] == ["a", "u"] and outcome.values["answer"] == "yes"
