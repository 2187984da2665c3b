"""Event-loop stalls with many idle connections beside active sessions (issue 8, item 7).

Starts ``streamhil-server`` (SQLite file in a temp dir) with ``ws_bench.py``'s ask-forever graph,
opens I idle connections (hello, then nothing but the WebSocket library's automatic pong), runs A
active sessions answering interrupts as fast as they can, and meanwhile sends a ``ping`` command
on a probe connection every 20 ms. The ping round trip measures how long the server's event loop
keeps a ready frame waiting; its p50/p99/max are reported, together with the active round trips.

    python bench/idle_stall.py                       # 1,000 idle + 100 active
    python bench/idle_stall.py --idle 2000 --active 100 --seconds 10
    python bench/idle_stall.py --server-path /path/to/old/checkout:/path/to/old/checkout/server   # before

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ws_bench  # noqa: E402
from ws_bench import _pct, _pythonpath, _start, _stop  # noqa: E402


async def _idle(url: str, count: int, stack: contextlib.AsyncExitStack) -> None:
    hello = orjson.dumps({"type": "hello", "protocol_version": 1, "token": "bench-token"}).decode()
    for _ in range(count):
        ws = await stack.enter_async_context(connect(url, compression=None))
        await ws.send(hello)
        await ws.recv()


async def _probe(url: str, until: float) -> list[float]:
    from streamhil_client import open_client

    times: list[float] = []
    async with open_client(url, token="bench-token") as client:
        while time.perf_counter() < until:
            start = time.perf_counter()
            await client.ping(None)
            times.append(time.perf_counter() - start)
            await anyio.sleep(0.02)  # the probe's own pace, not a wait for the server
    return times


async def _active(url: str, sessions: int, until: float) -> list[float]:
    from streamhil_client import open_client

    latencies: list[float] = []

    async def session(client: Any) -> None:
        run = await client.start_run("ask_forever", {}, stream_modes=["updates"])
        async for _ in run:
            pass
        while time.perf_counter() < until:
            start = time.perf_counter()
            await run.resume("ok", stream_modes=["updates"])
            async for _ in run:
                pass
            latencies.append(time.perf_counter() - start)

    async with open_client(url, token="bench-token") as client, anyio.create_task_group() as tg:
        for _ in range(sessions):
            tg.start_soon(session, client)
    return latencies


async def _main(args: argparse.Namespace) -> None:
    here = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "streamhil_server", f"{here.parent / 'ws_bench.py'}:ask_forever", "--port", "0",
                "--token", "bench:bench-token", "--log-level", "warning", "--db", str(Path(tmp) / "stall.sqlite")]
        server, port = await _start(argv, "listening on http://", env={"STREAMHIL_BENCH_SERVER": "1", "PYTHONPATH": _pythonpath(here)})
        url = f"ws://127.0.0.1:{port}/ws"
        try:
            async with contextlib.AsyncExitStack() as stack:
                await _idle(url, args.idle, stack)
                baseline = await _probe(url, time.perf_counter() + 2)
                until = time.perf_counter() + args.seconds
                results: dict[str, list[float]] = {}

                async def run(name: str, fn: Any, *a: Any) -> None:
                    results[name] = await fn(*a)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run, "active", _active, url, args.active, until)
                    tg.start_soon(run, "probe", _probe, url, until)
        finally:
            await _stop(server)
    ms = lambda xs, q: f"{_pct(xs, q):.1f}"  # noqa: E731 (_pct gives ms)
    print(f"{args.idle} idle connections, {args.active} active sessions, {args.seconds:g} s, SQLite")
    print(f"ping alone (idle only):  p50 {ms(baseline, 0.5)} ms  p99 {ms(baseline, 0.99)} ms  max {max(baseline) * 1000:.1f} ms")
    probe, active = results["probe"], results["active"]
    print(f"ping under load:         p50 {ms(probe, 0.5)} ms  p99 {ms(probe, 0.99)} ms  max {max(probe) * 1000:.1f} ms")
    print(f"active round trips:      {len(active) / args.seconds:.0f}/s  p50 {ms(active, 0.5)} ms  p99 {ms(active, 0.99)} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--active", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--server-path", default=None, help="PYTHONPATH for the server (another checkout, to compare)")
    args = parser.parse_args()
    ws_bench._SERVER_PATH = args.server_path
    anyio.run(_main, args)


if __name__ == "__main__":
    main()
