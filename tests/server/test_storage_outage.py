"""The storage goes away while the server runs: the process keeps serving.

PostgreSQL is reached through a proxy of the test's own (:mod:`.pg_proxy`) that cuts every
connection and refuses new ones for a while: the shared cluster is never stopped. While it is
away, commands that need it are refused at once with ``storage_unavailable`` and ``/healthz``
answers 503; a run whose step could not be stored ends with ``run_error`` (code
``storage_unavailable``) once it is back, keeping its last stored checkpoint and every
acknowledged answer, and ``start_run`` with ``input: null`` goes on from there. (It used to end
the process: the run's end could not be stored, and that error stopped the runtime.)

A ``COMMIT`` whose answer is lost with its connection is looked up, and found stored, rather than
reported failed and written again (its events would then be refused as duplicates for ever).

The same for SQLite when its disk is full (``PRAGMA max_page_count``), and for a write of a run's
end that fails for any other reason: the process goes on.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from streamhil_server.settings import ServerSettings
from streamhil_server.storage import EventRow, Write
from streamhil_server.storage.postgres import PostgresStorage

from .conftest import connect
from streamhil import END, START, StateGraph, get_stream_writer

from .graphs import Gate, S, counter, gated
from .pg_proxy import database_proxy
from .wire import check_seqs

OUTAGE = 1.5
"""Seconds the database stays away after the run's step ended: longer than the server used to
retry storing a run's end (4 attempts in 0.35 s, twice) before it gave up and stopped."""


BIG = "x" * 400_000
"""A value that takes many new pages of a SQLite file (more than it has free)."""


def bulky(gate: Gate) -> Any:
    """``work`` says "waiting" (custom event), waits for the gate, then writes :data:`BIG`."""

    async def work(state: S) -> S:
        get_stream_writer()({"status": "waiting"})
        await gate.wait()
        return {"n": state.get("n", 0) + 1, "log": [BIG]}

    g = StateGraph(S)
    g.add_node("work", work)
    g.add_edge(START, "work")
    g.add_edge("work", END)
    return g.compile()


def _wait_health(client: Any, available: bool, timeout: float = 15.0) -> None:
    """Until the server finds its storage available (or not)."""
    health = client.app.state.runtime.storage.health

    async def until() -> None:
        with anyio.fail_after(timeout):
            while health.available != available:
                await health.wait_changed()

    client.portal.call(until)


@pytest.mark.parametrize("lease_ttl", [6.0, 0.5], ids=["leases-outlive-it", "leases-run-out"])
def test_a_database_outage_during_a_run_ends_the_run_not_the_server(
    make_client: Any, postgres_db_url: str, lease_ttl: float
) -> None:
    work, asked = Gate(), Gate()
    asked.opened = True  # (the "asker" graph goes straight to its question)
    graphs = {"gated": gated(work), "asker": gated(asked)}
    settings = ServerSettings(lease_ttl=lease_ttl, metrics_token="m")
    metrics = {"authorization": "Bearer m"}
    with database_proxy(postgres_db_url) as (proxy, url), make_client(graphs, db=url, settings=settings) as client, \
            connect(client) as wire:
        # before the outage: a thread waits for an answer, another is inside a step
        waiting = wire.request("start_run", graph="asker", input={"n": 0})["thread_id"]
        question = wire.run_end(waiting)["data"]["interrupt_ids"][0]
        tid = wire.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom", "updates"])["thread_id"]
        wire.until(lambda f: f.get("event") == "custom" and f["thread_id"] == tid)

        proxy.refuse()
        _wait_health(client, available=False)  # the listener's connection was cut: the watcher probed
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "storage_unavailable", health.text
        assert client.get("/livez").json() == {"status": "ok"}  # restarting the process would not help
        assert client.get("/metrics", headers=metrics).json()["storage"] == {"available": False, "outages": 1}
        assert "streamhil_storage_available 0" in client.get("/metrics?format=prometheus", headers=metrics).text

        # commands that need the database are refused at once, saying why
        started = time.monotonic()
        for command, fields in (
            ("list_threads", {}),
            ("start_run", {"graph": "asker", "input": {"n": 0}}),
            ("resume", {"thread_id": waiting, "value": "yes"}),
        ):
            error = wire.error(command, **fields)
            assert error["code"] == "storage_unavailable", error
            assert "unavailable" in error["message"], error
        assert time.monotonic() - started < 5

        client.portal.call(work.open)  # the step ends; its checkpoint cannot be stored
        time.sleep(OUTAGE)  # (the length of the outage, not a wait for something to happen)
        proxy.restore()
        _wait_health(client, available=True)

        end = wire.run_end(tid)
        assert end["event"] == "run_error" and end["data"]["code"] == "storage_unavailable", end
        assert client.get("/healthz").json()["status"] == "ok"
        threads = {t["thread_id"]: t for t in wire.request("list_threads")["threads"]}
        assert threads[tid]["status"] == "error" and threads[tid]["run_id"] is None
        assert [i["id"] for i in threads[waiting]["interrupts"]] == [question]  # the refused answer changed nothing

        # the thread kept its last stored checkpoint: the run goes on from there, its step once
        wire.request("start_run", graph="gated", thread_id=tid, input=None)
        assert wire.run_end(tid)["event"] == "run_interrupted"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 1
        wire.request("resume", thread_id=tid, value="go")
        assert wire.run_end(tid)["event"] == "run_done"
        # the question asked before the outage is answered now
        wire.request("resume", thread_id=waiting, interrupt_id=question, value="yes")
        assert wire.run_end(waiting)["event"] == "run_done"
        assert wire.request("get_state", thread_id=waiting)["state"]["values"]["answer"] == "yes"
        check_seqs(wire.events)

        # a watcher replaying from the start sees the same events, none twice
        with connect(client) as other:
            other.request("subscribe", thread_id=tid, after=0)
            other.until(lambda f: f.get("event") == "run_done")
            assert [e["seq"] for e in other.events] == [e["seq"] for e in wire.thread_events(tid)][: len(other.events)]
            check_seqs(other.events)


