"""Fixtures for the browser tests: a real ``streamhil-server --demo`` in a subprocess, and Debian's
headless Chromium driven by playwright.

The server is started with ``--port 0`` and the test waits for the line in which it announces its
address, so nothing polls or sleeps; it can be stopped and started again on the same port and the
same SQLite file, which is how the restart test works.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on (http://\S+)")


class DemoServer:
    """``streamhil-server --demo`` as a subprocess that can be stopped and started again."""

    def __init__(self, db: Path, *args: str) -> None:
        self.db = db
        self.args = list(args)  # more command-line flags (e.g. --token)
        self.port = 0
        self.base_url = ""
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError("the server is already running; stop() it first")
        cmd = [sys.executable, "-m", "streamhil_server", "--demo", "--db", str(self.db),
               "--port", str(self.port), "--log-level", "warning", *self.args]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process, lines), daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"the server did not announce itself within {START_TIMEOUT} s:\n{''.join(self.output)}") from None
            if line is None:
                self.process = None
                raise RuntimeError(f"the server exited while starting:\n{''.join(self.output)}")
            found = _LISTENING.search(line)
            if found:
                self.base_url = found.group(1)
                self.port = int(self.base_url.rsplit(":", 1)[1])
                return

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL): no shutdown, as when the machine dies."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path_factory.mktemp("server") / "demo.sqlite")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A demo server that wants a token: ``alice`` with ``s3cret``."""
    server = DemoServer(tmp_path_factory.mktemp("token-server") / "demo.sqlite", "--token", "alice:s3cret")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Chromium under playwright's sync API, per module: while it runs, its event loop is the
    thread's running loop, so async tests collected after the browser tests could not start
    theirs if it lived for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: object) -> Iterator[object]:
    """A fresh browser context (own sessionStorage); page errors fail the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    ctx = chromium.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    ctx.errors = errors
    try:
        yield ctx
    finally:
        ctx.close()
    assert not errors, f"errors in the page: {errors}"


def screenshot(page: object, name: str) -> Path:
    """Save a PNG under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    return path


DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def publish_screenshot(path: Path, name: str) -> None:
    """Copy a screenshot into docs/img/ when STREAMHIL_UPDATE_DOCS_IMG=1 (keeps the tree clean otherwise)."""
    if os.environ.get("STREAMHIL_UPDATE_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / name)


def node_available() -> str | None:
    return shutil.which("node")
