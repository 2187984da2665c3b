"""What only PostgresSaver has: schema and migrations, one-statement saves, several savers and
processes on one database, the parent cache, cancellation, and event loops."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import pytest

from streamhil.checkpoint.base import PutCall, WritesCall, thread_config
from streamhil.errors import CheckpointError, ConfigError, SyncCallError

from .conformance import make_checkpoint

psycopg = pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")

from psycopg.conninfo import make_conninfo  # noqa: E402

from streamhil.checkpoint import _postgres_drivers as drivers  # noqa: E402
from streamhil.checkpoint import _postgres_schema as schema  # noqa: E402
from streamhil.checkpoint import _postgres_sql as sql  # noqa: E402
from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402

pytestmark = pytest.mark.anyio


def query(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    """Run one statement on a separate connection (autocommit)."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description is not None else []


async def put_chain(saver: PostgresSaver, thread_id: str, n: int, parent: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    configs = []
    config = parent or thread_config(thread_id)
    for i in range(n):
        values = {"i": i, "fixed": ["same"] * 3}
        checkpoint = make_checkpoint(values, {"i": i + 1, "fixed": 1})
        new = {"i": i + 1, "fixed": 1} if i == 0 and parent is None else {"i": i + 1}
        config = await saver.aput(config, checkpoint, {"step": i}, new)
        configs.append(config)
    return configs


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements the drivers send, in order."""
    sent: list[str] = []
    real = drivers.statement_options

    def counting(op: sql.Sql, prepare: bool) -> dict[str, Any]:
        sent.append(op.sql)
        return real(op, prepare)

    monkeypatch.setattr(drivers, "statement_options", counting)
    yield sent


# -- schema ------------------------------------------------------------------------------------


async def test_schema_is_created_once_and_versioned(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        await put_chain(saver, "t", 1)
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        assert len([t async for t in saver.alist(thread_config("t"))]) == 1
    tables = {row[0] for row in query(postgres_url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert tables == {
        "streamhil_checkpoints",
        "streamhil_checkpoint_blobs",
        "streamhil_checkpoint_writes",
        "streamhil_checkpoint_migrations",
    }
    assert query(postgres_url, "SELECT v FROM streamhil_checkpoint_migrations ORDER BY v") == [
        (v,) for v in range(1, schema.SCHEMA_VERSION + 1)
    ]


async def test_opening_a_current_schema_runs_no_ddl(postgres_url: str, statements: list[str]) -> None:
    """Once the tables are current, opening only reads the version (no lock, no CREATE), so a
    role without CREATE on the schema can open it."""
    async with PostgresSaver.from_conn_string(postgres_url):
        pass
    assert any("CREATE TABLE" in s for s in statements)
    statements.clear()
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        await put_chain(saver, "t", 1)
    assert not any("CREATE" in s or "pg_advisory" in s for s in statements)


async def test_savers_opening_at_once_migrate_once(postgres_url: str) -> None:
    """The migration runs under an advisory lock: concurrent first opens do not collide."""

    async def open_and_save(n: int) -> None:
        async with PostgresSaver.from_conn_string(postgres_url) as saver:
            await put_chain(saver, f"t{n}", 2)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(open_and_save, n)
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(8,)]
    assert query(postgres_url, "SELECT max(v), count(*) FROM streamhil_checkpoint_migrations") == [
        (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)
    ]


async def test_newer_schema_is_refused(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url):
        pass
    query(postgres_url, "INSERT INTO streamhil_checkpoint_migrations (v) VALUES (99)")
    message = rf"schema version 99, but this streamhil reads up to version {schema.SCHEMA_VERSION}; upgrade streamhil"
    with pytest.raises(CheckpointError, match=message):
        async with PostgresSaver.from_conn_string(postgres_url):
            pass


def test_newer_schema_is_refused_by_sync_with(postgres_url: str) -> None:
    with PostgresSaver.from_conn_string(postgres_url):
        pass
    newer = schema.SCHEMA_VERSION + 1
    query(postgres_url, "INSERT INTO streamhil_checkpoint_migrations (v) VALUES (%s)", newer)
    with pytest.raises(CheckpointError, match=f"schema version {newer}"):
        with PostgresSaver.from_conn_string(postgres_url):
            pass


# -- bad settings and misuse -----------------------------------------------------------------


async def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere"
    saver = PostgresSaver.from_conn_string(url, timeout=2)
    assert "s3cret" not in repr(saver)
    with pytest.raises(CheckpointError, match="PostgreSQL failed at .*127.0.0.1") as caught:
        async with saver:
            pass
    assert "s3cret" not in str(caught.value)


def test_bad_arguments() -> None:
    for bad in ("", "   ", None):
        with pytest.raises(ConfigError, match="needs a connection string"):
            PostgresSaver(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_connections"):
        PostgresSaver("postgresql://x@localhost/db", max_connections=0)


async def test_closed_saver_refuses_work(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        pass
    with pytest.raises(CheckpointError, match="is closed"):
        await saver.aget_tuple(thread_config("t"))


async def test_sync_with_inside_async_code_is_refused(postgres_url: str) -> None:
    with pytest.raises(SyncCallError, match="use 'async with PostgresSaver.from_conn_string"):
        with PostgresSaver.from_conn_string(postgres_url):
            pass


async def test_backend_picks_its_driver(postgres_url: str, anyio_backend: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        await put_chain(saver, "t", 1)
        if anyio_backend == "trio":
            assert saver._threaded.is_open and not saver._aio.is_open
        else:
            assert saver._aio.is_open and not saver._threaded.is_open
    assert not saver._threaded.is_open and not saver._aio.is_open


# -- one statement per save --------------------------------------------------------------------


async def test_a_save_is_one_statement(postgres_url: str, statements: list[str]) -> None:
    """With its parent known (saved or read by this process), aput is one statement, and so
    is aput_writes and aget_tuple; a parent never seen costs one read first."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        configs = await put_chain(saver, "t", 2)
        statements.clear()
        child = make_checkpoint({"i": 5, "fixed": ["same"] * 3}, {"i": 6, "fixed": 1})
        await saver.aput(configs[-1], child, {"step": 5}, {"i": 6}, writes=[("a", "i", 1), ("b", "i", 2)])
        await saver.aput_writes(configs[-1], [("x", 1)], "c")
        found = await saver.aget_tuple(thread_config("t"))
        assert found is not None and found.checkpoint.channel_values == {"i": 5, "fixed": ["same"] * 3}
        assert len(statements) == 3
    async with PostgresSaver.from_conn_string(postgres_url) as fresh:  # knows no parent yet
        statements.clear()
        grandchild = make_checkpoint({"i": 6, "fixed": ["same"] * 3}, {"i": 7, "fixed": 1})
        await fresh.aput(found.config, grandchild, {"step": 6}, {"i": 7})
        assert len(statements) == 2
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_blobs WHERE channel = 'fixed'") == [(1,)]


async def test_queued_saves_go_in_one_round_trip(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """asave_many sends the saves whose parents are known as one pipelined batch."""
    trips: list[int] = []  # statements per round trip
    real = sql.save_many

    def recording(*args: Any) -> Any:
        tx = real(*args)
        rows = None
        try:
            while True:
                op = tx.send(rows)
                trips.append(len(op.statements) if isinstance(op, sql.Batch) else 1)
                rows = yield op
        except StopIteration as done:
            return done.value

    monkeypatch.setattr(sql, "save_many", recording)
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        configs = await put_chain(saver, "t", 1)
        calls: list[PutCall | WritesCall] = []
        parent = configs[0]
        for i in range(1, 6):
            checkpoint = make_checkpoint({"i": i, "fixed": ["same"] * 3}, {"i": i + 1, "fixed": 1})
            calls.append(WritesCall(parent, [("i", i)], f"task-{i}"))
            calls.append(PutCall(parent, checkpoint, {"step": i}, {"i": i + 1}, writes=[(f"task-{i}", "i", i)]))
            parent = thread_config("t", "", checkpoint.id)
        await saver.asave_many(calls)
        assert trips == [10]
        listed = [t async for t in saver.alist(thread_config("t"))]
        assert [t.checkpoint.channel_values["i"] for t in listed] == [5, 4, 3, 2, 1, 0]
        assert [t.pending_writes for t in listed[1:]] == [[(f"task-{i}", "i", i)] for i in range(5, 0, -1)]
    trips.clear()
    async with PostgresSaver.from_conn_string(postgres_url) as fresh:  # knows no parent
        checkpoint = make_checkpoint({"i": 9, "fixed": ["same"] * 3}, {"i": 10, "fixed": 1})
        following = make_checkpoint({"i": 10, "fixed": ["same"] * 3}, {"i": 11, "fixed": 1})
        await fresh.asave_many([
            PutCall(parent, checkpoint, {"step": 9}, {"i": 10}),
            PutCall(thread_config("t", "", checkpoint.id), following, {"step": 10}, {"i": 11}),
        ])
        assert trips == [1, 1, 1]  # the parent read, that save, then the next one (now known)
        assert [t.checkpoint.id async for t in fresh.alist(thread_config("t"), limit=2)] == [following.id, checkpoint.id]
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_blobs WHERE channel = 'fixed'") == [(1,)]


async def test_queued_saves_whose_parent_was_deleted(postgres_url: str) -> None:
    """A batch whose first save finds its (remembered) parent deleted stores complete checkpoints."""
    async with PostgresSaver.from_conn_string(postgres_url) as one, PostgresSaver.from_conn_string(postgres_url) as two:
        configs = await put_chain(one, "t", 2)
        await two.adelete_thread("t")
        a = make_checkpoint({"i": 2, "fixed": ["same"] * 3}, {"i": 3, "fixed": 1})
        b = make_checkpoint({"i": 3, "fixed": ["same"] * 3}, {"i": 4, "fixed": 1})
        await one.asave_many([
            PutCall(configs[-1], a, {"step": 2}, {"i": 3}),
            WritesCall(thread_config("t", "", a.id), [("i", "pending")], "task"),
            PutCall(thread_config("t", "", a.id), b, {"step": 3}, {"i": 4}),
        ])
        for saver in (one, two):
            listed = [t async for t in saver.alist(thread_config("t"))]
            assert [t.checkpoint.channel_values for t in listed] == [
                {"i": 3, "fixed": ["same"] * 3},
                {"i": 2, "fixed": ["same"] * 3},
            ]
            assert listed[1].pending_writes == [("task", "i", "pending")]


async def test_aput_is_atomic(postgres_url: str) -> None:
    """If any part of an aput fails, none of it is kept, and the saver goes on working."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        parent = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        await saver.aput_writes(parent, [("a", "old")], "task")
        query(
            postgres_url,
            """
            CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.channel = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON streamhil_checkpoint_writes
                FOR EACH ROW EXECUTE FUNCTION refuse_boom();
            """,
        )
        child = make_checkpoint({"a": 1, "b": [1]}, {"a": 2, "b": 1})
        with pytest.raises(CheckpointError, match="PostgreSQL failed at .*injected failure"):
            await saver.aput(parent, child, {}, {"a": 2, "b": 1}, writes=[("task", "a", "new"), ("other", "boom", 1)])
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.checkpoint.id == parent["configurable"]["checkpoint_id"]
        assert latest.pending_writes == [("task", "a", "old")]
        assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_blobs") == [(1,)]
        with pytest.raises(CheckpointError, match="injected failure"):
            await saver.aput_writes(parent, [("x", 1), ("boom", 2)], "task")
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.pending_writes == [("task", "a", "old")]
        await saver.aput(parent, child, {}, {"a": 2, "b": 1}, writes=[("task", "a", "new")])
        latest = await saver.aget_tuple(parent)
        assert latest is not None and latest.pending_writes == [("task", "a", "new")]


async def test_replaced_task_writes_shrink(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        parent = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        await saver.aput_writes(parent, [("a", 1), ("b", 2), ("c", 3)], "one")
        await saver.aput_writes(parent, [("z", 0)], "two")
        await saver.aput_writes(parent, [("d", 4)], "one")
        found = await saver.aget_tuple(parent)
        assert found is not None and found.pending_writes == [("one", "d", 4), ("two", "z", 0)]
        assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_writes") == [(2,)]


async def test_a_metadata_filter_loads_only_the_checkpoints_it_keeps(postgres_url: str) -> None:
    """The filter is pre-checked in SQL, so a checkpoint it drops is never loaded with its blobs
    (a filter matching nothing cost a load of the whole history). Shown with every checkpoint
    but the first damaged: loading one would raise."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        configs = await put_chain(saver, "t", 5)
        first = configs[0]["configurable"]["checkpoint_id"]
        query(postgres_url, "DELETE FROM streamhil_checkpoint_blobs WHERE channel = 'i' AND checkpoint_id <> %s", first)
        with pytest.raises(CheckpointError, match="damaged"):
            [t async for t in saver.alist(thread_config("t"))]
        assert [t.config async for t in saver.alist(thread_config("t"), filter={"step": 0})] == [configs[0]]
        assert [t async for t in saver.alist(thread_config("t"), filter={"nope": 1}, limit=1)] == []
        assert [t async for t in saver.alist(None, filter={"step": "0"})] == []


async def test_connections_killed_by_the_server(postgres_url: str) -> None:
    """When the server drops the saver's connections (a restart, an admin), a call on a dead
    connection is made again on a new one: nothing fails, nothing is half-saved or doubled."""
    name = f"saver-{uuid.uuid4().hex[:12]}"
    async with PostgresSaver.from_conn_string(make_conninfo(postgres_url, application_name=name)) as saver:
        configs = await put_chain(saver, "t", 2)
        killed = query(
            postgres_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            name,
        )
        assert killed
        for i in range(2, 5):
            checkpoint = make_checkpoint({"i": i, "fixed": ["same"] * 3}, {"i": i + 1, "fixed": 1})
            configs.append(await saver.aput(configs[-1], checkpoint, {"step": i}, {"i": i + 1}))
        listed = [t async for t in saver.alist(thread_config("t"))]
        assert [t.config for t in listed] == configs[::-1]
        assert all(t.checkpoint.channel_values["fixed"] == ["same"] * 3 for t in listed)


# -- several savers, processes, deletes ---------------------------------------------------------


async def test_parent_deleted_by_another_saver(postgres_url: str) -> None:
    """A save whose cached parent was deleted elsewhere stores every channel itself."""
    async with PostgresSaver.from_conn_string(postgres_url) as one, PostgresSaver.from_conn_string(postgres_url) as two:
        configs = await put_chain(one, "t", 2)
        await two.adelete_thread("t")
        child = make_checkpoint({"i": 9, "fixed": ["same"] * 3}, {"i": 10, "fixed": 1})
        await one.aput(configs[-1], child, {"step": 9}, {"i": 10})
        for saver in (one, two):
            found = await saver.aget_tuple(thread_config("t"))
            assert found is not None and found.checkpoint.channel_values == {"i": 9, "fixed": ["same"] * 3}


async def test_delete_while_another_saver_writes(postgres_url: str) -> None:
    """Deleting a thread that another saver keeps saving never leaves a damaged checkpoint."""
    async with PostgresSaver.from_conn_string(postgres_url) as writer, PostgresSaver.from_conn_string(postgres_url) as deleter:
        config = (await put_chain(writer, "t", 1))[0]
        stop = anyio.Event()

        async def keep_saving() -> None:
            nonlocal config
            i = 1
            while not stop.is_set():
                checkpoint = make_checkpoint({"i": i, "fixed": ["same"] * 3}, {"i": i + 1, "fixed": 1})
                config = await writer.aput(config, checkpoint, {"step": i}, {"i": i + 1})
                i += 1

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(keep_saving)
                for _ in range(15):
                    await deleter.adelete_thread("t")
                    # Every checkpoint left is whole (a damaged one raises CheckpointError).
                    listed = [t async for t in deleter.alist(thread_config("t"))]
                    for t in listed:
                        assert t.checkpoint.channel_values["fixed"] == ["same"] * 3
                stop.set()
        listed = [t async for t in deleter.alist(thread_config("t"))]
        assert all(t.checkpoint.channel_values["fixed"] == ["same"] * 3 for t in listed)


async def test_two_savers_on_one_database(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as one, PostgresSaver.from_conn_string(postgres_url, max_connections=2) as two:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(6):
                    tg.start_soon(put_chain, one if n % 2 else two, f"thread-{n}", 5)
        for saver in (one, two):
            assert sorted(await saver.alist_threads()) == [f"thread-{n}" for n in range(6)]
            for n in range(6):
                assert len([t async for t in saver.alist(thread_config(f"thread-{n}"))]) == 5
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(30,)]


_CHILD = textwrap.dedent(
    """
    import json, sys
    import anyio
    from streamhil.checkpoint.base import Checkpoint, thread_config
    from streamhil.checkpoint.postgres import PostgresSaver

    async def main(url):
        async with PostgresSaver.from_conn_string(url) as saver:
            found = await saver.aget_tuple(thread_config("from-parent"))
            checkpoint = Checkpoint(id=sys.argv[3], ts="2024-01-01T00:00:00+00:00",
                                    channel_values={"who": "child", "t": (1, 2)},
                                    channel_versions={"who": 1, "t": 1})
            await saver.aput(thread_config("from-child"), checkpoint, {"source": "child"}, {"who": 1, "t": 1})
        return found.checkpoint.channel_values, found.pending_writes

    values, writes = anyio.run(main, sys.argv[1], backend=sys.argv[2])
    print(json.dumps({"values": values, "writes": writes}))
    """
)


@pytest.mark.parametrize("child_backend", ["asyncio", "trio"])
async def test_another_process_reads_and_writes(postgres_url: str, child_backend: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        parent = await saver.aput(thread_config("from-parent"), make_checkpoint({"who": "parent"}, {"who": 1}), {}, {"who": 1})
        await saver.aput_writes(parent, [("answer", 42)], "task")
        child_id = make_checkpoint({}, {}).id
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, "-c", _CHILD, postgres_url, child_backend, child_id], check=False
            )
        assert done.returncode == 0, done.stderr.decode()
        assert json.loads(done.stdout) == {"values": {"who": "parent"}, "writes": [["task", "answer", 42]]}
        found = await saver.aget_tuple(thread_config("from-child"))
        assert found is not None and found.checkpoint.id == child_id
        assert found.checkpoint.channel_values == {"who": "child", "t": (1, 2)}


# -- event loops and cancellation ---------------------------------------------------------------


@pytest.mark.parametrize("backends", [("asyncio", "asyncio", "asyncio"), ("trio", "trio"), ("asyncio", "trio", "asyncio")])
def test_sync_with_across_event_loops(postgres_url: str, backends: tuple[str, ...]) -> None:
    """Each graph.invoke runs its own loop; a saver opened with 'with' serves every one."""

    async def step(saver: PostgresSaver, n: int) -> None:
        latest = await saver.aget_tuple(thread_config("t"))
        parent = latest.config if latest is not None else thread_config("t")
        assert (latest.checkpoint.channel_values["n"] if latest else -1) == n - 1
        await saver.aput(parent, make_checkpoint({"n": n}, {"n": n + 1}), {"step": n}, {"n": n + 1})

    with PostgresSaver.from_conn_string(postgres_url) as saver:
        for n, backend in enumerate(backends):
            anyio.run(step, saver, n, backend=backend)
        assert saver._threaded.is_open and not saver._aio.is_open
    assert not saver._threaded.is_open
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(len(backends),)]


