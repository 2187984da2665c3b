"""HITL round trips through LangGraph's own client (langgraph-sdk) over streamhil's HTTP+SSE API.

Starts ``streamhil-server`` (a subprocess, SQLite file in a temp dir) serving ws_bench's graph that
asks forever, opens S concurrent sessions (one thread each), and has every session answer R
interrupts with ``client.runs.stream(thread, graph, command={"resume": ...})``. A round trip is
one such request: the answer is validated and recorded, the run executes to the next interrupt,
and its SSE events come back. Reports round trips per second, p50/p99 latency, and the server
process's CPU time per round trip (steadier than wall time on a shared machine).

    python bench/langgraph_http_bench.py                  # 1 and 50 sessions
    python bench/langgraph_http_bench.py --sessions 20 --rounds 10

Needs ``langgraph-sdk`` (the ``test`` extra). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
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
        cpu0, wall0 = server_cpu(pid), time.perf_counter()
        await asyncio.gather(*(session(client, rounds, latencies) for _ in range(sessions)))
        cpu, wall = server_cpu(pid) - cpu0, time.perf_counter() - wall0
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "streamhil_server", f"ask={HERE / 'ws_bench.py'}:ask_forever",
               "--db", str(Path(tmp) / "bench.sqlite"), "--port", "0", "--log-level", "warning"]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "STREAMHIL_BENCH_SERVER": "1"})
        try:
            assert process.stdout is not None
            base = None
            for line in process.stdout:
                found = _LISTENING.search(line)
                if found:
                    base = found.group(1)
                    break
            if base is None:
                raise SystemExit("the server did not start")
            for sessions in args.sessions or [1, 50]:
                result = asyncio.run(measure(base, process.pid, sessions, args.rounds))
                print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()), flush=True)
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
