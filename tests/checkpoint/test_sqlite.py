"""What only SqliteSaver has: the file, its settings, transactions, processes and event loops."""

from __future__ import annotations

import operator

import json
import sqlite3
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypedDict

import aiosqlite
import anyio
import pytest

from streamhil.checkpoint import _sqlite_drivers as drivers
from streamhil.checkpoint import _sqlite_sql as sql
from streamhil.checkpoint._records import StoredCheckpoint
from streamhil.checkpoint._sqlite_drivers import WHOLE_TX_ON_AIOSQLITE, open_sqlite3
from streamhil.checkpoint.base import thread_config
from streamhil.checkpoint.sqlite import SqliteSaver
from streamhil.errors import CheckpointError, ConfigError

from .conformance import CHECKS, Check, make_checkpoint

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.sqlite"


def query(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Read the file with a separate plain sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(statement, params).fetchall()


async def connection_settings(saver: SqliteSaver) -> tuple[object, ...]:
    """(synchronous, busy_timeout) of the connection the running loop uses."""
    pragmas = ("PRAGMA synchronous", "PRAGMA busy_timeout")
    conn = saver._threaded._conn
    if conn is not None:  # trio: the stdlib connection
        return tuple(conn.execute(p).fetchone()[0] for p in pragmas)
    (entry,) = saver._aio._by_loop.values()  # asyncio: this loop's aiosqlite connection
    assert entry.db is not None
    return tuple([list(await entry.db.execute_fetchall(p))[0][0] for p in pragmas])


async def put_chain(saver: SqliteSaver, thread_id: str, n: int) -> list[dict[str, object]]:
    configs = []
    config = thread_config(thread_id)
    for i in range(n):
        config = await saver.aput(config, make_checkpoint({"i": i}, {"i": i + 1}), {"step": i}, {"i": i + 1})
        configs.append(config)
    return configs


async def test_file_settings(db: Path) -> None:
    async with SqliteSaver.from_path(db, busy_timeout=2.5) as saver:
        await put_chain(saver, "t", 1)
        assert await connection_settings(saver) == (1, 2500)  # synchronous=NORMAL is 1
        assert query(db, "PRAGMA journal_mode") == [("wal",)]
        assert query(db, "PRAGMA user_version") == [(sql.SCHEMA_VERSION,)]
        tables = {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"checkpoints", "blobs", "writes"}


async def test_backend_picks_its_driver(db: Path, anyio_backend: str) -> None:
    async with SqliteSaver.from_path(db) as saver:
        await put_chain(saver, "t", 1)
        if anyio_backend == "trio":
            assert saver._threaded.is_open and saver._aio.connection_count == 0
        else:
            assert not saver._threaded.is_open and saver._aio.connection_count == 1
    assert not saver._threaded.is_open and saver._aio.connection_count == 0


async def test_newer_schema_is_refused(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    message = rf"schema version 99, but this streamhil reads up to version {sql.SCHEMA_VERSION}; upgrade streamhil"
    with pytest.raises(CheckpointError, match=message):
        async with SqliteSaver.from_path(db):
            pass


def test_newer_schema_is_refused_by_sync_with(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION + 1}")
    with pytest.raises(CheckpointError, match=f"schema version {sql.SCHEMA_VERSION + 1}"):
        with SqliteSaver.from_path(db):
            pass


def test_paths_that_are_not_files() -> None:
    for path in ("", "file:x?mode=memory"):
        with pytest.raises(ConfigError, match="needs a file path.*sqlite3.connect"):
            SqliteSaver(path)
    for wrong in (42, None, b"x.db"):
        with pytest.raises(ConfigError, match="takes a file path, a sqlite3.Connection or an aiosqlite.Connection"):
            SqliteSaver(wrong)  # type: ignore[arg-type]


async def test_closed_saver_refuses_work(db: Path) -> None:
    async with SqliteSaver.from_path(db) as saver:
        pass
    with pytest.raises(CheckpointError, match="is closed"):
        await saver.aget_tuple(thread_config("t"))


class LogState(TypedDict):
    log: Annotated[list[str], operator.add]


async def test_sync_with_inside_async_code_works(db: Path) -> None:
    """As in a Jupyter cell: `with` and the graph's sync API, inside a running loop, then the
    async API on that loop sees the same file."""
    from streamhil import START, StateGraph

    builder = StateGraph(LogState)
    builder.add_node("a", lambda state: {"log": ["a"]})
    builder.add_edge(START, "a")
    with SqliteSaver.from_path(db) as saver:
        graph = builder.compile(checkpointer=saver)
        assert graph.invoke({"log": []}, thread_config("t")) == {"log": ["a"]}
        assert (await graph.aget_state(thread_config("t"))).values == {"log": ["a"]}
    with pytest.raises(CheckpointError, match="is closed"):
        await saver.aget_tuple(thread_config("t"))


async def test_aput_is_one_transaction(db: Path) -> None:
    """If any statement of an aput fails, none of it is kept."""
    async with SqliteSaver.from_path(db) as saver:
        parent = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        await saver.aput_writes(parent, [("a", "old")], "task")
        with closing(sqlite3.connect(db)) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON writes WHEN NEW.channel = 'boom'"
                " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
            conn.commit()
        child = make_checkpoint({"a": 1, "b": [1]}, {"a": 2, "b": 1})
        with pytest.raises(CheckpointError, match="SQLite failed: injected failure"):
            await saver.aput(parent, child, {}, {"a": 2, "b": 1},
                             writes=[("task", "a", "new"), ("other", "boom", 1)])
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.checkpoint.id == parent["configurable"]["checkpoint_id"]
        assert latest.pending_writes == [("task", "a", "old")]
        assert query(db, "SELECT count(*) FROM blobs") == [(1,)]
        # aput_writes is one transaction too.
        with pytest.raises(CheckpointError, match="injected failure"):
            await saver.aput_writes(parent, [("x", 1), ("boom", 2)], "task")
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.pending_writes == [("task", "a", "old")]
        # The connection is usable afterwards: no transaction was left open.
        await saver.aput(parent, child, {}, {"a": 2, "b": 1}, writes=[("task", "a", "new")])
        latest = await saver.aget_tuple(parent)
        assert latest is not None and latest.pending_writes == [("task", "a", "new")]


async def test_unchanged_channels_are_not_stored_again(db: Path) -> None:
    async with SqliteSaver.from_path(db) as saver:
        values = {f"c{i}": list(range(50)) for i in range(10)}
        versions = {key: 1 for key in values}
        config = await saver.aput(thread_config("t"), make_checkpoint(dict(values), dict(versions)), {}, versions)
        for step in range(2, 7):
            versions = {**versions, "c0": step}
            values = {**values, "c0": [step]}
            config = await saver.aput(config, make_checkpoint(dict(values), dict(versions)), {}, {"c0": step})
        assert query(db, "SELECT count(*) FROM blobs") == [(15,)]
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.checkpoint.channel_values == values


async def test_two_savers_on_one_file(db: Path) -> None:
    async with SqliteSaver.from_path(db) as one, SqliteSaver.from_path(db) as two:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(6):
                    tg.start_soon(put_chain, one if n % 2 else two, f"thread-{n}", 5)
        for saver in (one, two):
            assert sorted(await saver.alist_threads()) == [f"thread-{n}" for n in range(6)]
            for n in range(6):
                assert len([t async for t in saver.alist(thread_config(f"thread-{n}"))]) == 5
    assert query(db, "SELECT count(*) FROM checkpoints") == [(30,)]


_CHILD = textwrap.dedent(
    """
    import json, sys
    import anyio
    from streamhil.checkpoint.base import Checkpoint, thread_config
    from streamhil.checkpoint.sqlite import SqliteSaver

    async def read(saver):
        found = await saver.aget_tuple(thread_config("from-parent"))
        return found.checkpoint.channel_values, found.pending_writes

    async def write(saver):
        checkpoint = Checkpoint(id=sys.argv[3], ts="2024-01-01T00:00:00+00:00",
                                channel_values={"who": "child", "t": (1, 2)},
                                channel_versions={"who": 1, "t": 1})
        await saver.aput(thread_config("from-child"), checkpoint, {"source": "child"}, {"who": 1, "t": 1})

    with SqliteSaver.from_path(sys.argv[1]) as saver:
        values, writes = anyio.run(read, saver, backend=sys.argv[2])
        anyio.run(write, saver, backend=sys.argv[2])
    print(json.dumps({"values": values, "writes": writes}))
    """
)


@pytest.mark.parametrize("child_backend", ["asyncio", "trio"])
async def test_another_process_reads_and_writes_the_file(db: Path, child_backend: str) -> None:
    async with SqliteSaver.from_path(db) as saver:
        parent = await saver.aput(
            thread_config("from-parent"), make_checkpoint({"who": "parent"}, {"who": 1}), {}, {"who": 1}
        )
        await saver.aput_writes(parent, [("answer", 42)], "task")
        child_id = make_checkpoint({}, {}).id
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, "-c", _CHILD, str(db), child_backend, child_id], check=False
            )
        assert done.returncode == 0, done.stderr.decode()
        assert json.loads(done.stdout) == {"values": {"who": "parent"}, "writes": [["task", "answer", 42]]}
        found = await saver.aget_tuple(thread_config("from-child"))
        assert found is not None
        assert found.checkpoint.id == child_id
        assert found.checkpoint.channel_values == {"who": "child", "t": (1, 2)}
        assert found.metadata == {"source": "child"}


