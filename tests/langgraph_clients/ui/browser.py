"""What the browser drivers share: subprocesses announced by a line, a free port, and Chromium's
record of the requests a page sends to one origin (CORS preflights included)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    cmd: list[str], ready: re.Pattern[str], cwd: Path | None = None, env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], re.Match[str]]:
    """Start ``cmd`` and wait for a line matching ``ready``."""
    process = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env={**os.environ, **(env or {})})
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    while True:
        line = lines.get(timeout=120)
        if line is None:
            raise RuntimeError(f"{cmd[0]} exited:\n{''.join(seen)}")
        seen.append(line)
        found = ready.search(line)
        if found:
            return process, found


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class NetworkLog:
    """The requests Chromium sends to one origin (preflights too), from its DevTools protocol."""

    KEEP_HEADERS = ("content-type", "accept", "x-api-key", "last-event-id", "origin",
                    "access-control-request-method", "access-control-request-headers")

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[dict[str, Any]] = []
        self._extra: dict[str, dict[str, str]] = {}

    def attach(self, cdp: Any) -> None:
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestWillBeSentExtraInfo", self._extra_info)

    def _extra_info(self, params: dict[str, Any]) -> None:
        self._extra[params["requestId"]] = {k.lower(): v for k, v in params.get("headers", {}).items()}

    def _sent(self, params: dict[str, Any]) -> None:
        request = params["request"]
        if not request["url"].startswith(self.origin):
            return
        parts = urlsplit(request["url"])
        headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
        self.requests.append({
            "id": params["requestId"],
            "method": request["method"],
            "path": parts.path + (f"?{parts.query}" if parts.query else ""),
            "headers": headers,
            "body": request.get("postData"),
            "preflight": params.get("type") == "Preflight",
        })

    def finish(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.requests:
            headers = {**entry["headers"], **self._extra.get(entry["id"], {})}
            if entry["method"] == "OPTIONS":
                entry["preflight"] = True
            out.append({
                "method": entry["method"],
                "path": entry["path"],
                "headers": {k: v for k, v in headers.items() if k in self.KEEP_HEADERS},
                "body": json.loads(entry["body"]) if entry["body"] else None,
                "preflight": entry["preflight"],
            })
        return out
