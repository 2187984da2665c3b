"""The chat UI in headless Chromium against a real demo server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import DemoServer, publish_screenshot, screenshot

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

def open_chat(context, server: DemoServer):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(server.base_url + "/")
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator("#graph-select option")).not_to_have_count(0)
    return page


def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#composer-input").fill(text)
    page.locator("#composer-input").press("Enter")


def start(page, graph: str, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#thread-sub")).not_to_contain_text("Thread")
    page.select_option("#graph-select", graph)
    send(page, text)
    expect(page.locator("#thread-sub")).to_contain_text("Thread t-")


def pending_cards(page):  # type: ignore[no-untyped-def]
    return page.locator(".card.interrupt:not(.answered)")


def test_full_chat_flow_answers_two_interrupts_through_the_ui(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "publish", '{"topic": "otters"}')

    # first interrupt: a card that names its node; answered by typing into the composer
    card = pending_cards(page)
    expect(card).to_have_count(1)
    expect(card.locator(".node-tag")).to_have_text("node review")
    expect(card.locator(".question")).to_have_text("Approve the draft?")
    expect(card).to_contain_text("Otters hold hands.")
    expect(page.locator("#thread-status .badge")).to_have_text("waiting")
    expect(page.locator("#composer-hint")).to_contain_text("answers node review")
    send(page, "yes")

    # the typed text answered the interrupt (no new run was started on top of it)
    expect(page.locator(".card.interrupt.answered")).to_have_count(1)
    expect(page.locator(".card.interrupt.answered .card-status")).to_have_text("Answered — approved")
    expect(page.locator(".step[data-node=review]")).to_contain_text("approved")

    # second interrupt: answered through the card's own controls
    card = pending_cards(page)
    expect(card).to_have_count(1)
    expect(card.locator(".node-tag")).to_have_text("node post")
    card.locator("textarea.answer-text").fill("blog")
    screenshot(page, "chat-interrupt")
    card.get_by_role("button", name="Send answer").click()

    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".step[data-node=post]")).to_contain_text("blog")
    expect(page.locator("#thread-status .badge")).to_have_text("idle")
    expect(pending_cards(page)).to_have_count(0)
    # the thread list shows the thread with its status
    thread_id = page.locator("#thread-sub").inner_text().removeprefix("Thread ")
    expect(page.locator(f'.thread-item[data-thread-id="{thread_id}"] .badge')).to_have_text("idle")


def test_tool_call_review_accept_and_edit(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "tool_review", "book the McKittrick and the Ritz")
    cards = pending_cards(page)
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".kind-tag")).to_have_text("Tool call")
    expect(cards.first.locator("code")).to_have_text("book_hotel")
    for name in ("Accept", "Edit", "Respond", "Ignore"):
        expect(cards.first.get_by_role("button", name=name, exact=True)).to_be_visible()
    screenshot(page, "chat-tool-review")
    publish_screenshot(screenshot(page, "chat"), "chat.png")

    cards.first.get_by_role("button", name="Accept", exact=True).click()
    expect(page.locator(".card.interrupt.answered")).to_have_count(1)
    remaining = pending_cards(page)
    expect(remaining).to_have_count(1)
    remaining.get_by_role("button", name="Edit", exact=True).click()
    remaining.locator("input[type=text]").first.fill("The Plaza")
    remaining.get_by_role("button", name="Save & run").click()

    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".bubble-tool")).to_have_count(2)
    expect(page.locator(".bubble-tool").last).to_contain_text("The Plaza")
    expect(page.locator(".bubble-assistant").last).to_contain_text("All set")
    # the assistant's words were streamed token by token, then settled into one bubble each
    expect(page.locator(".bubble.streaming")).to_have_count(0)
    expect(page.locator(".bubble-assistant")).to_have_count(2)
    kinds = page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('streamhil.chat.log.' + location.hash.split('=')[1])).events.map(e => e.event)"
    )
    assert kinds.count("messages") > 2


def test_an_interrupt_inside_a_subgraph_names_its_node_and_subgraph(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "subgraph", '{"item": "a teapot"}')
    card = pending_cards(page)
    expect(card.locator(".node-tag")).to_have_text("node ask_address in subgraph shipping")
    expect(card.locator(".question")).to_have_text("Where should we ship a teapot?")
    send(page, "  12 harbour road ")
    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".step[data-node=confirm]")).to_contain_text("a teapot ships to 12 Harbour Road")


def test_two_parallel_interrupts_answered_one_at_a_time(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "parallel", '{"doc": "contract.pdf"}')
    cards = pending_cards(page)
    expect(cards).to_have_count(2)
    expect(page.locator('.card.interrupt[data-node="legal"] .node-tag')).to_have_text("node legal")
    expect(page.locator('.card.interrupt[data-node="finance"] .node-tag')).to_have_text("node finance")
    expect(page.locator("#composer-hint")).to_contain_text("1 of 2")

    legal = page.locator('.card.interrupt[data-node="legal"]')
    legal.locator("textarea.answer-text").fill("signed")
    legal.get_by_role("button", name="Send answer").click()
    expect(legal.locator(".card-status")).to_have_text("Answered — signed")

    # the partial resume ran legal; finance still waits, with the same card
    expect(page.locator(".step[data-node=legal]")).to_contain_text("signed")
    expect(pending_cards(page)).to_have_count(1)
    expect(page.locator("#thread-status .badge")).to_have_text("waiting")
    finance = page.locator('.card.interrupt[data-node="finance"]')
    expect(finance).not_to_have_class("answered")
    finance.locator("textarea.answer-text").fill("approved: 10k")
    finance.get_by_role("button", name="Send answer").click()

    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".step[data-node=merge]")).to_contain_text("legal=signed; finance=approved: 10k")


def test_interrupt_text_is_shown_as_text_never_as_html(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    attack = "<img src=x onerror=\"window.__pwned=1\"><b>bold</b>"
    start(page, "publish", '{"topic": %s}' % _json(attack))
    card = pending_cards(page)
    expect(card).to_have_count(1)
    expect(card.locator(".details dd")).to_have_text(attack + " hold hands.", use_inner_text=True)
    card.locator("details.raw summary").click()
    card.locator("textarea.json-input").fill("false")  # reject: the run ends without posting
    card.get_by_role("button", name="Send JSON").click()
    expect(page.locator(".divider.done")).to_be_visible()
    # the same value in the validation loop's question, shown in a card heading
    start(page, "validation", "{}")
    expect(pending_cards(page).locator(".question")).to_have_text("What is your age?")  # answer what was asked
    send(page, attack)
    refused = pending_cards(page).locator(".card-body > .card-error")  # asked again, saying what was wrong
    expect(refused).to_contain_text(attack)
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.__pwned") is None
    send(page, "42")
    expect(page.locator(".step[data-node=get_age]")).to_contain_text("42")


def test_reload_and_server_restart_recover_and_the_conversation_finishes(context, tmp_path: Path) -> None:
    server = DemoServer(tmp_path / "restart.sqlite")
    server.start()
    try:
        page = open_chat(context, server)
        start(page, "publish", '{"topic": "seals"}')
        expect(pending_cards(page)).to_have_count(1)
        send(page, "yes")
        expect(pending_cards(page).locator(".node-tag")).to_have_text("node post")

        # a reload shows the same conversation (cached events + replay from the stored cursor)
        page.reload()
        expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(page.locator(".card.interrupt.answered")).to_have_count(1)
        expect(pending_cards(page).locator(".node-tag")).to_have_text("node post")

        # the server goes away: the page says so, and recovers when it is back
        server.stop()
        expect(page.locator("#banner")).to_contain_text("Connection lost")
        expect(page.locator(".live-dot")).to_have_attribute("data-state", "reconnecting")
        screenshot(page, "chat-reconnecting")
        server.start()
        expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(page.locator("#banner")).to_contain_text("Reconnected")

        card = pending_cards(page)
        expect(card.locator(".node-tag")).to_have_text("node post")
        send(page, "newsletter")
        expect(page.locator(".divider.done")).to_be_visible()
        expect(page.locator(".step[data-node=post]")).to_contain_text("newsletter")
    finally:
        server.stop()


def test_phone_width_has_no_horizontal_scroll_and_the_threads_open_from_a_button(chromium, demo_server: DemoServer) -> None:
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(demo_server.base_url + "/")
        expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(page.locator("#sidebar")).to_be_hidden()
        page.locator("#sidebar-toggle").click()
        expect(page.locator("#graph-select")).to_be_visible()
        page.select_option("#graph-select", "approve")
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator("#sidebar")).to_be_hidden()
        send(page, '{"request": "a broken kettle"}')
        card = pending_cards(page)
        expect(card.get_by_role("button", name="approve")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "chat-phone")
        card.get_by_role("button", name="approve").click()
        expect(page.locator(".divider.done")).to_be_visible()
    finally:
        ctx.close()


def test_keyboard_only_answer_with_visible_focus(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "approve", '{"request": "late delivery"}')
    card = page.locator(".card.interrupt[data-node=human_approval]")
    expect(card).to_have_count(1)
    button = card.get_by_role("button", name="approve")
    button.focus()
    page.keyboard.press("Shift+Tab")  # move away and back with the keyboard, as a person would
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert outline and outline != "none", "focused buttons must show a focus ring"
    page.keyboard.press("Enter")
    expect(card.locator(".card-status")).to_have_text("Answered — approve")
    expect(page.locator("#composer-input")).to_be_focused()  # not <body>: nothing else is asked
    expect(page.locator(".divider.done")).to_be_visible()


def test_after_a_keyboard_answer_the_focus_moves_to_the_next_question(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "parallel", "an NDA")  # two questions at once
    cards = pending_cards(page)
    expect(cards).to_have_count(2)
    first, second = page.locator(".card.interrupt").nth(0), page.locator(".card.interrupt").nth(1)
    first.locator("textarea.answer-text").fill("legal ok")
    first.get_by_role("button", name="Send answer").focus()
    page.keyboard.press("Enter")
    expect(first).to_have_class(re.compile(r"\banswered\b"))
    expect(second.locator("textarea.answer-text")).to_be_focused()
    page.keyboard.type("finance ok")
    page.keyboard.press("Enter")  # Enter in the card's box sends it
    expect(second).to_have_class(re.compile(r"\banswered\b"))
    expect(page.locator("#composer-input")).to_be_focused()


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def test_time_travel_forks_from_an_earlier_checkpoint_with_edited_state(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "publish", '{"topic": "otters"}')
    expect(pending_cards(page).locator(".question")).to_have_text("Approve the draft?")  # answer what was asked
    send(page, "yes")
    expect(pending_cards(page).locator(".question")).to_have_text("Which channel?")
    send(page, "blog")
    expect(page.locator(".divider.done")).to_be_visible()

    page.get_by_role("button", name="History").click()
    history = page.locator("#history")
    expect(history.locator(".checkpoint")).not_to_have_count(0)
    # the checkpoint after `draft`, before `review` asked its question
    before_review = history.locator(".checkpoint", has_text="next: review").last
    before_review.get_by_role("button", name="Fork from here").click()
    draft = before_review.locator("textarea").first
    expect(draft).to_have_value(re.compile("Otters hold hands"))
    draft.fill('{"text": "Edited by a human."}')
    screenshot(page, "chat-time-travel")
    before_review.get_by_role("button", name="Fork & run").click()

    expect(history).to_be_hidden()
    expect(page.locator(".note-info", has_text="State edited")).to_be_visible()
    card = pending_cards(page)
    expect(card.locator(".question")).to_have_text("Approve the draft?")
    expect(card).to_contain_text("Edited by a human.")
    send(page, "yes")
    expect(pending_cards(page).locator(".question")).to_have_text("Which channel?")
    send(page, "blog")
    expect(pending_cards(page)).to_have_count(0)


def test_typing_before_the_question_arrives_is_refused_and_kept_until_it_is_asked(context, demo_server: DemoServer) -> None:
    """Between the start_run reply and the run's first events the thread is busy: a message typed
    then is refused as "still running" (never sent as a new run's input), stays in the box, and
    answers the question once it is shown. The run's event frames are held back to open that gap."""
    page = context.new_page()
    held: list[str] = []
    holding = [True]
    routes: list[object] = []

    def route(ws) -> None:  # type: ignore[no-untyped-def]
        server = ws.connect_to_server()
        routes.append(ws)
        ws.on_message(server.send)

        def from_server(message: str | bytes) -> None:
            # A batched message (a JSON array of frames) is split: its events held, the rest sent.
            batched = isinstance(message, str) and message.startswith("[")
            frames = [json.dumps(f, separators=(",", ":")) for f in json.loads(message)] if batched else [message]
            for frame in frames:
                if holding[0] and isinstance(frame, str) and frame.startswith('{"type":"event"'):
                    held.append(frame)
                else:
                    ws.send(frame)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r".*/ws$"), route)
    page.goto(demo_server.base_url + "/")
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator("#graph-select option")).not_to_have_count(0)
    start(page, "publish", '{"topic": "newts"}')

    send(page, "yes")  # the run was accepted; its events have not arrived
    expect(page.locator("#composer-flash")).to_contain_text("still running")
    expect(page.locator("#thread-status .badge")).to_have_text("running")
    expect(page.locator("#composer-input")).to_have_value("yes")

    while held:  # release in order; frames arriving meanwhile are held behind them
        routes[0].send(held.pop(0))  # type: ignore[attr-defined]
    holding[0] = False
    card = pending_cards(page)
    expect(card.locator(".question")).to_have_text("Approve the draft?")
    expect(card).to_contain_text("Newts hold hands.")
    page.locator("#composer-input").press("Enter")
    expect(pending_cards(page).locator(".question")).to_have_text("Which channel?")
    send(page, "blog")
    expect(page.locator(".divider.done")).to_be_visible()


