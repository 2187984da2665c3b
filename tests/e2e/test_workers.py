"""``streamhil-server --workers N``: N worker processes on one port, each its own process on the
PostgreSQL database (its own lease owner); a worker killed is replaced; SIGTERM stops them all
cleanly. Refused, with the reason, where one process owns the state (SQLite, memory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from streamhil_client import open_client

from streamhil_server.__main__ import main

from .conftest import TIMEOUT, fast_backoff

GRAPHS = Path(__file__).with_name("graphs.py")
TOKEN = "alice-token"
METRICS = {"authorization": "Bearer m"}


@pytest.mark.parametrize(
    ("db", "reason"),
    [(None, "in memory"), ("state.sqlite", "in the SQLite file state.sqlite")],
)
def test_workers_are_refused_where_one_process_owns_the_state(db: str | None, reason: str, capsys: Any) -> None:
    argv = ["--demo", "--workers", "2", "--port", "0"] + ([] if db is None else ["--db", db])
    with pytest.raises(SystemExit) as stopped:  # one line on stderr, exit status 2 (as argparse)
        main(argv)
    assert stopped.value.code == 2
    assert f"--workers 2 needs a PostgreSQL --db: this server keeps its state {reason}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["--demo", "--workers", "0"])
    assert stopped.value.code == 2 and "--workers must be at least 1, got 0" in capsys.readouterr().err


def test_a_refused_workers_option_stops_the_command_with_its_reason(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamhil_server", "--demo", "--workers", "3", "--db", str(tmp_path / "x.sqlite")],
        capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 2 and "needs a PostgreSQL --db" in done.stderr and "listening" not in done.stdout
    assert not (tmp_path / "x.sqlite").exists()  # nothing was opened


def _parent_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])


def _cpus_of(pid: int) -> set[int]:
    """The CPUs every thread of process ``pid`` may run on (one set if they all agree)."""
    sets = {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}
    assert len(sets) == 1, sets
    return set(next(iter(sets)))


class Supervised:
    """The supervisor process and the banners its workers print."""

    def __init__(self, process: Process) -> None:
        self.process = process
        assert process.stdout is not None
        self._lines = TextReceiveStream(process.stdout)
        self.text = ""

    async def until(self, count: int, marker: str = "streamhil-server listening on") -> None:
        while self.text.count(marker) < count:
            self.text += await self._lines.receive()

    @property
    def port(self) -> int:
        return int(self.text.split("processes on http://", 1)[1].split()[0].rsplit(":", 1)[1])


async def _cluster(port: int) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"http://127.0.0.1:{port}/metrics", headers=METRICS)
    cluster: dict[str, Any] = reply.json()["cluster"]
    return cluster


@pytest.mark.anyio
async def test_workers_share_the_port_and_the_database_and_are_replaced_when_killed(
    postgres_db_url: str, postgres_url: str
) -> None:
    process = await anyio.open_process(
        [sys.executable, "-m", "streamhil_server", f"{GRAPHS}:asks_twice", "--db", postgres_db_url, "--port", "0",
         "--workers", "2", "--token", f"alice:{TOKEN}", "--metrics-token", "m", "--log-level", "warning",
         "--lease-ttl", "1.5", "--cpu-affinity", "auto"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=None,
    )
    supervised = Supervised(process)
    cpus = sorted(os.sched_getaffinity(0))
    try:
        with anyio.fail_after(TIMEOUT * 2):
            await supervised.until(2)
            port = supervised.port
            cluster = await _cluster(port)
            workers = {p["pid"]: p for p in cluster["processes"]}
            assert cluster["alive"] == 2 and len({p["owner"] for p in workers.values()}) == 2
            assert {_parent_of(pid) for pid in workers} == {process.pid}
            # --cpu-affinity auto: each worker (every thread of it) on one CPU, taken in turn
            placed = {pid: _cpus_of(pid) for pid in workers}
            assert all(len(on) == 1 for on in placed.values())
            assert sorted(cpu for on in placed.values() for cpu in on) == sorted(cpus[i % len(cpus)] for i in range(2))
            assert _cpus_of(process.pid) == set(cpus)  # the supervisor is not pinned

            # a run, and each answer on a connection of its own (any worker)
            async with open_client(f"ws://127.0.0.1:{port}/ws", token=TOKEN, backoff=fast_backoff) as first:
                run = await first.start_run("asks_twice", {})
                tid = run.thread_id
                async for event in run:
                    if event.event == "run_interrupted":
                        break
                for answer in ("one", "two"):
                    async with open_client(f"ws://127.0.0.1:{port}/ws", token=TOKEN) as other:
                        resumed = await other.resume(tid, answer)
                        async for event in resumed:
                            if event.event in ("run_interrupted", "run_done", "run_error"):
                                break
                assert event.event == "run_done"
                state = await first.get_state(tid)
                assert (state.values["a1"], state.values["a2"]) == ("one", "two")

            # a worker killed is replaced (the new one is on the list before it serves)
            victim = next(iter(workers))
            os.kill(victim, signal.SIGKILL)
            await supervised.until(3)
            cluster = await _cluster(port)
            listed = {p["pid"]: p for p in cluster["processes"]}
            replacement = set(listed) - set(workers)
            assert len(replacement) == 1 and victim in listed
            new = replacement.pop()
            assert listed[new]["alive"] and _parent_of(new) == process.pid
            assert _cpus_of(new) == placed[victim]  # the replacement takes the dead worker's slot

            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()
    with psycopg.connect(postgres_url) as conn:  # stopped cleanly: each worker took itself off the list
        assert conn.execute("SELECT pid FROM streamhil_processes").fetchall() == [(victim,)]


def test_a_worker_that_cannot_start_stops_them_all(postgres_db_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamhil_server", f"{tmp_path / 'missing.py'}:graph", "--db", postgres_db_url,
         "--port", "0", "--workers", "2", "--log-level", "warning"],
        capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 1, done
    assert "missing.py" in done.stderr and "exited at startup" in done.stderr and "listening on" not in done.stdout