def test_a_full_sqlite_disk_refuses_commands_and_the_run_ends_once_there_is_room(
    make_client: Any, tmp_path: Path
) -> None:
    work = Gate()
    graphs = {"bulky": bulky(work), "counter": counter()}
    with make_client(graphs, db=str(tmp_path / "s.sqlite")) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="bulky", input={"n": 0}, stream_modes=["custom", "updates"])["thread_id"]
        wire.until(lambda f: f.get("event") == "custom" and f["thread_id"] == tid)
        storage = client.app.state.runtime.storage
        end_refused = threading.Event()
        real_write = storage.write

        async def watched(write: Any) -> None:
            try:
                await real_write(write)
            except Exception:
                if any(run.thread_id == tid and run.ended_at for run in write.runs):
                    end_refused.set()
                raise

        storage.write = watched
        writer = storage._writer  # (idle: the run waits in its node, its events are stored)
        pages = writer.execute("PRAGMA page_count").fetchone()[0]
        writer.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: a write that needs pages fails
        try:
            error = wire.error("start_run", graph="counter", input={"n": 0, "log": [BIG]}, thread_id="t-new")
            assert error["code"] == "storage_unavailable" and "cannot be written" in error["message"], error
            client.portal.call(work.open)  # the step ends; neither it nor the run's end can be stored
            assert end_refused.wait(10)
        finally:
            writer.execute("PRAGMA max_page_count = 1073741823")  # room again
        end = wire.run_end(tid)
        assert end["event"] == "run_error" and end["data"]["code"] == "storage_unavailable", end
        wire.request("start_run", graph="bulky", thread_id=tid, input=None)
        assert wire.run_end(tid)["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 1
        assert wire.request("start_run", graph="counter", input={"n": 0}, thread_id="t-new")["thread_id"] == "t-new"
        assert wire.run_end("t-new")["event"] == "run_done"
        check_seqs(wire.events)
        storage.write = real_write


def test_a_run_end_the_storage_keeps_refusing_does_not_stop_the_server(make_client: Any) -> None:
    """A write of a run's end failing for another reason than the storage being away (a bug, a
    value the database will not take): the run cannot be closed, but the server goes on."""
    with make_client({"counter": counter()}) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        real_write = storage.write

        async def refusing_ends(write: Any) -> None:
            if any(run.thread_id == "t-doomed" and run.ended_at for run in write.runs):
                for failed in write.after_failure:
                    failed(RuntimeError("the database refuses this row"))
                raise RuntimeError("the database refuses this row")
            await real_write(write)

        storage.write = refusing_ends
        wire.request("start_run", graph="counter", input={"n": 0}, thread_id="t-doomed")
        # the end was tried and given up (logged); the server still runs other threads
        wire.request("start_run", graph="counter", input={"n": 0}, thread_id="t-fine")
        assert wire.run_end("t-fine")["event"] == "run_done"
        assert client.get("/healthz").json()["status"] == "ok"
        storage.write = real_write


@pytest.mark.anyio
async def test_a_commit_whose_answer_is_lost_is_found_stored_not_written_twice(postgres_db_url: str) -> None:
    def event(seq: int) -> Write:
        return Write(thread_id="t", events=[EventRow("t", seq, None, f'{{"seq": {seq}}}')])

    with database_proxy(postgres_db_url) as (proxy, url):
        async with PostgresStorage(url) as storage:
            await storage.write(event(1))
            proxy.lose_next_commit_answer()
            await storage.write(event(2))  # committed, though the answer never came
            assert proxy.commits_lost == 1
            await storage.write(event(3))
            assert [seq for seq, _ in await storage.read_events("t", 0, 10)] == [1, 2, 3]


def test_which_database_errors_make_the_storage_unavailable() -> None:
    import psycopg
    import psycopg_pool

    from streamhil_server.storage.postgres_availability import connection_problem, resource_problem

    refused = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1" failed: Connection refused\n\tIs it running?')
    assert connection_problem(refused) == 'connection failed: connection to server at "127.0.0.1" failed: Connection refused'
    for reached in (psycopg.errors.AdminShutdown("x"), psycopg.errors.CannotConnectNow("x"),
                    psycopg.errors.TooManyConnections("x"), psycopg_pool.PoolTimeout("x")):
        assert connection_problem(reached) is not None and resource_problem(reached) is None, reached
    assert connection_problem(psycopg.errors.DiskFull("x")) is None and resource_problem(psycopg.errors.DiskFull("x")) == "x"
    for answered in (psycopg.errors.QueryCanceled("x"), psycopg.errors.LockNotAvailable("x"),
                     psycopg.errors.UniqueViolation("x"), psycopg.errors.PipelineAborted("x")):
        assert connection_problem(answered) is None and resource_problem(answered) is None, answered
