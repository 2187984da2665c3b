"""PostgresStorage on its own: group commit, reads beside a blocked writer, the schema's versions,
a lost writer connection, and which connections each event loop uses. (The conformance suites
run on it in test_storage.py.)"""

from __future__ import annotations

import anyio
import pytest

from streamhil_server.storage import ThreadRecord, Write
from streamhil_server.storage import storage_for
from streamhil_server.storage.postgres import SCHEMA_VERSION, DatabaseUnavailableError, PostgresStorage, SchemaTooNewError

pytestmark = pytest.mark.anyio


def _count(url: str, query: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute(query).fetchone()[0])


async def test_group_commit_shares_commits_and_a_lone_write_is_not_delayed(postgres_url: str) -> None:
    async with PostgresStorage(postgres_url) as storage:
        before = storage.batches
        await storage.save_thread(ThreadRecord("alone", "g", "alice"))
        assert storage.batches == before + 1
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(200):
                    tg.start_soon(storage.save_thread, ThreadRecord(f"t{n}", "g", "alice"))
        assert storage.writes - 1 == 200 and storage.batches - before - 1 < 200  # writes rode along
        assert await anyio.to_thread.run_sync(_count, postgres_url, "SELECT count(*) FROM streamhil_threads") == 201


async def test_reads_do_not_wait_for_a_blocked_writer(postgres_url: str) -> None:
    """Another session locks the threads table against writes: our write waits, reads go on."""
    import psycopg

    async with PostgresStorage(postgres_url) as storage:
        await storage.save_thread(ThreadRecord("t", "g", "alice"))
        blocker = await anyio.to_thread.run_sync(psycopg.connect, postgres_url)
        try:
            await anyio.to_thread.run_sync(blocker.execute, "LOCK TABLE streamhil_threads IN EXCLUSIVE MODE")
            saved = anyio.Event()

            async def save() -> None:
                await storage.save_thread(ThreadRecord("u", "g", "alice"))
                saved.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(save)
                with anyio.fail_after(10):
                    assert (await storage.load_thread("t")) is not None
                    assert [t.thread_id for t in await storage.list_threads(owner="alice")] == ["t"]
                    assert (await storage.count_threads()).threads == 1
                assert not saved.is_set()  # the write really was held up
                await anyio.to_thread.run_sync(blocker.commit)
        finally:
            await anyio.to_thread.run_sync(blocker.close)
        assert await storage.load_thread("u") is not None


async def test_the_writer_reconnects_when_its_connection_was_killed(postgres_url: str) -> None:
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"streamhil-test-{uuid.uuid4().hex[:12]}"  # only this storage's sessions are killed
    async with PostgresStorage(make_conninfo(postgres_url, application_name=name)) as storage:
        await storage.save_thread(ThreadRecord("before", "g", "alice"))
        assert (await storage.load_thread("before")) is not None

        def kill_its_backends() -> int:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,)
                ).fetchall()
                return len(rows)

        assert await anyio.to_thread.run_sync(kill_its_backends) >= 2  # the writer and a pooled reader
        with anyio.fail_after(20):
            await storage.save_thread(ThreadRecord("after", "g", "alice"))  # BEGIN found it gone: reconnected
            assert {t.thread_id for t in await storage.list_threads()} == {"before", "after"}


async def test_a_schema_from_a_newer_server_is_refused(postgres_url: str) -> None:
    async with PostgresStorage(postgres_url):
        pass
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO streamhil_server_migrations (v) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNewError, match=f"server schema version {SCHEMA_VERSION + 1}"):
        async with PostgresStorage(postgres_url):
            pass


async def test_processes_opening_at_once_migrate_once_and_share_the_epoch(postgres_url: str) -> None:
    epochs: list[str] = []

    async def open_one() -> None:
        async with PostgresStorage(postgres_url) as storage:
            epochs.append(storage.epoch)
            await storage.write(Write(thread_id="x", threads=[ThreadRecord(f"t-{len(epochs)}", "g", "a")]))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(open_one)
    assert len(set(epochs)) == 1 and epochs[0].startswith("e-")
    assert await anyio.to_thread.run_sync(_count, postgres_url, "SELECT max(v) FROM streamhil_server_migrations") == SCHEMA_VERSION


