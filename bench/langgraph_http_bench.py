"""HITL round trips through LangGraph's own client (langgraph-sdk) over streamhil's HTTP+SSE API.

Starts ``streamhil-server`` (a subprocess, SQLite file in a temp dir) serving ws_bench's graph that
asks forever, opens S concurrent sessions (one thread each), and has every session answer R
interrupts with ``client.runs.stream(thread, graph, command={"resume": ...})``. A round trip is
one such request: the answer is validated and recorded, the run executes to the next interrupt,
and its SSE events come back. Reports round trips per second, p50/p99 latency, and the server
process's CPU time per round trip (steadier than wall time on a shared machine).

    python bench/langgraph_http_bench.py                  # 1 and 50 sessions
    python bench/langgraph_http_bench.py --sessions 20 --rounds 10

Side by side with LangGraph's own Agent Server (``langgraph dev``, in-memory runtime), in the same
run, same client, same graph (written for langgraph), same sessions:

    python -m venv /tmp/lgenv && /tmp/lgenv/bin/pip install "langgraph-cli[inmem]"
    python bench/langgraph_http_bench.py --sessions 1 100 --rounds 5 --langgraph-cli /tmp/lgenv/bin/langgraph

(its own environment: ``langgraph-api`` pins its own langgraph). ``--jobs N`` passes
``--n-jobs-per-worker`` to it (its default is 10 runs at once).

Needs ``langgraph-sdk`` (the ``test`` extra). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
_LISTENING = re.compile(r"listening on (http://\S+)")


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def session(client: object, rounds: int, latencies: list[float]) -> None:
    thread = await client.threads.create()  # type: ignore[attr-defined]
    tid = thread["thread_id"]
    async for _ in client.runs.stream(tid, "ask", input={}, stream_mode="updates"):  # type: ignore[attr-defined]
        pass
    for n in range(rounds):
        began = time.perf_counter()
        seen = False
        async for part in client.runs.stream(tid, "ask", command={"resume": n}, stream_mode="updates"):  # type: ignore[attr-defined]
            seen = seen or (part.event == "updates" and "__interrupt__" in part.data)
        latencies.append(time.perf_counter() - began)
        if not seen:
            raise AssertionError("the next question did not come back")


async def measure(base: str, pid: int, sessions: int, rounds: int) -> dict[str, float]:
    from langgraph_sdk import get_client

    latencies: list[float] = []
    async with get_client(url=base, api_key=None) as client:
        await session(client, 1, [])  # warm-up
        cpu0, wall0 = process_tree_cpu(pid), time.perf_counter()
        await asyncio.gather(*(session(client, rounds, latencies) for _ in range(sessions)))
        cpu, wall = process_tree_cpu(pid) - cpu0, time.perf_counter() - wall0
    latencies.sort()
    count = len(latencies)
    return {
        "sessions": sessions,
        "round_trips": count,
        "per_second": count / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))],
        "server_cpu_ms_per_round_trip": 1000 * cpu / count,  # includes each session's start run
    }


_LANGGRAPH_GRAPH = """\
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    answers: int


def ask(state: State) -> State:
    interrupt({"question": "next?", "n": state.get("answers", 0)})
    return {"answers": state.get("answers", 0) + 1}


g = StateGraph(State)
g.add_node("ask", ask)
g.add_edge(START, "ask")
g.add_conditional_edges("ask", lambda state: "ask", ["ask"])
graph = g.compile()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_streamhil(tmp: str, store: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "streamhil_server", f"ask={HERE / 'ws_bench.py'}:ask_forever",
           "--port", "0", "--log-level", "warning"]
    if store == "sqlite":
        cmd += ["--db", str(Path(tmp) / "bench.sqlite")]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "STREAMHIL_BENCH_SERVER": "1"})
    assert process.stdout is not None
    for line in process.stdout:
        found = _LISTENING.search(line)
        if found:
            return process, found.group(1)
    raise SystemExit("streamhil-server did not start")


def start_langgraph(tmp: str, cli: str, jobs: int | None) -> tuple[subprocess.Popen[str], str]:
    """``langgraph dev`` (in-memory runtime) serving the same graph, written for langgraph."""
    project = Path(tmp) / "lg"
    project.mkdir()
    (project / "graph.py").write_text(_LANGGRAPH_GRAPH)
    (project / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"ask": "./graph.py:graph"}}))
    port = free_port()
    cmd = [cli, "dev", "--no-browser", "--no-reload", "--port", str(port), "--server-log-level", "warning"]
    if jobs is not None:
        cmd += ["--n-jobs-per-worker", str(jobs)]
    process = subprocess.Popen(cmd, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                               env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"langgraph dev exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/ok", timeout=2) as reply:
                if reply.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.5)  # polling a subprocess's readiness, not a race in the measured code
    raise SystemExit("langgraph dev did not answer /ok within 120 s")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (``langgraph dev`` serves from a child process)."""
    total = server_cpu(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            with contextlib.suppress(OSError):
                total += process_tree_cpu(int(child))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--store", choices=["memory", "sqlite"], nargs="+", default=["sqlite"])
    parser.add_argument("--langgraph-cli", default=None, metavar="PATH",
                        help="the langgraph executable of an environment with langgraph-cli[inmem]")
    parser.add_argument("--jobs", type=int, default=None, help="langgraph dev --n-jobs-per-worker")
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = [(f"streamhil {store}", lambda store=store: start_streamhil(tmp, store)) for store in args.store]
        if args.langgraph_cli:
            servers.append(("langgraph dev (inmem)", lambda: start_langgraph(tmp, args.langgraph_cli, args.jobs)))
        for name, start in servers:
            process, base = start()
            try:
                for sessions in args.sessions:
                    result = asyncio.run(measure(base, process.pid, sessions, args.rounds))
                    rows.append((name, result))
                    print(name, "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()), flush=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
    print()
    print(f"{'server':24} {'sessions':>8} {'round trips':>11} {'rt/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'server CPU ms/rt':>17}")
    for name, r in rows:
        print(f"{name:24} {r['sessions']:>8} {r['round_trips']:>11} {r['per_second']:>8.0f} {r['p50_ms']:>9.1f}"
              f" {r['p99_ms']:>9.1f} {r['server_cpu_ms_per_round_trip']:>17.2f}")
    print("\n2 CPUs; server and clients share them. Server CPU includes child processes.")


if __name__ == "__main__":
    main()
