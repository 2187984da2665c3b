"""PostgresSaver's group commit and its libpq path: calls of many threads at once share batches
(asyncio and trio), a failing call in a batch fails alone and nothing of it is kept, every caller
returns only once its data is committed, prepared statements survive a ``DEALLOCATE ALL``, a
pool of one still serves lists, and the ``$n`` rewriting of statements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from streamhil.checkpoint.base import PutCall, WritesCall, thread_config
from streamhil.errors import CheckpointError

from .conformance import make_checkpoint

psycopg = pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")

from psycopg.adapt import PyFormat  # noqa: E402

from streamhil.checkpoint import _postgres_drivers as drivers  # noqa: E402
from streamhil.checkpoint import _postgres_wire as wire  # noqa: E402
from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402

pytestmark = pytest.mark.anyio

_REFUSE_BOOM = """
CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.channel = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON streamhil_checkpoint_writes
    FOR EACH ROW EXECUTE FUNCTION refuse_boom();
"""


def query(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description is not None else []


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The size of every batch of two or more that ran together."""
    sizes: list[int] = []
    real = drivers.run_together_native

    async def recording(conn: Any, makers: list[Any], prepare: bool) -> list[Any]:
        sizes.append(len(makers))
        return await real(conn, makers, prepare)

    monkeypatch.setattr(drivers, "run_together_native", recording)
    yield sizes


