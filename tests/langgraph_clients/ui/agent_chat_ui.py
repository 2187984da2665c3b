"""Drive a built Agent Chat UI (langchain-ai/agent-chat-ui) in headless Chromium against a real
``streamhil-server --demo``: three chats reach a tool review in the HITL-middleware shape and are
approved, edited and rejected in the UI. Saves screenshots and the exact requests the browser
sent to the server (CORS preflights included, read from Chromium's network log) as
``agent_chat_ui.recorded.json``, which ``test_agent_chat_ui_replay.py`` replays in CI.

CI cannot fetch the UI's repository, so this runs by hand (steps in docs/langgraph-clients.md)::

    python tests/langgraph_clients/ui/agent_chat_ui.py /path/to/built/agent-chat-ui [--screenshots docs/img]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from browser import ARGS, CHROMIUM, TIMEOUT_MS, NetworkLog, free_port, start, stop

HERE = Path(__file__).resolve().parent


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
    parser.add_argument("--record", type=Path, default=HERE / "agent_chat_ui.recorded.json")
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