async def test_reads_use_the_async_pool_on_asyncio_and_threads_on_trio(postgres_url: str, anyio_backend: str) -> None:
    async with PostgresStorage(postgres_url) as storage:
        assert storage.reads_on_threads is (anyio_backend == "trio")
        await storage.save_thread(ThreadRecord("t", "g", "alice"))
        assert (await storage.load_thread("t")) is not None
    with pytest.raises(RuntimeError, match="not open"):
        await storage.load_thread("t")
    with pytest.raises(RuntimeError, match="not open"):
        await storage.save_thread(ThreadRecord("t", "g", "alice"))


async def test_an_unreachable_database_or_a_wrong_password_is_a_clear_error(postgres_url: str) -> None:
    from psycopg.conninfo import make_conninfo

    with pytest.raises(DatabaseUnavailableError, match="cannot open PostgreSQL at .*port=1.*refused"):
        async with storage_for("postgresql://nobody:hunter2@127.0.0.1:1/nothing"):
            pass
    wrong = make_conninfo(postgres_url, password="not-the-password-42")
    with pytest.raises(DatabaseUnavailableError, match="password authentication failed") as caught:
        async with PostgresStorage(wrong):
            pass
    assert "not-the-password-42" not in str(caught.value)


def test_a_url_selects_postgres_and_a_path_sqlite() -> None:
    from streamhil_server.storage import MemoryStorage, SqliteStorage

    assert isinstance(storage_for("postgresql://u@h:5432/d"), PostgresStorage)
    assert isinstance(storage_for("postgres://u@h/d"), PostgresStorage)
    assert isinstance(storage_for("postgresql.sqlite"), SqliteStorage)  # a file that only looks like it
    assert isinstance(storage_for(None), MemoryStorage)


async def test_modules_sql_runs_in_the_writes_transaction_and_every_process_sees_it(postgres_url: str) -> None:
    """``run_sql`` (tables of the HTTP surfaces) runs PostgreSQL statements on the writer, in the
    write's transaction: a failing statement stores nothing of its write; another process (another
    storage on the database) reads what was committed."""
    import psycopg

    from streamhil_server.storage import EventRow

    async with PostgresStorage(postgres_url) as storage:
        assert storage.sql_dialect == "postgres"
        await storage.run_sql(lambda db: db.execute("CREATE TABLE IF NOT EXISTS notes (k text PRIMARY KEY, v text)"))
        await storage.run_sql(lambda db: db.execute("INSERT INTO notes VALUES (%s, %s)", ("a", "one")))
        assert await storage.run_sql(lambda db: db.execute("SELECT v FROM notes").fetchall()) == [("one",)]
        failures: list[BaseException] = []
        bad = Write(thread_id="t", events=[EventRow("t", 1, None, "{}")],
                    sql=[lambda db: db.execute("INSERT INTO notes VALUES ('b', 'two')"), lambda db: db.execute("nonsense")])
        bad.after_failure.append(failures.append)
        with pytest.raises(psycopg.errors.SyntaxError):
            await storage.write(bad)
        assert len(failures) == 1 and await storage.event_bounds("t") is None  # nothing of it stored
        assert await storage.run_sql(lambda db: db.execute("SELECT k FROM notes").fetchall()) == [("a",)]
        both = Write(thread_id="t", events=[EventRow("t", 1, None, "{}")],
                     sql=[lambda db: db.execute("INSERT INTO notes VALUES ('c', 'three')")])
        await storage.write(both)
        assert await storage.event_bounds("t") == (1, 1)
    async with PostgresStorage(postgres_url) as again:  # another process sees them
        rows = await again.run_sql(lambda db: db.execute("SELECT k FROM notes ORDER BY k").fetchall())
        assert rows == [("a",), ("c",)]
