"""Two real ``streamhil-server`` processes on one PostgreSQL database: a watcher on one process
sees, in order and with no gap or duplicate, the events of a run made on the other (the event
table is the truth, ``LISTEN/NOTIFY`` the wake-up); after its connections to the database are
killed it catches up; a client that moves to the other process replays exactly what it missed.

Commands for a thread sent to any process, takeover after kill -9 and answers at once on two
processes: tests/e2e/test_three_processes.py."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from streamhil_client import open_client

from .conftest import TIMEOUT, fast_backoff, start_server_process

pytestmark = pytest.mark.anyio

GRAPHS = Path(__file__).with_name("graphs.py")


async def start_server(db: str) -> tuple[Process, int]:
    return await start_server_process(
        [f"{GRAPHS}:asks_twice", "--db", db, "--port", "0", "--token", "alice:alice-token", "--log-level", "warning"]
    )


async def stop(process: Process) -> None:
    if process.returncode is None:
        process.terminate()
    with anyio.fail_after(TIMEOUT):
        await process.wait()
    if process.stdout is not None:
        await process.stdout.aclose()


async def until(watch: Any, kind: str, into: list[Any]) -> None:
    """Collect events from ``watch`` into ``into`` up to and including the first ``kind``."""
    async for event in watch:
        into.append(event)
        if event.event == kind:
            return
    raise AssertionError(f"the watch ended before a {kind} event")


def kill_sessions(url: str, application_name: str) -> int:
    """Terminate every database session of one server process (found by its application name)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return len(rows)


def pairs(events: list[Any]) -> list[tuple[int, str, str | None]]:
    return [(e.seq, e.event, e.run_id) for e in events]


async def test_a_watcher_on_another_process_sees_every_event(postgres_db_url: str, postgres_url: str) -> None:
    second_name = f"streamhil-p2-{uuid.uuid4().hex[:8]}"
    first, first_port = await start_server(f"{postgres_db_url}&application_name=streamhil-p1")
    second, second_port = await start_server(f"{postgres_db_url}&application_name={second_name}")
    try:
        async with (
            open_client(f"ws://127.0.0.1:{first_port}/ws", token="alice-token", backoff=fast_backoff) as a,
            open_client(f"ws://127.0.0.1:{second_port}/ws", token="alice-token", backoff=fast_backoff) as b,
        ):
            with anyio.fail_after(TIMEOUT * 2):
                for round_ in range(3):  # several threads, so that a race shows
                    run = await a.start_run("asks_twice", {})
                    tid = run.thread_id
                    mine = await a.subscribe(tid, after=0)
                    theirs = await b.subscribe(tid, after=0)  # on the other process
                    seen_a: list[Any] = []
                    seen_b: list[Any] = []
                    await until(mine, "run_interrupted", seen_a)
                    await until(theirs, "run_interrupted", seen_b)
                    assert pairs(seen_b) == pairs(seen_a)

                    await a.resume(tid, "one")  # answered on the first process, watched live on the second
                    await until(mine, "run_interrupted", seen_a)
                    await until(theirs, "run_interrupted", seen_b)
                    assert pairs(seen_b) == pairs(seen_a)

                    if round_ == 1:  # the second process loses its database sessions, listener included
                        assert await anyio.to_thread.run_sync(kill_sessions, postgres_url, second_name) >= 1
                    await a.resume(tid, "two")
                    await until(mine, "run_done", seen_a)
                    # a wake-up lost while the listener was down is caught up when it reconnects
                    # (about a second), long before the 30 s "any thread" poll would
                    with anyio.fail_after(10):
                        await until(theirs, "run_done", seen_b)
                    assert pairs(seen_b) == pairs(seen_a)
                    numbers = [e.seq for e in seen_b]
                    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no duplicate
                    await mine.aclose()
                    await theirs.aclose()

                    # a client that moves to the other process replays exactly what it missed
                    async with open_client(f"ws://127.0.0.1:{second_port}/ws", token="alice-token") as c:
                        moved = await c.subscribe(tid, after=3)
                        replayed: list[Any] = []
                        await until(moved, "run_done", replayed)
                        assert pairs(replayed) == pairs(seen_a)[3:]
                        assert (await c.get_state(tid)).values == {"a1": "one", "a2": "two"}
                        await moved.aclose()
    finally:
        await stop(first)
        await stop(second)
