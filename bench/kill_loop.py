"""kill -9 loop: a SQLite server is killed again and again during interrupt/resume traffic.

Each round starts ``streamhil-server --db`` on the same file with a kill plan, drives several
threads over several connections (start a conversation, answer each question, start the next
one), and the server dies with SIGKILL at the plan's point:

- ``commit_before:N``  inside the N-th storage transaction, before its COMMIT;
- ``commit_after:N``   right after the N-th COMMIT (before anything was delivered or replied);
- ``node:N``           in the middle of the N-th run of the graph's ``work`` node (mid-step);
- ``client:N``         killed by this script when the N-th frame of the round arrives.

Then a last server runs without a plan and every thread is checked:

- every acknowledged answer is in the thread's state exactly once (lost / applied twice);
- every acknowledged ``start_run`` ran with its input (lost inputs);
- no thread is wedged: an interrupted thread takes an answer to what it lists, an idle one
  takes a new run;
- each thread's event log: seqs 1..head with no gap, each run has one ``run_started`` and
  exactly one terminal event, no step's events twice (``updates``/``custom`` payloads and
  ``interrupt`` ids are unique), no ``run_error``;
- ``PRAGMA integrity_check`` is ok.

    python bench/kill_loop.py --kills 200 --seed 7

``tests/e2e/test_kill_loop.py`` runs it with a fixed seed and 32 kills.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

TOKEN = "alice-token"
TERMINAL = {"run_interrupted", "run_done", "run_error", "run_cancelled"}
QUESTIONS = 3  # answers per conversation
PLAN_ENV = "STREAMHIL_KILL_PLAN"
MUTATE_ENV = "STREAMHIL_KILL_MUTATE"
KINDS = ("commit_before", "commit_after", "node", "client")


# --- the graph the server runs (loaded by the server subprocess as kill_loop.py:killable) -------


class State(TypedDict, total=False):
    conv: int
    convs: list[int]
    count: int
    answers: list[str]
    tag: str


def _countdown(kind: str) -> Any:
    """A function that kills this process the N-th time it is called, if the plan says ``kind:N``."""
    plan = os.environ.get(PLAN_ENV, "")
    want, _, n = plan.partition(":")
    left = [int(n)] if want == kind and n else [0]

    def tick() -> None:
        if left[0] > 0:
            left[0] -= 1
            if left[0] == 0:
                os.kill(os.getpid(), signal.SIGKILL)

    return tick


def _killable() -> Any:
    from streamhil import END, START, StateGraph, get_stream_writer, interrupt

    node_tick = _countdown("node")

    def begin(state: State) -> State:
        return {"convs": [*state.get("convs", []), state["conv"]], "count": 0}

    def ask(state: State) -> State:
        answer = interrupt({"conv": state["conv"], "n": state.get("count", 0)})
        return {"answers": [*state.get("answers", []), answer]}

    async def work(state: State) -> State:
        tag = f"{state['conv']}:{state.get('count', 0)}"
        get_stream_writer()({"tag": tag})
        node_tick()  # mid-step: the custom event is published, the step's checkpoint is not stored
        return {"count": state.get("count", 0) + 1, "tag": tag}

    def route(state: State) -> str:
        return "ask" if state.get("count", 0) < QUESTIONS else END

    g = StateGraph(State)
    g.add_node("begin", begin)
    g.add_node("ask", ask)
    g.add_node("work", work)
    g.add_edge(START, "begin")
    g.add_edge("begin", "ask")
    g.add_edge("ask", "work")
    g.add_conditional_edges("work", route, ["ask", END])
    return g.compile()


def _install_storage_hooks() -> None:
    from streamhil_server.storage.sqlite import SqliteStorage

    before, after = _countdown("commit_before"), _countdown("commit_after")
    apply, commit = SqliteStorage._apply, SqliteStorage._commit

    def apply_then_maybe_die(db: Any, write: Any) -> None:
        apply(db, write)
        before()  # inside the transaction: nothing of it is committed

    def commit_then_maybe_die(self: Any, batch: Any) -> Any:
        errors = commit(self, batch)
        after()  # committed; nobody was told yet
        return errors

    SqliteStorage._apply = staticmethod(apply_then_maybe_die)  # type: ignore[method-assign]
    SqliteStorage._commit = commit_then_maybe_die  # type: ignore[method-assign]
    if os.environ.get(MUTATE_ENV) == "two-writes":
        # What the loop finds when an answer is two transactions (checkpoint, then the server's
        # records), as before the storage interface: the harness must report it.
        from streamhil_server.runs import RunManager

        init = RunManager.__init__

        def two_writes(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            self.one_transaction = False

        RunManager.__init__ = two_writes  # type: ignore[method-assign]


if os.environ.get(PLAN_ENV) is not None:
    killable = _killable()
    _install_storage_hooks()


# --- the client side --------------------------------------------------------------------------


@dataclass
class ThreadBook:
    """What the clients were told about one thread."""

    thread_id: str
    acked_answers: list[str] = field(default_factory=list)
    acked_convs: list[int] = field(default_factory=list)
    next_conv: int = 0
    next_answer: int = 0
    stuck: bool = False  # found wedged: no longer driven


@dataclass
class Report:
    kills: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    acked_answers: int = 0
    acked_starts: int = 0
    lost_answers: int = 0
    doubled_answers: int = 0
    lost_inputs: int = 0
    wedged: int = 0
    duplicate_events: int = 0
    terminal_problems: int = 0
    seq_gaps: int = 0
    run_errors: int = 0
    runs: int = 0
    events: int = 0
    integrity: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost_answers or self.doubled_answers or self.lost_inputs or self.wedged or self.duplicate_events
            or self.terminal_problems or self.seq_gaps or self.run_errors
        ) and self.integrity == "ok"


class Lost(Exception):
    """The server went away."""


class Conn:
    """One raw protocol connection: commands by id, events by thread."""

    def __init__(self, ws: Any, on_frame: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting: dict[str, Any] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.changed = anyio.Event()
        self.on_frame = on_frame
        self.lost = False
        self.why = "closed"

    async def read(self) -> None:
        try:
            async for text in self.ws:
                frame = json.loads(text)
                self.on_frame()
                if frame.get("type") == "event":
                    self.events.setdefault(frame["thread_id"], []).append(frame)
                elif frame.get("id") in self.waiting:
                    self.waiting[frame["id"]] = frame
                self.changed.set()
                self.changed = anyio.Event()
        except Exception as exc:
            self.why = repr(exc)
        finally:
            self.lost = True
            self.changed.set()

    async def request(self, type: str, **fields: Any) -> dict[str, Any]:
        id = str(next(self.ids))
        self.waiting[id] = None
        try:
            await self.ws.send(json.dumps({"type": type, "id": id, **fields}))
        except Exception as exc:
            raise Lost() from exc
        while self.waiting[id] is None:
            if self.lost:
                raise Lost(self.why)
            await self.changed.wait()
        return self.waiting.pop(id)

    async def until_end(self, thread_id: str, run_id: str) -> dict[str, Any]:
        while True:
            for frame in self.events.get(thread_id, []):
                if frame["run_id"] == run_id and frame["event"] in TERMINAL:
                    return frame
            if self.lost:
                raise Lost(self.why)
            await self.changed.wait()


async def _open(port: int, on_frame: Any) -> Conn:
    from websockets.asyncio.client import connect

    ws = await connect(f"ws://127.0.0.1:{port}/ws", max_size=None, compression=None)
    conn = Conn(ws, on_frame)
    await ws.send(json.dumps({"type": "hello", "protocol_version": 1, "token": TOKEN}))
    welcome = json.loads(await ws.recv())
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"no welcome: {welcome}")
    return conn


async def _drive(conn: Conn, book: ThreadBook, report: Report) -> None:
    """Move one thread on until the connection is lost (or it is found wedged)."""
    while not book.stuck:
        listed = await conn.request("list_threads", limit=1000)
        info = next((t for t in listed["result"]["threads"] if t["thread_id"] == book.thread_id), None)
        if info is not None and info["status"] == "running":
            # from seq 0: its terminal event may be out already (a live subscription would miss it)
            sub = await conn.request("subscribe", thread_id=book.thread_id, after=0) if book.thread_id not in conn.events else None
            run_id = info["run_id"]
            await conn.until_end(book.thread_id, run_id)
            if sub is not None:
                await conn.request("unsubscribe", thread_id=book.thread_id)
                conn.events.pop(book.thread_id, None)
            continue
        if info is not None and info["interrupts"]:
            answer = f"{book.thread_id}/a{book.next_answer}"
            book.next_answer += 1
            reply = await conn.request(
                "resume", thread_id=book.thread_id, interrupt_id=info["interrupts"][0]["id"], value=answer,
                stream_modes=["updates", "custom"],
            )
            if reply["type"] != "reply":  # it lists the interrupt but refuses the answer: wedged
                report.wedged += 1
                report.problems.append(f"{book.thread_id}: lists {info['interrupts'][0]['id']} but resume says {reply.get('code')}")
                book.stuck = True
                return
            book.acked_answers.append(answer)
            report.acked_answers += 1
            await conn.until_end(book.thread_id, reply["result"]["run_id"])
            continue
        conv = book.next_conv
        book.next_conv += 1
        reply = await conn.request(
            "start_run", graph="killable", thread_id=book.thread_id, input={"conv": conv},
            stream_modes=["updates", "custom"],
        )
        if reply["type"] != "reply":  # idle with nothing pending, yet refuses a new run: wedged
            report.wedged += 1
            report.problems.append(f"{book.thread_id}: listed {info and info['status']} but start_run says {reply.get('code')}")
            book.stuck = True
            return
        book.acked_convs.append(conv)
        report.acked_starts += 1
        await conn.until_end(book.thread_id, reply["result"]["run_id"])


async def _start(db: Path, plan: str | None, port: int = 0) -> tuple[Process, int]:
    here = Path(__file__).resolve()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env[PLAN_ENV] = plan or ""
    process = await anyio.open_process(
        [sys.executable, "-m", "streamhil_server", f"{here}:killable", "--db", str(db), "--port", str(port),
         "--token", f"alice:{TOKEN}", "--log-level", "warning" if os.environ.get("KILL_LOOP_DEBUG") else "critical", "--event-flush-delay", "30"],
        env=env, stdout=subprocess.PIPE, stderr=None if os.environ.get("KILL_LOOP_DEBUG") else subprocess.DEVNULL,
    )
    assert process.stdout is not None
    text = ""
    with anyio.fail_after(60):
        async for chunk in TextReceiveStream(process.stdout):
            text += chunk
            if "\n" in text and "listening on http://" in text:
                break
        else:
            await process.wait()
            return process, 0  # died while starting (a kill during recovery)
    return process, int(text.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1])


async def _reap(process: Process) -> None:
    if process.returncode is None:
        process.kill()
    with anyio.fail_after(30):
        await process.wait()
    if process.stdout is not None:
        await process.stdout.aclose()


async def _round(db: Path, plan: str, books: list[ThreadBook], connections: int, report: Report) -> None:
    kind, _, n = plan.partition(":")
    frames = [0]
    process, port = await _start(db, None if kind == "client" else plan)
    try:
        if port == 0:
            return
        kill_at = int(n) if kind == "client" else 0

        def on_frame() -> None:
            frames[0] += 1
            if kill_at and frames[0] == kill_at and process.returncode is None:
                os.kill(process.pid, signal.SIGKILL)

        conns: list[Conn] = []
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(connections):
                    try:
                        conn = await _open(port, on_frame)
                    except Exception:  # it died while we said hello
                        with anyio.fail_after(10):
                            await process.wait()
                        break
                    conns.append(conn)
                    tg.start_soon(conn.read)
                if not conns:
                    return

                async def drive(conn: Conn, book: ThreadBook) -> None:
                    try:
                        await _drive(conn, book, report)
                    except Lost:
                        pass

                for i, book in enumerate(books):
                    tg.start_soon(drive, conns[i % len(conns)], book)
                await process.wait()  # the round ends when the server dies
                for conn in conns:
                    await conn.ws.close()
    except OSError:
        pass
    finally:
        await _reap(process)
        report.kills += 1
        report.kinds[kind] = report.kinds.get(kind, 0) + 1


async def _settle_and_check(db: Path, books: list[ThreadBook], report: Report) -> None:
    process, port = await _start(db, None)
    try:
        conn = await _open(port, lambda: None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn.read)
            with anyio.fail_after(120):
                for book in books:
                    await _final_check(conn, book, report)
            await conn.ws.close()
    finally:
        process.send_signal(signal.SIGTERM)
        with anyio.move_on_after(10):
            await process.wait()
        await _reap(process)
    with sqlite3.connect(db) as check:
        report.integrity = str(check.execute("PRAGMA integrity_check").fetchone()[0])


async def _wait_settled(conn: Conn, thread_id: str) -> dict[str, Any] | None:
    while True:
        listed = await conn.request("list_threads", limit=1000)
        info = next((t for t in listed["result"]["threads"] if t["thread_id"] == thread_id), None)
        if info is None or info["status"] != "running":
            return info
        if thread_id not in conn.events:
            await conn.request("subscribe", thread_id=thread_id, after=0)
        await conn.until_end(thread_id, info["run_id"])


async def _final_check(conn: Conn, book: ThreadBook, report: Report) -> None:
    tid = book.thread_id
    if book.stuck:
        return  # counted when it was found
    info = await _wait_settled(conn, tid)
    if info is None:
        if book.acked_convs:
            report.lost_inputs += len(book.acked_convs)
            report.problems.append(f"{tid}: acknowledged start_run but no thread")
        return
    state = (await conn.request("get_state", thread_id=tid))["result"]["state"]["values"]
    answers, convs = state.get("answers", []), state.get("convs", [])
    for answer in book.acked_answers:
        if answer not in answers:
            report.lost_answers += 1
            report.problems.append(f"{tid}: acknowledged answer {answer} is not in the state")
    report.doubled_answers += len(answers) - len(set(answers))
    for conv in book.acked_convs:
        if conv not in convs:
            report.lost_inputs += 1
            report.problems.append(f"{tid}: acknowledged start of conversation {conv} never ran")
    # not wedged: it takes what its status says it can take
    if info["interrupts"]:
        reply = await conn.request("resume", thread_id=tid, interrupt_id=info["interrupts"][0]["id"], value=f"{tid}/final")
        if reply["type"] != "reply":
            report.wedged += 1
            report.problems.append(f"{tid}: lists {info['interrupts'][0]['id']} but resume says {reply.get('code')}")
        else:
            await _wait_settled(conn, tid)
    elif info["status"] in ("idle", "interrupted", "error"):
        reply = await conn.request("start_run", graph="killable", thread_id=tid, input={"conv": 10_000})
        if reply["type"] != "reply":
            report.wedged += 1
            report.problems.append(f"{tid}: {info['status']} with nothing pending but start_run says {reply.get('code')}")
        else:
            await _wait_settled(conn, tid)
    await _check_log(conn, tid, report)


async def _check_log(conn: Conn, tid: str, report: Report) -> None:
    await conn.request("unsubscribe", thread_id=tid)  # not_subscribed if it was not: fine
    conn.events.pop(tid, None)
    sub = await conn.request("subscribe", thread_id=tid, after=0)
    if sub["type"] != "reply":
        raise RuntimeError(f"subscribe to {tid} refused: {sub}")
    head = sub["result"]["head_seq"]
    while len(conn.events.get(tid, [])) < head:
        await conn.changed.wait()
    log = conn.events.get(tid, [])[:head]
    await conn.request("unsubscribe", thread_id=tid)
    conn.events.pop(tid, None)
    report.events += len(log)
    if [e["seq"] for e in log] != list(range(1, head + 1)):
        report.seq_gaps += 1
        report.problems.append(f"{tid}: seqs are not 1..{head}")
    started: dict[str, int] = {}
    ended: dict[str, int] = {}
    seen: set[str] = set()
    for e in log:
        kind = e["event"]
        if kind == "run_started":
            started[e["run_id"]] = started.get(e["run_id"], 0) + 1
        elif kind in TERMINAL:
            ended[e["run_id"]] = ended.get(e["run_id"], 0) + 1
            if kind == "run_error":
                report.run_errors += 1
                report.problems.append(f"{tid}: run_error {e.get('data')}")
        if kind in ("updates", "custom"):
            key = kind + json.dumps(e["data"], sort_keys=True)
        elif kind == "interrupt":
            key = "interrupt" + ",".join(i["id"] for i in e["data"]["interrupts"])
        else:
            continue
        if key in seen:
            report.duplicate_events += 1
            report.problems.append(f"{tid}: event seq {e['seq']} repeats {key[:80]}")
        seen.add(key)
    report.runs += len(started)
    for run_id in set(started) | set(ended):
        if started.get(run_id) != 1 or ended.get(run_id) != 1:
            report.terminal_problems += 1
            report.problems.append(f"{tid}: run {run_id} has {started.get(run_id, 0)} run_started and {ended.get(run_id, 0)} terminal events")


async def kill_loop(workdir: Path, *, kills: int, seed: int, threads: int = 6, connections: int = 2) -> Report:
    """Run ``kills`` rounds (a kill each) and the final check; returns the figures."""
    rng = random.Random(seed)
    db = workdir / "kill.sqlite"
    books = [ThreadBook(f"kl-{seed}-{i}") for i in range(threads)]
    report = Report()
    began = time.monotonic()
    chosen = [f"{kind}:{n}" for kind in KINDS for n in (1, 2, 3)]  # every point early in a round
    for k in range(kills):
        if k < len(chosen):
            plan = chosen[k]
        else:
            kind = rng.choice(KINDS)
            plan = f"{kind}:{rng.randint(1, 40 if kind == 'client' else 12)}"
        await _round(db, plan, books, connections, report)
    await _settle_and_check(db, books, report)
    report.seconds = time.monotonic() - began
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--mutate", choices=["two-writes"], default=None,
                        help="break the server on purpose (an answer in two transactions) to see the loop catch it")
    args = parser.parse_args()
    if args.mutate:
        os.environ[MUTATE_ENV] = args.mutate
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = anyio.run(lambda: kill_loop(Path(tmp), kills=args.kills, seed=args.seed, threads=args.threads,
                                             connections=args.connections))
    for name in ("kills", "kinds", "acked_starts", "acked_answers", "runs", "events", "lost_answers",
                 "doubled_answers", "lost_inputs", "wedged", "duplicate_events", "terminal_problems", "seq_gaps",
                 "run_errors", "integrity", "seconds"):
        value = getattr(report, name)
        print(f"{name:18} {round(value, 1) if isinstance(value, float) else value}")
    for problem in report.problems[:50]:
        print("  problem:", problem)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
