"""Three real ``streamhil-server`` processes on one PostgreSQL database, driven by the Python SDK
(issue 10): any process takes any command for any thread; a watcher on any process sees every
event in order with no gap or duplicate; a client that moves to another process replays what it
missed; ``kill -9`` of the process running a thread mid-run → another process takes it over
within the lease bound and finishes it; two answers to one interrupt sent at once to two
processes → exactly one is acknowledged, the other gets ``already_answered``.

Each seed picks which process does what and how the two answers are timed, so that a race shows.
"""

from __future__ import annotations

import random
import re
import signal
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from streamhil_client import StreamhilClientError, open_client

from streamhil_server.storage.postgres import FREEZE_HOOK

from .conftest import TIMEOUT, fast_backoff, open_clients, reap, start_server_process

pytestmark = pytest.mark.anyio

GRAPHS = Path(__file__).with_name("graphs.py")
LEASE_TTL = 1.5
TAKEOVER_BOUND = LEASE_TTL * 4 / 3 + 4.0  # the keeper's round after expiry, plus a loaded machine's slack
TOKEN = "alice-token"


async def start_server(db: str, marker: Path, env: dict[str, str] | None = None) -> tuple[Process, int]:
    return await start_server_process(
        [f"{GRAPHS}:restartable", "--db", db, "--port", "0", "--token", f"alice:{TOKEN}", "--log-level", "warning",
         "--lease-ttl", str(LEASE_TTL), "--metrics-token", "m"],
        env={"STREAMHIL_E2E_MARKER": str(marker), **(env or {})},
    )


