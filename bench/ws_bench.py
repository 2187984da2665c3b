"""WebSocket HITL round trips: interrupt → resume → next interrupt, over real loopback sockets.

Starts ``streamhil-server`` (a subprocess, SQLite file in a temp dir) serving a graph that asks
forever, opens S concurrent sessions (one thread each, spread over C SDK connections), and has
every session answer R interrupts. A round trip is timed from sending ``resume`` to receiving the
``run_interrupted`` of the next question: validation, the durable record of the answer, the ack,
the run, its checkpoints and the event fan-out are all inside it. The floor is a bare
``websockets`` echo round trip with the same number of concurrent sessions.

    python bench/ws_bench.py                      # 100 and 1,000 sessions, < 3 minutes
    python bench/ws_bench.py --sessions 1 100 --store memory sqlite --rounds 20
    python bench/ws_bench.py --sessions 100 --store memory --profile prof.txt   # py-spy, server side
    python bench/ws_bench.py --sessions 100 --store memory --node async         # an async def node
    python bench/ws_bench.py --sessions 100 --server-arg=--cpu-affinity=auto    # the server on one CPU
    python bench/ws_bench.py --store sqlite postgres --postgres-url postgresql://u:p@127.0.0.1/db
    python bench/ws_bench.py --store sqlite postgres --processes 1 2 --forwarded   # PostgreSQL, 1 and 2 processes

Besides round trips per second and latency, it reports the server process's CPU time (user +
system, from /proc) spent during the load, per round trip: steadier than throughput on a
machine shared with other work. With ``--store postgres`` each row gets a fresh schema in the
``--postgres-url`` database (dropped afterwards), and the CPU time of the server's PostgreSQL
backends (found by their ``application_name``) is reported beside the server's own. With
``--processes 1 2`` each PostgreSQL row is run with one and with two server processes on the same
database, the SDK connections spread over them round-robin (a session stays on its connection's
process, which holds its thread's lease: the steady state behind a load balancer); server CPU is
the sum over processes. ``--forwarded`` adds rows where every answer is sent to a process that
does not run its thread (it is forwarded to the one that does: the worst case without sticky
sessions).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

# --- the graph the server runs (loaded by the server subprocess as ws_bench.py:ask_forever) ------


def _ask_forever() -> Any:
    from streamhil import START, StateGraph, interrupt

    class State(TypedDict, total=False):
        answers: int

    def ask(state: State) -> State:  # a plain def: it runs in a worker thread, as in LangGraph
        interrupt({"question": "next?", "n": state.get("answers", 0)})
        return {"answers": state.get("answers", 0) + 1}

    async def ask_async(state: State) -> State:  # --node async: runs on the event loop itself
        interrupt({"question": "next?", "n": state.get("answers", 0)})
        return {"answers": state.get("answers", 0) + 1}

    def route(state: State) -> str:
        return "ask"

    g = StateGraph(State)
    g.add_node("ask", ask_async if os.environ.get("STREAMHIL_BENCH_NODE") == "async" else ask)
    g.add_edge(START, "ask")
    g.add_conditional_edges("ask", route, ["ask"])
    return g.compile()


ask_forever = _ask_forever() if os.environ.get("STREAMHIL_BENCH_SERVER") else None


# --- processes -----------------------------------------------------------------------------------


async def _start(argv: list[str], marker: str, env: dict[str, str] | None = None) -> tuple[Process, int]:
    # Not in this checkout's folder: ``python -m`` puts the working directory first on the path,
    # which would load this checkout's packages instead of --server-path's.
    process = await anyio.open_process(
        argv, stdout=subprocess.PIPE, stderr=None, env={**os.environ, **(env or {})}, cwd=tempfile.gettempdir()
    )
    assert process.stdout is not None
    text = ""
    with anyio.fail_after(30):
        async for chunk in TextReceiveStream(process.stdout):
            text += chunk
            if marker in text and "\n" in text.split(marker, 1)[1]:
                break
    port = int(text.split(marker, 1)[1].split()[0].rsplit(":", 1)[1])
    return process, port


async def _stop(process: Process) -> None:
    if process.returncode is None:
        process.terminate()
    with anyio.move_on_after(10):
        await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


# --- the echo floor ------------------------------------------------------------------------------


async def _echo_server() -> None:
    from websockets.asyncio.server import serve

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"echo listening on ws://127.0.0.1:{port}", flush=True)
        await anyio.sleep_forever()


async def _echo_load(port: int, sessions: int, connections: int, rounds: int) -> tuple[list[float], float]:
    """Sessions multiplexed over ``connections`` sockets, replies matched by id (as the SDK does)."""
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    waiters: dict[str, anyio.Event] = {}

    async def reader(ws: Any) -> None:
        async for message in ws:
            waiters.pop(message.split('"id":"', 1)[1].split('"', 1)[0]).set()

    async def session(ws: Any, n: int) -> None:
        for r in range(rounds):
            id = f"{n}-{r}"
            done = waiters[id] = anyio.Event()
            start = time.perf_counter()
            await ws.send('{"type":"resume","id":"' + id + '","thread_id":"t-0000000000000000","value":"ok"}')
            await done.wait()
            latencies.append(time.perf_counter() - start)

    sockets = [await connect(f"ws://127.0.0.1:{port}", compression=None) for _ in range(connections)]
    async with anyio.create_task_group() as readers:
        for ws in sockets:
            readers.start_soon(reader, ws)
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(sessions):
                tg.start_soon(session, sockets[i % connections], i)
        elapsed = time.perf_counter() - started
        for ws in sockets:
            await ws.close()
    return latencies, elapsed


# --- the HITL load -------------------------------------------------------------------------------


async def _hitl_load(
    ports: list[int], sessions: int, connections: int, rounds: int, *, cross: bool = False
) -> tuple[list[float], float]:
    from streamhil_client import open_client

    latencies: list[float] = []

    async def session(client: Any, answerer: Any, ready: anyio.Event, go: anyio.Event) -> None:
        run = await client.start_run("ask_forever", {}, stream_modes=["updates"])
        async for _ in run:
            pass
        ready.set()
        await go.wait()
        for _ in range(rounds):
            start = time.perf_counter()
            if answerer is client:
                await run.resume("ok", stream_modes=["updates"])
                async for _ in run:
                    pass
            else:  # answered through another process than the one running the thread
                answer = await answerer.resume(run.thread_id, "ok", stream_modes=["updates"])
                async for _ in answer:
                    pass
            latencies.append(time.perf_counter() - start)

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(open_client(f"ws://127.0.0.1:{ports[i % len(ports)]}/ws", token="bench-token"))  # pings: the start phase of 1,000 sessions can outlast the server's 60 s idle limit
            for i in range(connections)
        ]
        readies = [anyio.Event() for _ in range(sessions)]
        go = anyio.Event()
        async with anyio.create_task_group() as tg:
            for i in range(sessions):
                client = clients[i % connections]
                tg.start_soon(session, client, clients[(i + 1) % connections] if cross else client, readies[i], go)
            for ready in readies:
                await ready.wait()
            started = time.perf_counter()
            go.set()
        elapsed = time.perf_counter() - started
    return latencies, elapsed


_SERVER_PATH: str | None = None


def _pythonpath(here: Path) -> str:
    """The bench folder (for the graph) before the server's own path (this checkout, or another)."""
    rest = _SERVER_PATH if _SERVER_PATH is not None else os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(here.parent), rest) if p)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_schema(url: str, schema: str) -> str:
    """Create ``schema`` and return ``url`` with it as the search path and an application name."""
    import psycopg
    from urllib.parse import quote

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}application_name={schema}&options={quote(f'-csearch_path={schema}', safe='')}"


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _db_cpu(url: str, schema: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the server (by application name)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (schema,))]
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[pid] = _cpu_seconds(pid)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _row(
    args: argparse.Namespace, here: Path, tmp: str, store: str, processes: int, sessions: int, cross: bool = False
) -> tuple[Any, ...]:
    argv = [sys.executable, "-m", "streamhil_server", f"{here}:ask_forever", "--port", "0",
            "--token", "bench:bench-token", "--log-level", "warning", *args.server_arg]
    schema = None
    if store == "sqlite":
        argv += ["--db", str(Path(tmp) / f"bench-{sessions}.sqlite")]
    elif store == "postgres":
        schema = f"bench_{os.getpid()}_{sessions}_{processes}"
        argv += ["--db", _postgres_schema(args.postgres_url, schema)]
    servers: list[tuple[Process, int]] = []
    try:
        for _ in range(processes):
            servers.append(await _start(
                argv, "listening on http://",
                env={"STREAMHIL_BENCH_SERVER": "1", "STREAMHIL_BENCH_NODE": args.node, "PYTHONPATH": _pythonpath(here)},
            ))
        conns = min(sessions, args.connections)
        profiler = None
        if args.profile:
            profiler = await anyio.open_process(
                ["py-spy", "record", "--pid", str(servers[0][0].pid), "--format", "raw", "--rate", "200",
                 "-o", f"{args.profile}.{store}.{sessions}", "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        cpu_before = sum(_cpu_seconds(proc.pid) for proc, _ in servers)
        db_before = _db_cpu(args.postgres_url, schema) if schema else {}
        lat, elapsed = await _hitl_load([port for _, port in servers], sessions, conns, args.rounds, cross=cross)
        cpu = sum(_cpu_seconds(proc.pid) for proc, _ in servers) - cpu_before
        db_after = _db_cpu(args.postgres_url, schema) if schema else {}
        db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
        if profiler is not None:
            profiler.send_signal(2)
            with anyio.move_on_after(20):
                await profiler.wait()
        name = f"streamhil {store}" + (f" x{processes}" if store == "postgres" else "") + (" forwarded" if cross else "")
        name += " (async node)" if args.node == "async" else ""
        name += "".join(f" {arg}" for arg in args.server_arg)  # e.g. --cpu-affinity=auto
        return (name, sessions, conns, len(lat), len(lat) / elapsed, _pct(lat, 0.5),
                _pct(lat, 0.99), cpu / len(lat) * 1000, db_cpu / len(lat) * 1000 if schema else None)
    finally:
        for proc, _ in servers:
            await _stop(proc)
        if schema:
            _drop_schema(args.postgres_url, schema)


async def _main(args: argparse.Namespace) -> None:
    here = Path(__file__).resolve()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        echo, echo_port = await _start([sys.executable, str(here), "--echo-server"], "echo listening on ")
        try:
            for sessions in [] if args.no_echo else args.sessions:
                conns = min(sessions, args.connections)
                lat, elapsed = await _echo_load(echo_port, sessions, conns, args.rounds)
                rows.append(("bare websockets echo", sessions, conns, len(lat), len(lat) / elapsed, _pct(lat, 0.5), _pct(lat, 0.99)))
        finally:
            await _stop(echo)
        for store in args.store:
            for processes in args.processes if store == "postgres" else [1]:
                for sessions in args.sessions:
                    rows.append(await _row(args, here, tmp, store, processes, sessions))
                    if processes > 1 and args.forwarded:
                        rows.append(await _row(args, here, tmp, store, processes, sessions, cross=True))
    print()
    print(f"{'workload':<28} {'sessions':>8} {'conns':>6} {'round trips':>11} {'rt/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/rt':>17} {'PG CPU ms/rt':>13}")
    for name, sessions, conns, n, rate, p50, p99, *cpu in rows:
        shown = f"{cpu[0]:>17.3f}" if cpu else f"{'':>17}"
        db = f"{cpu[1]:>13.3f}" if len(cpu) > 1 and cpu[1] is not None else f"{'':>13}"
        print(f"{name:<28} {sessions:>8} {conns:>6} {n:>11} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f} {shown} {db}")
    print(f"\n{os.cpu_count()} CPUs; server and load generator share them. SQLite in WAL mode.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3, help="answers per session")
    parser.add_argument("--connections", type=int, default=50, help="SDK connections the sessions share")
    parser.add_argument("--store", nargs="+", default=["sqlite"], choices=["memory", "sqlite", "postgres"])
    parser.add_argument("--processes", type=int, nargs="+", default=[1],
                        help="server processes on one database, for each PostgreSQL row (e.g. 1 2)")
    parser.add_argument("--forwarded", action="store_true",
                        help="with several processes, also a row where each answer goes to another process than "
                             "the one running its thread (forwarded to it)")
    parser.add_argument("--postgres-url", default=os.environ.get("STREAMHIL_TEST_POSTGRES_URL"),
                        help="database for --store postgres (default: $STREAMHIL_TEST_POSTGRES_URL)")
    parser.add_argument("--server-arg", action="append", default=[], help="extra streamhil-server argument (repeatable)")
    parser.add_argument("--server-path", default=None, help="PYTHONPATH for the server (another checkout, to compare)")
    parser.add_argument("--profile", default=None, metavar="PREFIX", help="py-spy raw profiles of the server, per row")
    parser.add_argument("--node", choices=["sync", "async"], default="sync",
                        help="the graph's node: a plain def (run in a worker thread, the default) or an async def")
    parser.add_argument("--no-echo", action="store_true", help="skip the echo floor")
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if "postgres" in args.store and not args.postgres_url:
        parser.error("--store postgres needs --postgres-url (or STREAMHIL_TEST_POSTGRES_URL)")
    if args.echo_server:
        anyio.run(_echo_server)
        return
    global _SERVER_PATH
    _SERVER_PATH = args.server_path
    anyio.run(_main, args)


if __name__ == "__main__":
    main()