def hold_first_batch(monkeypatch: pytest.MonkeyPatch) -> tuple[anyio.Event, anyio.Event]:
    """Make the first batch wait for ``release`` (``entered`` is set once it waits), so the
    calls made meanwhile queue up and go together in the next one."""
    entered, release = anyio.Event(), anyio.Event()
    real = drivers._run_batch
    calls = 0

    async def held(*args: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await release.wait()
        return await real(*args)

    monkeypatch.setattr(drivers, "_run_batch", held)
    return entered, release


async def test_threads_saving_at_once_share_batches(postgres_url: str, batch_sizes: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty threads each saving a checkpoint and its writes at once: the calls queued behind
    a batch go together, and every thread's data is stored whole."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        entered, release = hold_first_batch(monkeypatch)
        done: list[str] = []

        async def thread(n: int) -> None:
            config = await saver.aput(thread_config(f"t{n}"), make_checkpoint({"n": n}, {"n": 1}), {"step": 0}, {"n": 1})
            await saver.aput_writes(config, [("answer", n), ("note", f"from {n}")], f"task-{n}")
            done.append(f"t{n}")

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(thread, 0)
                await entered.wait()
                for n in range(1, 20):
                    tg.start_soon(thread, n)
                await anyio.wait_all_tasks_blocked()
                release.set()
        assert sorted(done) == sorted(f"t{n}" for n in range(20))
        assert batch_sizes and batch_sizes[0] >= 19  # the nineteen puts queued behind the first (and more)
        for n in range(20):
            found = await saver.aget_tuple(thread_config(f"t{n}"))
            assert found is not None and found.checkpoint.channel_values == {"n": n}
            assert found.pending_writes == [(f"task-{n}", "answer", n), (f"task-{n}", "note", f"from {n}")]


async def test_a_failing_call_in_a_batch_fails_alone(postgres_url: str, batch_sizes: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """One write the database refuses, in a batch with nine good ones: only its caller gets the
    error, nothing of it is stored, and each good caller finds its data committed the moment
    its call returns (read back on another connection)."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        parents = [
            await saver.aput(thread_config(f"t{n}"), make_checkpoint({"n": n}, {"n": 1}), {}, {"n": 1}) for n in range(10)
        ]
        query(postgres_url, _REFUSE_BOOM)
        entered, release = hold_first_batch(monkeypatch)
        outcome: dict[int, Any] = {}

        async def write(n: int) -> None:
            channel = "boom" if n == 4 else "ok"
            try:
                await saver.aput_writes(parents[n], [(channel, n)], "task")
            except CheckpointError as exc:
                outcome[n] = exc
                return
            # Committed before the call returned: another connection sees it at once.
            outcome[n] = await anyio.to_thread.run_sync(
                query, postgres_url, "SELECT count(*) FROM streamhil_checkpoint_writes WHERE thread_id = %s", f"t{n}"
            )

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(saver.aget_tuple, thread_config("t0"))  # the held first batch
                await entered.wait()
                for n in range(10):
                    tg.start_soon(write, n)
                await anyio.wait_all_tasks_blocked()
                release.set()
        assert batch_sizes[:1] == [10]
        assert isinstance(outcome[4], CheckpointError) and "injected failure" in str(outcome[4])
        assert {n: outcome[n] for n in range(10) if n != 4} == {n: [(1,)] for n in range(10) if n != 4}
        assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_writes WHERE thread_id = 't4'") == [(0,)]
        found = await saver.aget_tuple(thread_config("t3"))
        assert found is not None and found.pending_writes == [("task", "ok", 3)]


async def test_concurrent_rounds_of_one_graph_shape(postgres_url: str) -> None:
    """Fifty threads through put, writes, child put (with the writes attached) and reads, all at
    once, with nothing held: whatever batches form, every thread ends as if it ran alone."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:

        async def thread(n: int) -> None:
            root = await saver.aput(thread_config(f"t{n}"), make_checkpoint({"n": n, "big": "x" * 200}, {"n": 1, "big": 1}), {"step": 0}, {"n": 1, "big": 1})
            await saver.aput_writes(root, [("n", n + 1)], "task")
            child = make_checkpoint({"n": n + 1, "big": "x" * 200}, {"n": 2, "big": 1}, step=1)
            await saver.asave_many([PutCall(root, child, {"step": 1}, {"n": 2}, writes=[("task", "n", n + 1)])])
            found = await saver.aget_tuple(thread_config(f"t{n}"))
            assert found is not None and found.checkpoint.id == child.id
            assert found.checkpoint.channel_values == {"n": n + 1, "big": "x" * 200}
            parent = await saver.aget_tuple(root)
            assert parent is not None and parent.pending_writes == [("task", "n", n + 1)]

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(50):
                    tg.start_soon(thread, n)
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(100,)]
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_blobs WHERE channel = 'big'") == [(50,)]


async def test_a_failing_queued_save_keeps_nothing_of_its_round_trip(postgres_url: str) -> None:
    """asave_many's pipelined saves run as one implicit transaction: one refused write and none
    of them is kept; the saver then goes on working on the same connection."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        root = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        query(postgres_url, _REFUSE_BOOM)
        child = make_checkpoint({"a": 1}, {"a": 2}, step=1)
        with pytest.raises(CheckpointError, match="injected failure"):
            await saver.asave_many([
                WritesCall(root, [("fine", 1)], "one"),
                PutCall(root, child, {}, {"a": 2}),
                WritesCall(thread_config("t", "", child.id), [("boom", 2)], "two"),
            ])
        assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(1,)]
        assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoint_writes") == [(0,)]
        await saver.asave_many([WritesCall(root, [("fine", 1)], "one"), PutCall(root, child, {}, {"a": 2})])
        found = await saver.aget_tuple(thread_config("t"))
        assert found is not None and found.checkpoint.id == child.id


async def test_prepared_statements_dropped_by_the_session_are_prepared_again(postgres_url: str) -> None:
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        config = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        await saver.aput_writes(config, [("x", 1)], "task")
        kept = saver._aio._kept if saver._aio.is_open else saver._threaded._kept
        assert kept is not None
        if isinstance(kept, psycopg.AsyncConnection):
            await kept.execute("DEALLOCATE ALL")
        else:
            await anyio.to_thread.run_sync(kept.execute, "DEALLOCATE ALL")
        await saver.aput_writes(config, [("x", 2)], "task")  # one statement
        child = make_checkpoint({"a": 1}, {"a": 2}, step=1)
        await saver.asave_many([WritesCall(config, [("y", 3)], "other"), PutCall(config, child, {}, {"a": 2})])  # a pipeline
        found = await saver.aget_tuple(config)
        assert found is not None and found.pending_writes == [("task", "x", 2), ("other", "y", 3)]


async def test_a_pool_of_one_still_lists_between_saves(postgres_url: str) -> None:
    """With max_connections=1 nothing is kept back, so a list finds the connection free."""
    async with PostgresSaver.from_conn_string(postgres_url, max_connections=1, timeout=5) as saver:
        config = thread_config("t")
        for i in range(3):
            config = await saver.aput(config, make_checkpoint({"i": i}, {"i": i + 1}, step=i), {}, {"i": i + 1})
            assert len([t async for t in saver.alist(thread_config("t"))]) == i + 1
        assert await saver.alist_threads() == ["t"]


def test_statement_shapes() -> None:
    shape = wire.shape_of("SELECT %(a)s, %(b)b, %(a)s, '%%'")
    assert shape.query == b"SELECT $1, $2, $1, '%'"
    assert shape.keys == ("a", "b") and shape.formats == (PyFormat.AUTO, PyFormat.BINARY)
    positional = wire.shape_of("SELECT %s WHERE x = %b")
    assert positional.query == b"SELECT $1 WHERE x = $2" and positional.keys == (0, 1)
    with pytest.raises(ValueError, match="two formats"):
        wire.shape_of("SELECT %(a)s, %(a)b")
    with pytest.raises(ValueError, match="mixes"):
        wire.shape_of("SELECT %(a)s, %s")


async def test_the_wire_path_on_sync_and_async_connections(postgres_url: str, anyio_backend: str) -> None:
    """_postgres_wire on a sync connection (any loop) and on an async one (asyncio): prepared and
    unprepared statements, statements without parameters, a batch with one implicit transaction
    (a failing statement leaves nothing of it), a connection that goes on working afterwards."""
    from streamhil.checkpoint._postgres_codecs import ADAPTERS
    from streamhil.checkpoint._postgres_sql import Sql, TextArray

    sync_conn = await anyio.to_thread.run_sync(lambda: psycopg.connect(postgres_url, autocommit=True, context=ADAPTERS))
    conns: list[Any] = [sync_conn]
    if anyio_backend == "asyncio":
        conns.append(await psycopg.AsyncConnection.connect(postgres_url, autocommit=True, context=ADAPTERS))
    try:
        for conn in conns:
            table = f"wire_{len(conns)}_{type(conn).__name__.lower()}"
            assert await wire.execute(conn, Sql(f"CREATE TABLE {table} (k text PRIMARY KEY, n int); SELECT 1"), True) == [(1,)]
            for prepare in (True, False):
                rows = await wire.execute(conn, Sql("SELECT %(a)s::int + %(b)s::int, %(a)s::int", {"a": 2, "b": 3}), prepare)
                assert rows == [(5, 2)]
                assert await wire.execute(conn, Sql("SELECT unnest(%s)", (TextArray(["x", None, "é"]),)), prepare) == [
                    ("x",), (None,), ("é",)
                ]
            insert = f"INSERT INTO {table} (k, n) VALUES (%s, %s)"
            assert await wire.execute_batch(conn, [Sql(insert, ("a", 1)), Sql("SELECT 7"), Sql(insert, ("b", 2))], True) == [[], [(7,)], []]
            with pytest.raises(psycopg.errors.UniqueViolation):
                await wire.execute_batch(conn, [Sql(insert, ("c", 3)), Sql(insert, ("a", 4))], True)
            rows = await wire.execute(conn, Sql(f"SELECT k, n FROM {table} WHERE true = %s ORDER BY k", (True,)), True)
            assert rows == [("a", 1), ("b", 2)]  # nothing of the failed batch, not even "c"
            with pytest.raises(psycopg.errors.UndefinedColumn):
                await wire.execute(conn, Sql("SELECT nope FROM " + table + " WHERE n = %s", (1,)), True)
            assert await wire.execute(conn, Sql("SELECT count(*) FROM " + table + " WHERE n > %s", (0,)), True) == [(2,)]
    finally:
        await anyio.to_thread.run_sync(sync_conn.close)
        for conn in conns[1:]:
            await conn.close()


async def test_one_prepared_statement_dropped_is_prepared_again(postgres_url: str) -> None:
    """Only some of the session's prepared statements gone (``DEALLOCATE name``): the lost one is
    prepared again under a new name, and the survivors do not clash with it."""
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        config = await saver.aput(thread_config("t"), make_checkpoint({"a": 0}, {"a": 1}), {}, {"a": 1})
        await saver.aput_writes(config, [("x", 1)], "task")
        assert await saver.aget_tuple(config) is not None
        kept = saver._aio._kept if saver._aio.is_open else saver._threaded._kept
        names = sorted(wire._sessions[kept].names.values())
        assert len(names) >= 3
        statement = f"DEALLOCATE {names[0].decode()}"
        if isinstance(kept, psycopg.AsyncConnection):
            await kept.execute(statement)
        else:
            await anyio.to_thread.run_sync(kept.execute, statement)
        for _ in range(2):
            await saver.aput_writes(config, [("x", 2)], "task")
            found = await saver.aget_tuple(config)
            assert found is not None and found.pending_writes == [("task", "x", 2)]
        child = make_checkpoint({"a": 1}, {"a": 2}, step=1)
        await saver.aput(config, child, {}, {"a": 2})
        assert (await saver.aget_tuple(thread_config("t"))).checkpoint.id == child.id  # type: ignore[union-attr]


async def test_a_killed_connection_under_a_pipeline_and_a_batch(postgres_url: str) -> None:
    """The kept connection killed by the server: the next pipelined save, then the next batch of
    several threads, are made again on a fresh connection, whole and once."""
    import uuid

    from psycopg.conninfo import make_conninfo

    name = f"saver-{uuid.uuid4().hex[:12]}"
    kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
    async with PostgresSaver.from_conn_string(make_conninfo(postgres_url, application_name=name)) as saver:
        roots = [await saver.aput(thread_config(f"t{n}"), make_checkpoint({"n": n}, {"n": 1}), {}, {"n": 1}) for n in range(5)]
        assert query(postgres_url, kill, name)
        child = make_checkpoint({"n": 10}, {"n": 2}, step=1)
        await saver.asave_many([WritesCall(roots[0], [("w", 1)], "task"), PutCall(roots[0], child, {}, {"n": 2})])
        assert query(postgres_url, kill, name)

        async def write(n: int) -> None:
            await saver.aput_writes(roots[n], [("w", n)], "task")

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(1, 5):
                    tg.start_soon(write, n)
        for n in range(5):
            found = await saver.aget_tuple(roots[n])
            assert found is not None and found.pending_writes == [("task", "w", n if n else 1)]
        assert (await saver.aget_tuple(thread_config("t0"))).checkpoint.id == child.id  # type: ignore[union-attr]
    assert query(postgres_url, "SELECT count(*) FROM streamhil_checkpoints") == [(6,)]
