"""A real ``streamhil-server --demo`` subprocess (plus the ``hold`` test graph) with two API keys
and one allowed browser origin, for the tests that drive it with LangGraph's own clients."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 30.0
KEY_ALICE = "key-alice"
KEY_BOB = "key-bob"
UI_ORIGIN = "http://chat-ui.example:3000"
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class LangGraphServer:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str]


def launch(db: Path | str, *extra: str, port: int = 0) -> LangGraphServer:
    """Start ``streamhil-server --demo`` (plus the ``hold`` and ``gate`` graphs) on ``port`` (0: a
    free one)."""
    cmd = [
        sys.executable, "-m", "streamhil_server", "--demo", f"hold={HERE / 'graphs.py'}:graph",
        f"gate={HERE / 'graphs.py'}:gate", "--db", str(db), "--port", str(port), "--log-level", "warning",
        "--demo-token-delay-ms", "0", *extra,
    ]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            process.kill()
            raise RuntimeError(f"the server did not start:\n{''.join(output)}") from None
        if line is None:
            raise RuntimeError(f"the server exited while starting:\n{''.join(output)}")
        found = _LISTENING.search(line)
        if found:
            return LangGraphServer(found.group(1), process, output)


def shut_down(server: LangGraphServer) -> None:
    process = server.process
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def lg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    server = launch(
        tmp_path_factory.mktemp("lg") / "server.sqlite",
        "--token", f"alice:{KEY_ALICE}", "--token", f"bob:{KEY_BOB}", "--allow-origin", UI_ORIGIN,
    )
    try:
        yield server
    finally:
        shut_down(server)