@pytest.fixture
def no_leftover_threads() -> Iterator[None]:
    """Fail if a connection thread is still running after the test (waiting for it to end).

    aiosqlite's threads are not daemons: one left running would stop the process exiting.
    (Idle worker threads kept by trio's and anyio's thread caches are daemons.)
    """
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        if thread.daemon:
            continue
        thread.join(timeout=5)  # a closed aiosqlite thread ends just after close() returns
        assert not thread.is_alive(), f"{thread!r} was left running"


@pytest.mark.parametrize("backends", [("asyncio", "asyncio", "asyncio"), ("trio", "trio"), ("asyncio", "trio", "asyncio")])
def test_sync_with_across_event_loops(db: Path, backends: tuple[str, ...], no_leftover_threads: None) -> None:
    """Each graph.invoke runs its own loop; the saver must follow from one loop to the next."""
    seen: list[int] = []

    async def step(saver: SqliteSaver, n: int) -> None:
        latest = await saver.aget_tuple(thread_config("t"))
        parent = latest.config if latest is not None else thread_config("t")
        assert (latest.checkpoint.channel_values["n"] if latest else -1) == n - 1
        await saver.aput(parent, make_checkpoint({"n": n}, {"n": n + 1}), {"step": n}, {"n": n + 1})
        seen.append(saver._aio.connection_count)

    with SqliteSaver.from_path(db) as saver:
        for n, backend in enumerate(backends):
            anyio.run(step, saver, n, backend=backend)
    assert query(db, "SELECT count(*) FROM checkpoints") == [(len(backends),)]
    # At most one aiosqlite connection at a time: a dead loop's connection is closed by the next.
    assert max(seen) <= 1
    assert saver._aio.connection_count == 0 and not saver._threaded.is_open


