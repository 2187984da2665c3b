"""Drive a built Agent Chat UI (langchain-ai/agent-chat-ui) in headless Chromium against a real
``streamhil-server --demo``: three chats reach a tool review in the HITL-middleware shape and are
approved, edited and rejected in the UI. Saves screenshots and the exact requests the browser
sent to the server (CORS preflights included, read from Chromium's network log) as
``recorded.json``, which ``test_agent_chat_ui_replay.py`` replays in CI.

CI cannot fetch the UI's repository, so this runs by hand (steps in docs/langgraph-clients.md)::

    python tests/langgraph_clients/agent_chat_ui/drive.py /path/to/built/agent-chat-ui [--screenshots docs/img]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(cmd: list[str], ready: re.Pattern[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], re.Match[str]]:
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


def chat(page: Any, text: str, name: str, shots: Path | None) -> None:
    page.get_by_placeholder("Type your message...").fill(text)
    page.get_by_placeholder("Type your message...").press("Enter")
    page.get_by_text("book_hotel").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name=re.compile("^(Approve|Submit)$")).first.wait_for(timeout=TIMEOUT_MS)
    if shots is not None:
        page.screenshot(path=str(shots / f"agent-chat-ui-{name}-review.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ui", type=Path, help="a built agent-chat-ui checkout (next build done)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for the PNGs (e.g. docs/img)")
    parser.add_argument("--record", type=Path, default=HERE / "recorded.json")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    ui_port = free_port()
    ui_origin = f"http://127.0.0.1:{ui_port}"
    server, found = start(
        [sys.executable, "-m", "streamhil_server", "--demo", "--port", "0", "--allow-origin", ui_origin, "--log-level", "warning"],
        re.compile(r"listening on (http://\S+)"),
    )
    base = found.group(1)
    ui, _ = start(["npx", "-y", "pnpm@10.5.1", "exec", "next", "start", "-p", str(ui_port), "-H", "127.0.0.1"],
                  re.compile(r"Ready|started server"), cwd=args.ui, env={"NEXT_TELEMETRY_DISABLED": "1"})
    log = NetworkLog(base)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            expect.set_options(timeout=TIMEOUT_MS)
            log.attach(page.context.new_cdp_session(page))
            page.goto(ui_origin)
            page.fill("#apiUrl", base)
            page.fill("#assistantId", "tool_review_chat")
            if args.screenshots is not None:
                page.screenshot(path=str(args.screenshots / "agent-chat-ui-setup.png"))
            page.get_by_role("button", name="Continue").click()

            # 1. approve
            chat(page, "book the Ritz", "approve", args.screenshots)
            page.get_by_role("button", name="Approve").first.click()
            expect(page.get_by_text("All set. Anything else?").last).to_be_visible()
            expect(page.get_by_text("Successfully booked 1 night(s) at the Ritz.").first).to_be_attached()
            if args.screenshots is not None:
                page.screenshot(path=str(args.screenshots / "agent-chat-ui-approved.png"))

            # 2. edit (a new thread)
            page.goto(f"{ui_origin}/?apiUrl={base}&assistantId=tool_review_chat")
            chat(page, "book the Savoy", "edit", args.screenshots)
            field = page.locator("textarea").filter(has_text="the Savoy").first
            field.fill("the Savoy Grand")
            page.get_by_role("button", name="Submit", exact=True).first.click()
            expect(page.get_by_text("Successfully booked 1 night(s) at the Savoy Grand.").first).to_be_attached()
            expect(page.get_by_text("All set. Anything else?").last).to_be_visible()
            if args.screenshots is not None:
                page.screenshot(path=str(args.screenshots / "agent-chat-ui-edited.png"))

            # 3. reject with feedback (a new thread)
            page.goto(f"{ui_origin}/?apiUrl={base}&assistantId=tool_review_chat")
            chat(page, "book the Hilton", "reject", args.screenshots)
            page.get_by_placeholder("Share feedback with the agent...").fill("Too expensive, find another")
            page.get_by_role("button", name="Submit rejection").click()
            expect(page.get_by_text("All set. Anything else?").last).to_be_visible()
            if args.screenshots is not None:
                page.screenshot(path=str(args.screenshots / "agent-chat-ui-rejected.png"))
            browser.close()
    finally:
        stop(ui)
        stop(server)
    recorded = log.finish()
    args.record.write_text(json.dumps({"server": base, "ui_origin": ui_origin, "requests": recorded}, indent=1) + "\n")
    print(f"{len(recorded)} requests recorded in {args.record}")


if __name__ == "__main__":
    main()
