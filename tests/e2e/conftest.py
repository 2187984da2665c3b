"""A real uvicorn server on a loopback socket bound before it starts, driven by the Python SDK.

uvicorn and the SDK are asyncio-only, so these tests pin the asyncio backend.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import pytest
import uvicorn
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from streamhil_server import create_app

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
TIMEOUT = 20


async def start_server_process(args: list[str], env: dict[str, str] | None = None) -> tuple[Process, int]:
    """``streamhil-server *args`` as a real process (stdout piped); returns it and its port once
    it says it is listening."""
    process = await anyio.open_process(
        [sys.executable, "-m", "streamhil_server", *args],
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, stdout=subprocess.PIPE, stderr=None,
    )
    assert process.stdout is not None
    text = ""
    with anyio.fail_after(TIMEOUT):
        async for chunk in TextReceiveStream(process.stdout):
            text += chunk
            if "\n" in text and "listening on http://" in text:
                break
    return process, int(text.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fast_backoff() -> Iterator[float]:
    """Reconnect at once, then every 50 ms."""
    yield 0.0
    while True:
        yield 0.05


async def reap(processes: Iterable[Process]) -> None:
    """Wait (at most TIMEOUT) for server processes already told to stop, then close their pipes."""
    processes = list(processes)
    with anyio.move_on_after(TIMEOUT):
        for process in processes:
            await process.wait()
    for process in processes:
        if process.stdout is not None:
            await process.stdout.aclose()


async def open_clients(stack: AsyncExitStack, ports: Sequence[int], token: str) -> list[Any]:
    """One SDK client per server process (reconnecting fast), closed with ``stack``."""
    from streamhil_client import open_client

    return [
        await stack.enter_async_context(open_client(f"ws://127.0.0.1:{port}/ws", token=token, backoff=fast_backoff))
        for port in ports
    ]


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@asynccontextmanager
async def serve(graphs: Any, uvicorn_options: dict[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[tuple[str, Any]]:
    """Run ``create_app(graphs, **kwargs)`` with uvicorn; yields ``(ws_url, app)``."""
    kwargs.setdefault("tokens", TOKENS)
    started = anyio.Event()
    app = create_app(graphs, on_startup=started.set, **kwargs)
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning", ws_max_size=4 * 1048576,
                            timeout_graceful_shutdown=2, **(uvicorn_options or {}))
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            with anyio.fail_after(TIMEOUT):
                await started.wait()
            try:
                yield f"ws://127.0.0.1:{port}/ws", app
            finally:
                server.should_exit = True
    finally:
        sock.close()


@pytest.fixture
def server() -> Callable[..., Any]:
    return serve
