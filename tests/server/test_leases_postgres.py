"""Thread leases and fencing on PostgreSQL (several server processes on one database): a lease
is taken in one statement, an expired one is taken over with the next token, and a write made
with a lease another process took over fails with LeaseLostError and stores nothing of itself;
an interrupt answered twice fails the second write (AnswerConflictError)."""

from __future__ import annotations

from typing import Any

import anyio
import psycopg
import pytest

from streamhil.checkpoint._postgres_sql import Sql
from streamhil_server.storage import EventRow, RunRecord, ThreadRecord, Write
from streamhil_server.storage.base import AnswerConflictError, LeaseLostError
from streamhil_server.storage.postgres import PostgresStorage, with_session_settings
from streamhil_server.storage.postgres_sql import rows_of

pytestmark = pytest.mark.anyio


def _write(thread_id: str, seq: int) -> Write:
    return Write(
        thread_id=thread_id,
        events=[EventRow(thread_id, seq, "r", f'{{"seq":{seq}}}')],
        runs=[RunRecord(f"r{seq}", thread_id, "start", "queued", {})],
        threads=[ThreadRecord(thread_id, "g", "alice")],
    )


async def test_a_process_that_lost_its_lease_can_never_write_again(postgres_url: str) -> None:
    lost: list[list[str]] = []
    async with (
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.5) as first,
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.5) as second,
    ):
        first.on_lease_lost = lost.append
        # without a lease nothing is written, not even the first time
        with pytest.raises(LeaseLostError):
            await first.write(_write("t", 1))
        assert lost == [["t"]]
        lost.clear()
        grant = await first.acquire_lease("t")
        assert grant.held and grant.token == 1 and not grant.fresh
        await first.write(_write("t", 1))
        taken = await second.acquire_lease("t")  # held and not expired: refused, and told by whom
        assert not taken.held and taken.holder == first.lease_owner and 0 < taken.expires_in <= 0.5

        await anyio.sleep(0.6)  # the first process stalls past its lease
        taken = await second.acquire_lease("t")
        assert taken.held and taken.token == 2  # the next token
        with pytest.raises(LeaseLostError):
            await first.write(_write("t", 2))  # the first process still believes it holds it
        assert lost == [["t"]] and not first.holds("t")
        assert await second.event_bounds("t") == (1, 1)  # nothing of the fenced write was stored
        assert [r.run_id for r in await second.load_runs(("queued",), "t")] == ["r1"]
        await second.write(_write("t", 2))
        assert await first.event_bounds("t") == (1, 2)
        assert await first.renew_leases() == [] and await second.renew_leases() == []


async def test_a_fenced_write_fails_alone_in_a_shared_commit(postgres_url: str) -> None:
    async with (
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.3) as first,
        PostgresStorage(postgres_url, shared=True) as second,
    ):
        for t in ("a", "b"):
            assert (await first.acquire_lease(t)).held
        await anyio.sleep(0.4)
        assert (await second.acquire_lease("b")).token == 2
        outcomes: dict[str, BaseException | None] = {}

        async def write(thread_id: str) -> None:
            try:
                await first.write(_write(thread_id, 1))
                outcomes[thread_id] = None
            except LeaseLostError as exc:
                outcomes[thread_id] = exc

        async with anyio.create_task_group() as tg:  # may share one commit
            tg.start_soon(write, "a")
            tg.start_soon(write, "b")
        assert outcomes["a"] is None and isinstance(outcomes["b"], LeaseLostError)
        assert await second.event_bounds("a") == (1, 1) and await second.event_bounds("b") is None