async def test_cancelled_aput_still_commits_whole(db: Path) -> None:
    """Cancelling a caller whose transaction has begun neither splits it nor wedges the connection."""
    async with SqliteSaver.from_path(db) as saver:
        parent = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        child = make_checkpoint({"a": 1}, {"a": 2})
        with closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # hold the write lock: the aput waits inside BEGIN
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(
                        partial(saver.aput, parent, child, {}, {"a": 2}, writes=[("task", "a", 1)])
                    )
                    await anyio.wait_all_tasks_blocked()
                    tg.cancel_scope.cancel()
                    other.execute("COMMIT")
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.checkpoint.id == child.id
        got_parent = await saver.aget_tuple(parent)
        assert got_parent is not None and got_parent.pending_writes == [("task", "a", 1)]
        await saver.aput_writes(latest.config, [("b", 2)], "next")  # the connection still works
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.pending_writes == [("next", "b", 2)]


# -- what keeps SQLite cheap ---------------------------------------------------------------------


def test_installed_aiosqlite_runs_whole_transactions() -> None:
    """The fast path is what the suite tests; a release without ``_execute`` would end up here."""
    assert WHOLE_TX_ON_AIOSQLITE


async def test_one_aiosqlite_call_per_saver_call(db: Path, anyio_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("aiosqlite is the asyncio driver")
    calls = 0
    real = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(self, fn, *args, **kwargs)

    async with SqliteSaver.from_path(db) as saver:
        configs = await put_chain(saver, "t", 2)
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
        child = make_checkpoint({"i": 5, "big": list(range(10))}, {"i": 6, "big": 1})
        await saver.aput(configs[-1], child, {"step": 5}, {"i": 6, "big": 1}, writes=[("a", "i", 1), ("b", "i", 2)])
        await saver.aput_writes(configs[-1], [("x", 1), ("y", 2)], "c")
        found = await saver.aget_tuple(thread_config("t"))
        assert found is not None and found.checkpoint.channel_values == {"i": 5, "big": list(range(10))}
        assert calls == 3


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_stepwise_fallback_passes_conformance(
    check: Check, db: Path, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without aiosqlite's ``_execute``, each statement is one public aiosqlite call."""
    if anyio_backend != "asyncio":
        pytest.skip("aiosqlite is the asyncio driver")
    monkeypatch.setattr(drivers, "WHOLE_TX_ON_AIOSQLITE", False)
    async with SqliteSaver.from_path(db) as saver:
        await check(saver)


async def test_a_metadata_filter_loads_only_the_checkpoints_it_keeps(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The filter is pre-checked in SQL: a checkpoint it drops is neither loaded with its blobs
    nor even read (shown with every checkpoint but the first damaged, and by counting the rows
    the listing turns into checkpoint records)."""
    async with SqliteSaver.from_path(db) as saver:
        configs = await put_chain(saver, "t", 120)
        first = configs[0]["configurable"]["checkpoint_id"]
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("DELETE FROM blobs WHERE checkpoint_id <> ?", (first,))
        with pytest.raises(CheckpointError, match="damaged"):
            [t async for t in saver.alist(thread_config("t"))]
        read: list[StoredCheckpoint] = []
        real = sql._stored
        monkeypatch.setattr(sql, "_stored", lambda row: read.append(real(row)) or read[-1])
        assert [t.config async for t in saver.alist(thread_config("t"), filter={"step": 0})] == [configs[0]]
        assert [t async for t in saver.alist(thread_config("t"), filter={"nope": 1}, limit=1)] == []
        assert [r.checkpoint_id for r in read] == [first]


def test_blob_read_looks_up_only_the_needed_blobs(db: Path) -> None:
    """One primary-key lookup per (channel, origin) pair, however long the thread's history."""
    stored = StoredCheckpoint("t", "", "c2", "c1", "ts", 1, b"{}", {"a": 1}, {"a": "c1"})
    statement = next(sql._load_parts(stored))
    conn = open_sqlite3(str(db), 5)
    try:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params)]
    finally:
        conn.close()
    assert plan[0].startswith("SCAN j")
    assert "USING PRIMARY KEY (thread_id=? AND checkpoint_ns=? AND channel=? AND checkpoint_id=?)" in plan[1]


def test_new_loop_opens_its_connection_before_closing_a_dead_loops(db: Path, no_leftover_threads: None) -> None:
    """Closing a file's last connection makes SQLite checkpoint and delete the WAL; each sync
    invoke (a new loop) would pay for that and for recreating it."""
    open_when_closing: list[int] = []
    real_close = aiosqlite.Connection.close

    async def close(self: aiosqlite.Connection) -> None:
        open_when_closing.append(saver._aio.connection_count)
        await real_close(self)

    async def step(saver: SqliteSaver, n: int) -> None:
        await saver.aput(thread_config("t"), make_checkpoint({"n": n}, {"n": 1}), {}, {"n": 1})

    with SqliteSaver.from_path(db) as saver:
        aiosqlite.Connection.close = close  # type: ignore[method-assign]
        try:
            for n in range(3):
                anyio.run(step, saver, n, backend="asyncio")
                assert (db.parent / (db.name + "-wal")).exists()
        finally:
            aiosqlite.Connection.close = real_close  # type: ignore[method-assign]
    assert open_when_closing[:2] == [1, 1]  # the new loop's connection was open each time


async def test_langgraph_names_async_sqlite_saver_and_from_conn_string(db: Path) -> None:
    """`from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver` renamed: the same class."""
    from streamhil.checkpoint.sqlite.aio import AsyncSqliteSaver

    assert AsyncSqliteSaver is SqliteSaver
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        parent = await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})
    async with SqliteSaver.from_path(db) as again:
        loaded = await again.aget_tuple(thread_config("t"))
    assert loaded is not None and loaded.config == parent


