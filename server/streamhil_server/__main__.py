"""``streamhil-server``: serve graphs over WebSocket with uvicorn.

    streamhil-server --demo --db demo.sqlite
    streamhil-server app.py:graph review=other.py:graph2 --db streamhil.db --token alice:s3cret
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

from .affinity import parse_cpu_affinity, pin
from .cli_checks import check_db, check_flags, check_tokens
from .gc_tuning import DEFAULT_THRESHOLD, tune_garbage_collector
from .http_timeouts import descriptor_limit, stalling_protocol
from .registry import GraphLoadError, GraphRegistry, load_reference
from .settings import ServerSettings
from .workers import check_workers, supervise, tell_ready

__all__ = ["main", "build_parser"]


def _describe_store(db: str | None) -> str:
    """Where the server keeps its state, for the startup line (a URL without its password)."""
    if db is None:
        return "memory (nothing survives a restart; use --db)"
    if db.startswith(("postgresql://", "postgres://")):
        from streamhil.checkpoint._postgres_drivers import describe

        return f"PostgreSQL {describe(db)}"
    return f"SQLite file {db}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamhil-server",
        description="Serve streamhil graphs over one WebSocket per client (chat UI at /, dashboard at /dashboard).",
    )
    parser.add_argument("graphs", nargs="*", metavar="[NAME=]FILE.py:ATTR",
                        help="graphs to serve: 'app.py:graph', 'pkg.module:graph', or 'name=app.py:graph'")
    parser.add_argument("--demo", action="store_true", help="also serve the demo graphs (approve, tool_review, ...)")
    parser.add_argument("--demo-token-delay-ms", type=float, default=None, metavar="MS",
                        help="pause between the words the demo chat model streams (default: "
                             "$STREAMHIL_DEMO_TOKEN_DELAY_MS, else 60)")
    parser.add_argument("--db", metavar="PATH|URL",
                        help="where checkpoints and event logs are kept: a SQLite file, or a PostgreSQL URL "
                             "'postgresql://user@host:port/dbname' (the postgres extra); default: in memory")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one (default: 8000)")
    parser.add_argument("--token", action="append", default=[], metavar="[IDENTITY:]TOKEN",
                        help="accept this token (repeatable); without any, the server is open to everyone")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a browser origin allowed besides the server's own ('*' for any)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a Host name served besides loopback ones ('.example.com' for a domain, '*' for any); "
                             "a server without tokens answers only loopback names otherwise (DNS-rebinding defence)")
    parser.add_argument("--metrics-token", metavar="TOKEN", default=None,
                        help="bearer token /metrics asks for (without it /metrics is open on a server without "
                             "tokens and off on one with tokens)")
    parser.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                        help="comma-separated addresses of reverse proxies (or '*') whose X-Forwarded-For and "
                             "X-Forwarded-Proto are trusted for the client's address (default: $FORWARDED_ALLOW_IPS, "
                             "else 127.0.0.1); failed logins are counted per client address")
    parser.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="close an HTTP connection whose request (headers or body) stalls this long (default: 10)")
    parser.add_argument("--max-send-queue", type=int, default=None, metavar="N",
                        help="frames buffered per connection before a slow client is closed with 4008")
    parser.add_argument("--ws-compression", action="store_true",
                        help="offer permessage-deflate (off by default: frames are small and compressing "
                             "each one costs more CPU than it saves on a fast network)")
    parser.add_argument("--no-frame-batching", action="store_true",
                        help="send every frame as a WebSocket message of its own, also to clients that ask "
                             "for batches (by default frames waiting together go out as one message to them)")
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                        help="event loop: uvloop when installed (auto, the default), or plain asyncio")
    parser.add_argument("--event-flush-delay", type=float, default=None, metavar="SECONDS",
                        help="how long an event may wait to be stored with its step's checkpoint before it is "
                             "stored on its own (default 0.05)")
    parser.add_argument("--lease-ttl", type=float, default=None, metavar="SECONDS",
                        help="PostgreSQL with several processes: how long a process's lease on a thread lasts "
                             "unless renewed; a killed process's threads are taken over within about 4/3 of it "
                             "(default 6)")
    parser.add_argument("--agui-legacy-interrupts", action="store_true",
                        help="AG-UI runs that pause send CUSTOM on_interrupt events (CopilotKit v1-era apps) "
                             "instead of RUN_FINISHED's interrupt outcome")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="serve with N processes on one port (PostgreSQL --db only: each is a process of its "
                             "own on the database; restarted if it dies)")
    parser.add_argument("--cpu-affinity", default="none", metavar="none|auto|CPUS",
                        help="keep the process (each of --workers) on one CPU: auto takes them in turn from the "
                             "CPUs it may use, '0,2' or '0-3' names them (Linux; default none). Hand-offs between "
                             "the event loop and its threads stay on one CPU: faster, see docs/deploy.md")
    parser.add_argument("--gc-threshold", type=int, default=DEFAULT_THRESHOLD, metavar="N",
                        help="collect the youngest generation of garbage every N new objects "
                             f"(default: {DEFAULT_THRESHOLD}; Python's own is 700): fewer collections "
                             "that find nothing under load, see docs/server.md")
    parser.add_argument("--worker-fd", type=int, default=None, help=argparse.SUPPRESS)  # set by the supervisor
    parser.add_argument("--worker-slot", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-name", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser


_tokens = check_tokens  # the name the tests know


def _allowed_hosts(bind: str, names: Sequence[str]) -> tuple[str, ...] | None:
    """The ``--allow-host`` names, plus the bound address when it is a specific one."""
    allowed = list(names)
    if bind not in ("0.0.0.0", "::", "", "localhost") and bind not in allowed:
        allowed.append(bind)  # the address the user chose to serve on
    return tuple(allowed) or None


def _registry(args: argparse.Namespace) -> GraphRegistry:
    registry = GraphRegistry()
    try:
        if args.demo:
            from .demo_graphs import demo_graphs

            delay = None if args.demo_token_delay_ms is None else args.demo_token_delay_ms / 1000
            if delay is not None and not 0 <= delay <= 10:
                raise SystemExit("streamhil-server: --demo-token-delay-ms must be between 0 and 10000")
            for name, (graph, description) in demo_graphs(token_delay=delay).items():
                registry.add(name, graph, description)
        for ref in args.graphs:
            name, graph = load_reference(ref)
            registry.add(name, graph)
    except GraphLoadError as exc:
        raise SystemExit(f"streamhil-server: {exc}") from None
    if not len(registry):
        raise SystemExit("streamhil-server: no graphs to serve: name some (app.py:graph) or pass --demo")
    return registry


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only turns Nagle off (TCP_NODELAY) on accepted sockets
    # whose proto says TCP; with proto 0 every multi-frame burst waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"streamhil-server: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run(main: Any, loop: str) -> None:
    """Run the coroutine ``main`` on uvloop (``auto``: if installed) or plain asyncio.

    While it runs, this thread tells sniffio that asyncio runs here, as event loop runners are
    meant to (trio does the same): anyio asks which library runs at almost every call (a cancel
    scope, an event, a checkpoint), and sniffio would otherwise look for the current asyncio task
    each time.
    """
    try:
        import sniffio
    except ImportError:  # anyio then asks asyncio directly, which is cheap
        _run_loop(main, loop)
        return
    previous = sniffio.thread_local.name
    sniffio.thread_local.name = "asyncio"
    try:
        _run_loop(main, loop)
    finally:
        sniffio.thread_local.name = previous


def _run_loop(main: Any, loop: str) -> None:
    import asyncio

    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise SystemExit("streamhil-server: --loop uvloop needs uvloop: pip install 'streamhil[server]'") from None
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(main)
            return
    asyncio.run(main)


def _draining_server(uvicorn: Any, config: Any, runtime: Any) -> Any:
    """A uvicorn server whose graceful stop (SIGTERM, Ctrl-C) first stops accepting sockets, then
    lets every connection answer what it accepted and close with ``shutting_down`` + 4000
    (:meth:`Runtime.drain`), and only then lets uvicorn close what is left."""

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            for listening in self.servers:
                listening.close()  # no new connections while the others drain
            await runtime.drain(timeout=max(1.0, float(config.timeout_graceful_shutdown or 5) - 1))
            await super().shutdown(sockets)

    return DrainingServer(config)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until interrupted. A value the server cannot use is
    refused before anything starts, with one line on stderr and exit status 2 (as argparse)."""
    try:
        _main(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        if not isinstance(exc.code, str):
            raise
        print(exc.code, file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    check_flags(args)
    check_workers(args.workers, args.db)
    check_db(args.db)
    affinity = parse_cpu_affinity(args.cpu_affinity)
    if args.workers > 1 and args.worker_fd is None:
        sock = _bind(args.host, args.port)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"streamhil-server: {args.workers} worker processes on http://{shown}:{port} "
              f"(store: {_describe_store(args.db)})", flush=True)
        try:
            code = supervise(argv, sock, args.workers)
        finally:
            sock.close()
        raise SystemExit(code)
    cpu = pin(affinity, args.worker_slot)  # before any thread starts: threads inherit it
    import uvicorn

    from .app import create_app

    registry = _registry(args)
    settings = ServerSettings(
        allowed_origins=tuple(args.allow_origin),
        allowed_hosts=_allowed_hosts(args.host, args.allow_host),
        metrics_token=args.metrics_token,
        agui_legacy_interrupts=args.agui_legacy_interrupts,
        batch_frames=not args.no_frame_batching,
        **({"max_send_queue": args.max_send_queue} if args.max_send_queue is not None else {}),
        **({"event_flush_delay": args.event_flush_delay} if args.event_flush_delay is not None else {}),
        **({"lease_ttl": args.lease_ttl} if args.lease_ttl is not None else {}),
    )
    files = descriptor_limit()
    sock = _bind(args.host, args.port) if args.worker_fd is None else socket.socket(fileno=args.worker_fd)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"

    def announce() -> None:
        store = _describe_store(args.db)
        worker = "" if args.worker_name is None else f"worker {args.worker_name}, pid {os.getpid()}; "
        print(f"streamhil-server listening on {base} ({worker}graphs: {', '.join(registry.names())}; store: {store})",
              flush=True)
        print(f"  chat UI:    {base}/", flush=True)
        print(f"  dashboard:  {base}/dashboard", flush=True)
        print(f"  WebSocket:  ws://{shown}:{port}/ws", flush=True)
        print(f"  LangGraph:  {base} (langgraph_sdk.get_client(url=...); docs/langgraph-clients.md)", flush=True)
        print(f"  AG-UI:      {base}/agui/<graph>", flush=True)
        print(f"  limits:     {connections} connections (open-files limit {files}), "
              f"stalled requests closed after {args.request_timeout:g} s", flush=True)
        if cpu is not None:
            print(f"  cpu:        kept on CPU {cpu} (--cpu-affinity)", flush=True)
        if not args.token and settings.allowed_hosts is None and args.host in ("0.0.0.0", "::", ""):
            print("  note: without --token this server answers loopback host names only (DNS-rebinding "
                  "defence); name the others with --allow-host", flush=True)
        if args.worker_ready_fd is not None:
            tell_ready(args.worker_ready_fd)

    failures: list[BaseException] = []

    def stop_serving(exc: BaseException) -> None:
        """The runtime stopped by itself (a background worker failed): exit with status 1 rather
        than keep a process that refuses everything (a supervisor, or --workers, restarts it)."""
        failures.append(exc)
        print(f"streamhil-server: the server's runtime stopped ({_describe(exc)}); exiting", file=sys.stderr, flush=True)
        server.should_exit = True

    app = create_app(registry, db=args.db, tokens=_tokens(args.token), settings=settings, on_startup=announce,
                     on_failure=stop_serving)
    connections = max(16, files - 64)
    config: dict[str, Any] = {
        "log_level": args.log_level,
        "ws_max_size": settings.max_frame_bytes * 4,
        "ws_ping_interval": settings.heartbeat_interval_ms / 1000,
        "ws_ping_timeout": settings.heartbeat_interval_ms / 1000,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        "ws_per_message_deflate": args.ws_compression,
        "http": stalling_protocol(args.request_timeout),
        # Past this many connections uvicorn answers 503 instead of running out of descriptors
        # (the rest are kept for the database, its journal and the listening socket).
        "limit_concurrency": connections,
    }
    if args.forwarded_allow_ips is not None:  # (else uvicorn's default: $FORWARDED_ALLOW_IPS or 127.0.0.1)
        config["forwarded_allow_ips"] = args.forwarded_allow_ips
    server = _draining_server(uvicorn, uvicorn.Config(app, **config), app.state.runtime)
    logging.getLogger("uvicorn.error").addFilter(_QuietRefusal(app.state.runtime))
    tune_garbage_collector(args.gc_threshold)  # last: what is loaded by now lives as long as the process
    try:
        _run(server.serve(sockets=[sock]), args.loop)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
    except SystemExit:  # uvicorn's exit when the app failed to start
        refusal = _start_refusal(app.state.runtime.start_error)
        if refusal is None:
            raise
        raise SystemExit(refusal) from None
    finally:
        sock.close()
    if failures:
        raise SystemExit(1)


def _start_refusal(exc: BaseException | None) -> str | None:
    """The one line for a start the command line's checks could not foresee: another server
    took the SQLite file between the check and the start, a PostgreSQL schema this server
    cannot open (missing, migrated by a newer streamhil, not ours to create tables in), or a
    database that went away since the check (None: any other failure)."""
    from .storage import StorageLockedError

    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, StorageLockedError):
        return f"streamhil-server: {exc}"
    try:
        from .storage.postgres import DatabaseUnavailableError, SchemaError
    except ImportError:  # no psycopg: the storage is not PostgreSQL
        return None
    if isinstance(exc, (SchemaError, DatabaseUnavailableError)):
        return f"streamhil-server: --db: {exc}"
    return None


class _QuietRefusal(logging.Filter):
    """Drops uvicorn's errors (the traceback, "Application startup failed") of a start that
    :func:`_start_refusal` explains in one line of its own."""

    def __init__(self, runtime: Any) -> None:
        super().__init__()
        self.runtime = runtime

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR or _start_refusal(self.runtime.start_error) is None


def _describe(exc: BaseException) -> str:
    """The first real error inside ``exc`` (exception groups unwrapped), as ``Type: message``."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