async def test_renewal_keeps_a_lease_and_release_frees_it_with_its_token(postgres_url: str) -> None:
    # renewed every 0.25 s for 0.75 s in all, with a 0.6 s lease: held only if renewals work (a
    # loaded machine has 0.35 s of slack between renewals)
    async with (
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.6) as first,
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.6) as second,
    ):
        assert (await first.acquire_lease("t")).token == 1
        for _ in range(3):
            await anyio.sleep(0.25)
            assert await first.renew_leases() == []
        assert not (await second.acquire_lease("t")).held  # renewed: still the first's
        await first.release_leases(["t"])
        assert (await second.acquire_lease("t")).token == 2  # at once, next token
        await second.release_leases(["t"])
        again = await first.acquire_lease("t")
        assert again.token == 3 and not again.fresh  # another process held it meanwhile
        await first.release_leases(["t"])
        assert (await first.acquire_lease("t")).fresh  # nobody did since: what it knows holds


async def test_two_tasks_taking_one_lease_share_the_outcome(postgres_url: str) -> None:
    async with PostgresStorage(postgres_url, shared=True) as storage:
        grants = []

        async def take() -> None:
            grants.append(await storage.acquire_lease("t"))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(take)
        assert {g.token for g in grants} == {1}


async def test_an_interrupt_answered_twice_fails_the_second_write(postgres_url: str) -> None:
    async with PostgresStorage(postgres_url) as storage:
        await storage.write(Write(thread_id="t", answered=[("t", "i1")]))
        with pytest.raises(AnswerConflictError):
            await storage.write(Write(thread_id="t", answered=[("t", "i1")], runs=[RunRecord("r9", "t", "resume", "queued", {})]))
        assert await storage.load_runs(("queued",), "t") == []  # nothing of it was stored


async def test_a_takeover_does_not_wait_for_a_holder_frozen_inside_a_transaction(postgres_url: str) -> None:
    """A session of the holder's that sits inside a write's transaction (the process is frozen)
    holds the lock of the lease row a takeover must take. The server's sessions are ended by
    PostgreSQL after ``transaction_limit`` seconds idle in a transaction, and a takeover waits at
    most that long for the lock (then it is told who holds the lease, and asks again later)."""
    async with (
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.4) as first,
        PostgresStorage(postgres_url, shared=True, lease_ttl=0.4) as second,
    ):
        assert second.transaction_limit == 1.0
        shown = await second._read(lambda: rows_of(Sql("SHOW idle_in_transaction_session_timeout")))
        assert shown == [("1s",)]
        for thread_id in ("a", "b"):
            assert (await first.acquire_lease(thread_id)).token == 1

        def frozen_write(conninfo: str, thread_id: str) -> psycopg.Connection[Any]:
            conn = psycopg.connect(conninfo)  # a transaction, locking the row as a write's fence does
            conn.execute("SELECT 1 FROM streamhil_leases WHERE thread_id = %s FOR KEY SHARE", (thread_id,))
            return conn

        # a session without the setting (say, a process of an older streamhil): never ended,
        # but the takeover gives up waiting after the limit instead of hanging with it
        plain = await anyio.to_thread.run_sync(frozen_write, postgres_url, "a")
        # one of the server's own sessions: PostgreSQL ends it, and the takeover goes through
        own = await anyio.to_thread.run_sync(frozen_write, first._conninfo, "b")
        try:
            await anyio.sleep(0.5)  # both leases run out
            refused = await second.acquire_lease("a")
            assert not refused.held and refused.holder == first.lease_owner
            taken = await second.acquire_lease("b")
            assert taken.held and taken.token == 2
            with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
                await anyio.to_thread.run_sync(own.execute, "SELECT 1")  # its session was ended
        finally:
            await anyio.to_thread.run_sync(plain.close)
            await anyio.to_thread.run_sync(own.close)
        assert (await second.acquire_lease("a")).token == 2  # the lock is free: taken at once


def test_session_settings_keep_the_options_of_the_url() -> None:
    conninfo = with_session_settings("postgresql://u:p@h:5/d?options=-csearch_path%3Dmine", {"lock_timeout": "5s"})
    assert psycopg.conninfo.conninfo_to_dict(conninfo)["options"] == "-csearch_path=mine -c lock_timeout=5s"
    assert psycopg.conninfo.conninfo_to_dict(with_session_settings("postgresql://h/d", {"a": "1"}))["options"] == "-c a=1"
