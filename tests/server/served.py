"""``python -m streamhil_server`` in a subprocess, for what only the real command line shows
(uvicorn's log, its proxy headers): started on a free port, stopped with SIGINT, its output kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class Served:
    """A running server: its ``base`` URL; ``log`` holds its whole output once it stopped."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.log = ""


@contextmanager
def served(db: Path, *args: str) -> Iterator[Served]:
    cmd = [sys.executable, "-m", "streamhil_server", "--demo", "--db", str(db), "--port", "0", *args]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:  # until it says where it listens
            lines.append(line)
            if "listening on http://" in line:
                server = Served(line.split("listening on ")[1].split()[0])
                break
        else:
            pytest.fail("the server did not start:\n" + "".join(lines))
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    server.log = "".join(lines) + rest