async def test_another_loop_uses_the_thread_pool(postgres_url: str) -> None:
    """An async-entered saver used from another thread's loop goes through the sync pool."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        await put_chain(saver, "here", 1)

        def elsewhere() -> None:
            anyio.run(put_chain, saver, "there", 2, backend="asyncio")

        await anyio.to_thread.run_sync(elsewhere)
        assert saver._threaded.is_open
        assert sorted(await saver.alist_threads()) == ["here", "there"]
    assert not saver._threaded.is_open


_WAITING_SAVE = (
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND query LIKE '%%new_checkpoint%%'"
)


async def test_cancelled_aput_still_commits_whole(postgres_url: str) -> None:
    """Cancelling a caller whose statement has started neither splits it nor breaks the pool."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        configs = await put_chain(saver, "t", 1)
        parent = configs[0]
        child = make_checkpoint({"i": 1, "fixed": ["same"] * 3}, {"i": 2, "fixed": 1})
        with psycopg.connect(postgres_url) as other:
            # Lock the parent row: the save's guard waits for it.
            other.execute(
                "SELECT 1 FROM streamhil_checkpoints WHERE checkpoint_id = %s FOR UPDATE",
                (parent["configurable"]["checkpoint_id"],),
            )
            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(partial(saver.aput, parent, child, {}, {"i": 2}, writes=[("task", "i", 1)]))
                    while not query(postgres_url, _WAITING_SAVE):
                        await anyio.sleep(0.01)  # poll until the save is waiting on the lock
                    tg.cancel_scope.cancel()
                    other.commit()
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.checkpoint.id == child.id
        got_parent = await saver.aget_tuple(parent)
        assert got_parent is not None and got_parent.pending_writes == [("task", "i", 1)]
        await saver.aput_writes(latest.config, [("b", 2)], "next")
        latest = await saver.aget_tuple(thread_config("t"))
        assert latest is not None and latest.pending_writes == [("next", "b", 2)]


# -- LangGraph's spelling ------------------------------------------------------------------------


def test_langgraph_sync_spelling(postgres_url: str) -> None:
    """``from langgraph.checkpoint.postgres import PostgresSaver`` code, renamed, runs as is."""
    with PostgresSaver.from_conn_string(postgres_url) as checkpointer:
        assert checkpointer.setup() is not None  # LangGraph's sync call; nothing to do here
        anyio.run(put_chain, checkpointer, "t", 2)
        assert len(list(anyio.run(_listed, checkpointer))) == 2


async def test_langgraph_async_spelling(postgres_url: str) -> None:
    from streamhil.checkpoint.postgres.aio import AsyncPostgresSaver

    assert AsyncPostgresSaver is PostgresSaver
    async with AsyncPostgresSaver.from_conn_string(postgres_url) as checkpointer:
        assert await checkpointer.setup() is None
        await put_chain(checkpointer, "t", 2)
        assert len(await _listed(checkpointer)) == 2


async def _listed(saver: PostgresSaver) -> list[Any]:
    return [t async for t in saver.alist(thread_config("t"))]