def _group_of(saver: SqliteSaver) -> Any:
    """This loop's group commit: aiosqlite's connection on asyncio, the shared one on trio."""
    if drivers.on_asyncio():
        (entry,) = saver._aio._by_loop.values()
        return entry.group
    (entry,) = saver._threaded._groups.values()
    return entry[1]


def _insert_bad_row(thread_id: str) -> sql.Tx[None]:
    """A transaction SQLite refuses (a checkpoint row without its NOT NULL columns)."""
    yield sql.Sql("INSERT INTO checkpoints (thread_id) VALUES (?)", (thread_id,))


async def test_threads_writing_at_once_share_commits_and_a_refused_one_fails_alone(db: Path) -> None:
    """On asyncio and trio alike: writes of many threads arriving together are committed in
    fewer transactions than writes; one SQLite refuses fails only its caller; each caller's
    row is on disk, seen from another connection, the moment its call returns."""
    async with SqliteSaver.from_path(db) as saver:
        await saver.aput(thread_config("warm"), make_checkpoint({}, {}), {}, {})
        group = _group_of(saver)
        before = group.batches
        seen: dict[str, bool] = {}
        refused: list[BaseException] = []

        async def write(n: int) -> None:
            tid = f"t-{n}"
            await saver.aput(thread_config(tid), make_checkpoint({"v": n}, {"v": 1}), {}, {"v": 1})
            seen[tid] = query(db, "SELECT count(*) FROM checkpoints WHERE thread_id=?", tid) == [(1,)]

        async def bad() -> None:
            try:
                await saver._run(_insert_bad_row("bad"), "write")
            except CheckpointError as exc:
                refused.append(exc)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(write, n)
                    if n == 10:
                        tg.start_soon(bad)
        assert len(refused) == 1
        assert seen == {f"t-{n}": True for n in range(20)}
        assert group.batches - before < 21  # some commits were shared
        assert query(db, "SELECT count(*) FROM checkpoints WHERE thread_id='bad'") == [(0,)]