class Observer:
    """Collects every event of a thread from one process, and moves to another on demand."""

    def __init__(self, tid: str) -> None:
        self.tid = tid
        self.events: list[Any] = []
        self.process = -1
        self.changed = anyio.Event()
        self._scope: anyio.CancelScope | None = None

    async def watch(self, port: int, process: int, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as scope:
            self._scope, self.process = scope, process
            async with open_client(f"ws://127.0.0.1:{port}/ws", token=TOKEN, backoff=fast_backoff) as client:
                after = self.events[-1].seq if self.events else 0
                watch = await client.subscribe(self.tid, after=after)  # replays what it missed
                task_status.started()
                try:
                    async for event in watch:
                        self.events.append(event)
                        self.changed.set()
                        self.changed = anyio.Event()
                finally:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                        await watch.aclose()

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def until(self, predicate: Any) -> Any:
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            await self.changed.wait()


def _attempt(event: Any) -> Any:
    payload = event.data
    return payload.get("attempt") if isinstance(payload, dict) else None


def numbered(events: list[Any]) -> list[tuple[int, str, str | None]]:
    return [(e.seq, e.event, e.run_id) for e in events]


async def answer_at_once(clients: list[Any], tid: str, interrupt_id: str, rng: random.Random) -> list[Any]:
    """Both clients answer the same interrupt "at the same moment" (one of them maybe a hair later)."""
    outcomes: list[Any] = [None, None]

    async def answer(i: int) -> None:
        if rng.random() < 0.5:
            await anyio.sleep(rng.random() * 0.005)
        try:
            outcomes[i] = await clients[i].resume(
                tid, {"from": i}, interrupt_id=interrupt_id, stream_modes=["custom", "updates"]
            )
        except StreamhilClientError as exc:
            outcomes[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(2):
            tg.start_soon(answer, i)
    return outcomes


def check_one_wins(outcomes: list[Any]) -> int:
    errors = [o for o in outcomes if isinstance(o, StreamhilClientError)]
    assert len(errors) == 1, outcomes
    assert errors[0].code == "already_answered", errors[0]
    return next(i for i, o in enumerate(outcomes) if not isinstance(o, StreamhilClientError))


async def _check_cluster(port: int, dead: int, alive: set[int]) -> None:
    """Any process lists every process, the killed one as not alive."""
    async with httpx.AsyncClient() as http:
        view = (await http.get(f"http://127.0.0.1:{port}/metrics", headers={"authorization": "Bearer m"})).json()["cluster"]
    by_pid = {p["pid"]: p["alive"] for p in view["processes"]}
    assert by_pid == {dead: False, **{pid: True for pid in alive}} and view["alive"] == len(alive)


async def _check(seen_by_c: Observer, done: Any, rng: random.Random, ports: list[int], survivors: list[int], tid: str) -> None:
    # C saw every event, no gap, no duplicate
    assert [e.seq for e in seen_by_c.events] == list(range(1, done.seq + 1))
    cancelled = [e for e in seen_by_c.events if e.event == "run_cancelled"]
    assert [e.reason for e in cancelled] == ["shutdown"]

    # a client that reconnects to another process replays exactly what it missed
    k = rng.randrange(1, done.seq)
    async with open_client(f"ws://127.0.0.1:{ports[rng.choice(survivors)]}/ws", token=TOKEN) as d:
        replay = await d.subscribe(tid, after=k)
        replayed: list[Any] = []
        async for event in replay:
            replayed.append(event)
            if event.event == "run_done":
                break
        await replay.aclose()
        assert numbered(replayed) == numbered(seen_by_c.events)[k:]
        state = await d.get_state(tid)
        assert state.values["steps"] == 1 and set(state.values) >= {"a1", "a2"}
        listed = await d.list_threads()
        assert [(t.thread_id, t.status) for t in listed] == [(tid, "idle")]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_three_processes_share_threads(postgres_db_url: str, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    marker = tmp_path / "marker"
    servers: list[tuple[Process, int]] = [(None, 0)] * 3  # type: ignore[list-item]

    async def start(i: int) -> None:
        servers[i] = await start_server(postgres_db_url, marker)

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(start, i)
    ports = [port for _, port in servers]
    alive = {0, 1, 2}
    a_at, b_at, c_at = rng.sample(range(3), 3)
    try:
        with anyio.fail_after(TIMEOUT * 2):
            async with AsyncExitStack() as stack:
                clients = await open_clients(stack, ports, TOKEN)
                async with anyio.create_task_group() as tg:
                    # client A on one process starts the run
                    run = await clients[a_at].start_run("restartable", {}, stream_modes=["custom", "updates"])
                    tid = run.thread_id
                    seen_by_c = Observer(tid)  # client C, on a third process, watches everything
                    await tg.start(seen_by_c.watch, ports[c_at], c_at)
                    first = await seen_by_c.until(lambda e: e.event == "run_interrupted")
                    ask1 = first.interrupt_ids[0]

                    # client B (second process) and client C (third) answer it at the same moment
                    outcomes = await answer_at_once([clients[b_at], clients[c_at]], tid, ask1, rng)
                    check_one_wins(outcomes)

                    # the run goes into "slow", which hangs in the process running it: kill that one
                    await seen_by_c.until(lambda e: e.event == "custom" and _attempt(e) == 1)
                    pid = int(re.findall(r"\d+", marker.read_text())[-1])
                    victim = next(i for i, (proc, _) in enumerate(servers) if proc.pid == pid)
                    servers[victim][0].send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
                    await servers[victim][0].wait()
                    alive.discard(victim)
                    if seen_by_c.process == victim:  # C moves to a process still alive, replaying what it missed
                        seen_by_c.stop()
                        await tg.start(seen_by_c.watch, ports[min(alive)], min(alive))
                    survivors = sorted(alive)

                    # another process takes the thread over within the bound and goes on
                    cut = await seen_by_c.until(lambda e: e.event == "run_cancelled")
                    assert cut.reason == "shutdown"
                    second = await seen_by_c.until(lambda e: e.event == "run_interrupted" and e.seq > cut.seq)
                    assert time.monotonic() - killed_at < TAKEOVER_BOUND + 2
                    assert any(e.event == "custom" and _attempt(e) == 2 for e in seen_by_c.events)
                    ask2 = second.interrupt_ids[0]

                    # two answers at once on the two processes left: exactly one wins
                    movers = [clients[i] for i in survivors]
                    rng.shuffle(movers)
                    outcomes = await answer_at_once(movers, tid, ask2, rng)
                    check_one_wins(outcomes)
                    done = await seen_by_c.until(lambda e: e.event == "run_done")

                    await _check(seen_by_c, done, rng, ports, survivors, tid)
                    await _check_cluster(ports[survivors[0]], servers[victim][0].pid, {servers[i][0].pid for i in survivors})
                    seen_by_c.stop()
                    tg.cancel_scope.cancel()
    finally:
        for i in alive:
            servers[i][0].terminate()
        await reap(proc for proc, _ in servers)


async def _answered_once(clients: list[Any], ports: list[int], tg: Any) -> tuple[str, Observer]:
    """A new thread started on the first process and watched from the second; its first
    question answered on the first (which runs the slow node next)."""
    run = await clients[0].start_run("restartable", {}, stream_modes=["custom", "updates"])
    seen = Observer(run.thread_id)
    await tg.start(seen.watch, ports[1], 1)
    first = await seen.until(lambda e: e.event == "run_interrupted")
    await clients[0].resume(run.thread_id, "one", interrupt_id=first.interrupt_ids[0], stream_modes=["custom", "updates"])
    return run.thread_id, seen


async def test_a_process_that_stalls_past_its_lease_never_writes_the_thread_again(
    postgres_db_url: str, tmp_path: Path
) -> None:
    """SIGSTOP the process running a thread mid-run: another takes the thread over; SIGCONT: the
    stalled process finds its lease lost and writes nothing more (its run's writes are fenced)."""
    marker = tmp_path / "marker"
    servers = [await start_server(postgres_db_url, marker) for _ in range(2)]
    ports = [port for _, port in servers]
    try:
        with anyio.fail_after(TIMEOUT * 2):
            async with AsyncExitStack() as stack:
                clients = await open_clients(stack, ports, TOKEN)
                async with anyio.create_task_group() as tg:
                    tid, seen = await _answered_once(clients, ports, tg)
                    await seen.until(lambda e: e.event == "custom" and _attempt(e) == 1)
                    pid = int(re.findall(r"\d+", marker.read_text())[-1])
                    stalled = next(i for i, (proc, _) in enumerate(servers) if proc.pid == pid)
                    if stalled == 1:  # the watcher must stay on the process that goes on
                        seen.stop()
                        await tg.start(seen.watch, ports[0], 0)
                    servers[stalled][0].send_signal(signal.SIGSTOP)
                    try:
                        cut = await seen.until(lambda e: e.event == "run_cancelled")
                        second = await seen.until(lambda e: e.event == "run_interrupted" and e.seq > cut.seq)
                    finally:
                        servers[stalled][0].send_signal(signal.SIGCONT)
                    # the stalled process wakes up, finds its lease taken and stops its run; an answer
                    # sent to it reaches the new holder (or takes the thread back, reloaded)
                    await clients[stalled].resume(tid, "two", interrupt_id=second.interrupt_ids[0])
                    done = await seen.until(lambda e: e.event == "run_done")
                    assert [e.seq for e in seen.events] == list(range(1, done.seq + 1))
                    stale_run = next(e.run_id for e in seen.events if e.event == "run_cancelled")
                    after_cut = [e for e in seen.events if e.seq > cut.seq and e.run_id == stale_run]
                    assert after_cut == []  # nothing of the stalled run after the takeover
                    assert cut.reason == "shutdown"
                    state = await clients[1 - stalled].get_state(tid)
                    assert state.values["a2"] == "two" and state.values["steps"] == 1
                    seen.stop()
                    tg.cancel_scope.cancel()
    finally:
        for proc, _ in servers:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
        await reap(proc for proc, _ in servers)


async def test_a_process_frozen_inside_a_transaction_is_taken_over_within_the_bound(
    postgres_db_url: str, tmp_path: Path
) -> None:
    """The process running a thread is stopped (SIGSTOP) inside a write's transaction, so its
    session holds the lock of the thread's lease row, which a takeover must take: PostgreSQL ends
    that session after ``idle_in_transaction_session_timeout`` (set from the lease), and another
    process takes the thread over within the usual bound while the first is still stopped. The
    frozen write (the slow node's first ``custom`` event) is never stored."""
    marker = tmp_path / "marker"
    frozen = await start_server(postgres_db_url, marker, {FREEZE_HOOK: '"attempt":1'})
    other = await start_server(postgres_db_url, marker)
    servers = [frozen, other]
    ports = [port for _, port in servers]
    try:
        with anyio.fail_after(TIMEOUT * 2):
            async with AsyncExitStack() as stack:
                clients = await open_clients(stack, ports, TOKEN)
                async with anyio.create_task_group() as tg:
                    tid, seen = await _answered_once(clients, ports, tg)
                    assert frozen[0].stdout is not None
                    said = ""
                    async for chunk in TextReceiveStream(frozen[0].stdout):
                        said += chunk
                        if "frozen in a transaction" in said:
                            break
                    frozen[0].send_signal(signal.SIGSTOP)
                    stopped_at = time.monotonic()
                    # the other process goes on with the thread: its slow node's second attempt
                    again = await seen.until(lambda e: e.event == "custom" and _attempt(e) == 2)
                    assert time.monotonic() - stopped_at < TAKEOVER_BOUND + 2
                    assert frozen[0].returncode is None  # still there, still stopped
                    # the run was closed (reason shutdown) and continued, or, if the frozen write
                    # was the one that said it was running, run again from its queued record
                    assert [e.reason for e in seen.events if e.event == "run_cancelled"] in ([], ["shutdown"])
                    second = await seen.until(lambda e: e.event == "run_interrupted" and e.seq > again.seq)
                    assert [_attempt(e) for e in seen.events if e.event == "custom"] == [2]  # the frozen one: never stored
                    await clients[1].resume(tid, "two", interrupt_id=second.interrupt_ids[0])
                    done = await seen.until(lambda e: e.event == "run_done")
                    assert [e.seq for e in seen.events] == list(range(1, done.seq + 1))
                    state = await clients[1].get_state(tid)
                    assert (state.values["a1"], state.values["a2"], state.values["steps"]) == ("one", "two", 1)
                    seen.stop()
                    tg.cancel_scope.cancel()
    finally:
        frozen[0].send_signal(signal.SIGKILL)  # its writer never comes back
        other[0].terminate()
        await reap(proc for proc, _ in servers)
