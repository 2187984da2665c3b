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


@pytest.fixture(scope="session")
def lg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    db = tmp_path_factory.mktemp("lg") / "server.sqlite"
    cmd = [
        sys.executable, "-m", "streamhil_server", "--demo", f"hold={HERE / 'graphs.py'}:graph",
        "--db", str(db), "--port", "0", "--log-level", "warning",
        "--token", f"alice:{KEY_ALICE}", "--token", f"bob:{KEY_BOB}", "--allow-origin", UI_ORIGIN,
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
    base = None
    while base is None:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            process.kill()
            raise RuntimeError(f"the server did not start:\n{''.join(output)}") from None
        if line is None:
            raise RuntimeError(f"the server exited while starting:\n{''.join(output)}")
        found = _LISTENING.search(line)
        if found:
            base = found.group(1)
    try:
        yield LangGraphServer(base, process, output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
