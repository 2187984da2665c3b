"""PostgresSaver on a caller's psycopg ``AsyncConnection`` or ``AsyncConnectionPool``: a
cancelled caller stops waiting for others' work at once (only its own statements are shielded),
and a caller in another thread neither hangs when the connection's loop stops nor leaves its
call to run later when it is cancelled."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from streamhil.checkpoint.base import thread_config
from streamhil.errors import CheckpointError

from .conformance import make_checkpoint

psycopg = pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")
psycopg_pool = pytest.importorskip("psycopg_pool", reason="PostgresSaver needs the 'postgres' extra")

from streamhil.checkpoint import _postgres_given as given  # noqa: E402
from streamhil.checkpoint import _postgres_sql as sql  # noqa: E402
from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402

KWARGS = {"autocommit": True}
_KEY = 4242  # the advisory lock a test holds to keep a statement of the saver's waiting


class Blocker:
    """A connection of the test's holding an advisory lock: a saver statement that takes the same
    lock waits, holding the saver's connection, until :meth:`release`."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SELECT pg_advisory_lock(%s)", (_KEY,))

    def release(self) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (_KEY,))

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def blocker(postgres_url: str) -> Iterator[Blocker]:
    held = Blocker(postgres_url)
    try:
        yield held
    finally:
        held.close()


def waits_on_the_lock(started: Any) -> Any:
    """An operation that signals ``started`` (``.set()``), then waits for the test's lock and
    releases it."""

    def make() -> sql.Tx[None]:
        started.set()
        yield sql.Sql("SELECT pg_advisory_lock(%s)", (_KEY,))
        yield sql.Sql("SELECT pg_advisory_unlock(%s)", (_KEY,))

    return make


@asynccontextmanager
async def async_saver(url: str, kind: str) -> AsyncIterator[PostgresSaver]:
    if kind == "connection":
        async with await psycopg.AsyncConnection.connect(url, **KWARGS) as conn:
            yield PostgresSaver(conn)
    else:
        async with psycopg_pool.AsyncConnectionPool(url, kwargs=KWARGS, min_size=1, max_size=1, open=False) as pool:
            yield PostgresSaver(pool)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ["connection", "pool"])
async def test_a_cancelled_call_stops_waiting_for_the_connection(postgres_url: str, blocker: Blocker, kind: str) -> None:
    """The connection (or the pool's only one) is busy with a statement that waits on the test's
    lock; a call queued behind it and cancelled returns at once, not after that statement."""
    async with async_saver(postgres_url, kind) as saver:
        await saver.setup()
        hog_started, hog_done = anyio.Event(), anyio.Event()

        async def hog() -> None:
            await saver._run(waits_on_the_lock(hog_started))
            hog_done.set()

        call_returned = anyio.Event()

        async def release_when_the_call_returns() -> None:
            with anyio.move_on_after(5):  # before the fix the call waited for the hog: bound it
                await call_returned.wait()
            await anyio.to_thread.run_sync(blocker.release)

        async with anyio.create_task_group() as tg:
            tg.start_soon(hog)
            await hog_started.wait()
            tg.start_soon(release_when_the_call_returns)
            with anyio.CancelScope() as scope:
                scope.cancel()  # delivered where the call first waits: for the connection
                await saver.aget_tuple(thread_config("t"))
            assert not hog_done.is_set()
            call_returned.set()
        assert hog_done.is_set()
        assert await saver.aget_tuple(thread_config("t")) is None  # the connection is fine


class OwnerLoop:
    """An asyncio loop running in a thread of its own, as in an application whose async
    connection serves calls from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = self.start()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        thread.start()
        return thread

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def owner() -> Iterator[OwnerLoop]:
    held = OwnerLoop()
    try:
        yield held
    finally:
        if held.loop.is_running():
            held.stop()
        held.loop.close()


class Armed(threading.Event):
    """Set by the first operation to start on the connection's loop once armed."""

    armed = False


@pytest.fixture
def remote_started(monkeypatch: pytest.MonkeyPatch) -> Armed:
    started = Armed()
    real = given.GivenDriver._run_here

    async def run_here(self: Any, *args: Any) -> Any:
        if started.armed:
            started.set()
        return await real(self, *args)

    monkeypatch.setattr(given.GivenDriver, "_run_here", run_here)
    return started


def _setup(owner: OwnerLoop, url: str) -> tuple[PostgresSaver, Any]:
    async def make() -> tuple[PostgresSaver, Any]:
        conn = await psycopg.AsyncConnection.connect(url, **KWARGS)
        saver = PostgresSaver(conn)
        await saver.setup()
        return saver, conn

    result: tuple[PostgresSaver, Any] = owner.call(make())
    return result


def test_a_call_from_another_thread_fails_when_the_connections_loop_stops(
    postgres_url: str, blocker: Blocker, owner: OwnerLoop, remote_started: Armed
) -> None:
    saver, conn = _setup(owner, postgres_url)
    hog_started = threading.Event()
    hog = asyncio.run_coroutine_threadsafe(saver._run(waits_on_the_lock(hog_started)), owner.loop)
    assert hog_started.wait(10)
    remote_started.armed = True
    failure: list[BaseException] = []

    def caller() -> None:
        try:
            anyio.run(saver.aget_tuple, thread_config("t"))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    assert remote_started.wait(10)  # the call waits on the loop for the connection
    owner.stop()  # as when the loop's run_until_complete returns
    thread.join(10)
    assert not thread.is_alive(), "the caller hangs"
    assert len(failure) == 1 and isinstance(failure[0], CheckpointError), failure
    assert "stopped before this call finished" in str(failure[0])
    blocker.release()
    owner.thread = owner.start()  # the loop runs again: the hog ends, the call was cancelled
    hog.result(10)
    owner.call(conn.close())


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_cancelled_call_from_another_thread_is_cancelled_on_the_connections_loop(
    postgres_url: str, blocker: Blocker, owner: OwnerLoop, remote_started: Armed, backend: str
) -> None:
    """The caller returns at once; its save, queued on the connection's loop, never runs."""
    saver, conn = _setup(owner, postgres_url)
    hog_started = threading.Event()
    hog = asyncio.run_coroutine_threadsafe(saver._run(waits_on_the_lock(hog_started)), owner.loop)
    assert hog_started.wait(10)
    remote_started.armed = True

    async def caller() -> None:
        async with anyio.create_task_group() as tg:

            async def cancel_once_queued() -> None:
                await anyio.to_thread.run_sync(remote_started.wait)
                tg.cancel_scope.cancel()

            tg.start_soon(cancel_once_queued)
            await saver.aput(thread_config("t"), make_checkpoint({"a": 1}, {"a": 1}), {}, {"a": 1})

    thread = threading.Thread(target=anyio.run, args=(caller,), kwargs={"backend": backend}, daemon=True)
    thread.start()
    thread.join(10)
    returned = not thread.is_alive()
    blocker.release()
    assert returned, "the cancelled caller waits for the statement ahead of its call"
    hog.result(10)
    assert owner.call(saver.aget_tuple(thread_config("t"))) is None  # the save never ran
    owner.call(conn.close())

