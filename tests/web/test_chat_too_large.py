"""An answer or a message larger than the server's max_frame_bytes (1 MiB) is refused at once
with a message saying so, and the text stays where it was typed (it used to wait 30 s for a
timeout and then claim the connection had dropped)."""

from __future__ import annotations

import time

import pytest

from .conftest import DemoServer
from .test_chat import open_chat, pending_cards, send, start

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

BIG = "é" * 600_000  # 600 000 characters, 1.2 MB of UTF-8


def test_an_answer_over_the_frame_limit_is_refused_at_once_and_kept(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "multi_turn", "hello")
    card = pending_cards(page)
    expect(card).to_have_count(1)
    started = time.monotonic()
    send(page, BIG)
    status = card.locator(".card-status")
    expect(status).to_contain_text("Too large to send", timeout=5_000)
    assert time.monotonic() - started < 5
    expect(status).to_contain_text("at most 1 MiB")
    expect(status).not_to_contain_text("connection dropped")
    assert page.locator("#composer-input").evaluate("el => el.value.length") == len(BIG)
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator("#banner")).to_be_hidden()

    send(page, "a short answer")  # the card can still be answered
    expect(page.locator(".card.interrupt.answered .card-status")).to_contain_text("Answered — a short answer")


def test_a_first_message_over_the_frame_limit_is_refused_at_once_and_kept(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    page.get_by_role("button", name="New conversation").click()
    page.select_option("#graph-select", "multi_turn")
    send(page, BIG)
    flash = page.locator("#composer-flash")
    expect(flash).to_contain_text("Too large to send", timeout=5_000)
    expect(flash).to_contain_text("at most 1 MiB")
    assert page.locator("#composer-input").evaluate("el => el.value.length") == len(BIG)
    expect(page.locator("#thread-sub")).not_to_contain_text("Thread t-")  # no thread was started