def test_a_reply_cut_by_a_server_crash_is_closed_and_the_rerun_is_a_continuation(context, tmp_path: Path) -> None:
    server = DemoServer(tmp_path / "crash.sqlite", "--demo-token-delay-ms", "150")
    server.start()
    try:
        page = open_chat(context, server)
        start(page, "tool_review", "book the Ritz and the Savoy")
        expect(page.locator(".bubble.streaming .bubble-text")).to_have_text(re.compile(r"\S+ \S+"))  # mid-reply
        server.kill()
        expect(page.locator("#banner")).to_contain_text("Connection lost")
        server.start()
        expect(pending_cards(page)).to_have_count(2)  # the re-run asked again
        for view in (page, context.new_page()):
            if view is not page:
                view.goto(page.url)  # a fresh tab replays the same log
                expect(pending_cards(view)).to_have_count(2)
            expect(view.locator(".bubble.streaming")).to_have_count(0)  # nothing looks live any more
            cut = view.locator(".bubble.cut")
            expect(cut).to_have_count(1)
            expect(cut).to_contain_text("Cut off: the server stopped.")
            expect(view.locator(".bubble-assistant:not(.cut)")).to_contain_text("Booking the Ritz, the Savoy: please review.")
            dividers = view.locator("#transcript .divider")
            expect(dividers.last).to_contain_text("Continued after a server restart")
            expect(view.locator("#transcript .divider", has_text="Resumed")).to_have_count(0)  # nobody answered
    finally:
        server.stop()


def test_a_question_a_fork_left_behind_reads_discarded_not_answered(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "publish", '{"topic": "puffins"}')
    expect(pending_cards(page).locator(".question")).to_have_text("Approve the draft?")
    page.get_by_role("button", name="History").click()  # fork while the question waits
    oldest = page.locator("#history .checkpoint").last
    oldest.get_by_role("button", name="Fork from here").click()
    oldest.get_by_role("button", name="Fork & run").click()
    first = page.locator(".card.interrupt").first
    for view in (page, None):
        if view is None:
            page.reload()
            expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(first).to_have_class(re.compile(r"\bdiscarded\b"))
        expect(first.locator(".card-status")).to_have_text("Discarded — the thread went back to an earlier checkpoint")
        expect(page.locator(".card.interrupt.elsewhere")).to_have_count(0)
        expect(pending_cards(page)).to_have_count(1)  # the fork's own question
