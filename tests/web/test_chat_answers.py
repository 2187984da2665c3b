"""Answers in the chat mean what the person means (issue 14: items 1, 2, 4, 9 and 10)."""

from __future__ import annotations

import re

import pytest

from .conftest import DemoServer, publish_screenshot, screenshot
from .test_chat import open_chat, pending_cards, send, start

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def thread_id_of(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#thread-sub").inner_text().removeprefix("Thread ")


def test_typing_no_rejects_the_draft(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "publish", "otters")  # plain text: the graph's single text field, topic
    card = pending_cards(page)
    expect(card.locator(".question")).to_have_text("Approve the draft?")
    expect(card.get_by_role("button", name="Reject")).to_be_visible()
    expect(page.locator("#composer-hint")).to_contain_text("yes or no")
    send(page, "no")
    expect(page.locator(".card.interrupt.answered .card-status")).to_have_text("Answered — rejected")
    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".step[data-node=review]")).to_contain_text("false")
    expect(page.locator(".step[data-node=post]")).to_contain_text("false")
    expect(page.locator(".card.interrupt")).to_have_count(1)  # "Which channel?" was never asked


def test_a_word_typed_while_a_tool_call_waits_does_what_the_cards_button_does(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "tool_review", "book the McKittrick and the Ritz")
    cards = pending_cards(page)
    expect(cards).to_have_count(2)
    hint = page.locator("#composer-hint")
    expect(hint).to_contain_text("sent to the model as a response")
    expect(hint).to_contain_text('type "accept" or "ignore"')
    for name in ("Accept", "Edit", "Respond", "Ignore"):
        expect(cards.first.get_by_role("button", name=name, exact=True)).to_be_visible()
    path = screenshot(page, "chat-tool-call")
    publish_screenshot(path, "chat-tool-call.png")

    send(page, "edit")  # needs the arguments: refused, nothing sent
    expect(page.locator("#composer-flash")).to_contain_text("Edit button")
    expect(pending_cards(page)).to_have_count(2)
    expect(page.locator("#composer-input")).to_have_value("edit")

    send(page, "Accept")
    first = page.locator(".card.interrupt").first
    expect(first.locator(".card-status")).to_have_text("Answered — accepted")
    expect(pending_cards(page)).to_have_count(1)
    send(page, "use the Plaza instead")
    expect(page.locator(".card.interrupt").nth(1).locator(".card-status")).to_have_text("Answered — responded: use the Plaza instead")
    expect(page.locator(".divider.done")).to_be_visible()
    tools = page.locator(".bubble-tool")
    expect(tools).to_have_count(2)
    expect(tools.first).to_contain_text("Successfully booked 1 night(s) at the McKittrick")
    expect(tools.last).to_contain_text("use the Plaza instead")


def test_an_answer_the_graph_refuses_is_shown_as_refused(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "validation", "{}")
    expect(pending_cards(page).locator(".question")).to_have_text("What is your age?")
    send(page, "abc")
    refused = page.locator(".card.interrupt.refused")
    expect(refused).to_have_count(1)
    expect(refused.locator(".card-status")).to_contain_text("Not accepted (abc)")
    expect(refused.locator(".card-status")).to_contain_text("is not a valid age")
    expect(page.locator(".card-status", has_text="Answered — abc")).to_have_count(0)
    again = pending_cards(page)
    expect(again.locator(".card-body > .card-error")).to_contain_text("'abc' is not a valid age")
    send(page, "42")
    expect(page.locator(".step[data-node=get_age]")).to_contain_text("42")
    expect(page.locator(".card.interrupt.refused")).to_have_count(1)


def test_an_interrupt_answered_in_another_tab_says_so_with_the_answer_and_keeps_the_draft(context, demo_server: DemoServer) -> None:
    a = open_chat(context, demo_server)
    start(a, "publish", "newts")
    pending_cards(a).get_by_role("button", name="Approve").click()
    expect(pending_cards(a).locator(".question")).to_have_text("Which channel?")
    thread_id = thread_id_of(a)

    b = context.new_page()  # another tab: its own sessionStorage, same thread by its URL
    b.goto(f"{demo_server.base_url}/chat/#thread={thread_id}")
    expect(pending_cards(b).locator(".question")).to_have_text("Which channel?")

    a.locator("#composer-input").fill("newsletter")  # drafts, not sent
    pending_cards(a).locator("textarea.answer-text").fill("radio")
    card_b = pending_cards(b)
    card_b.locator("textarea.answer-text").fill("blog")
    card_b.get_by_role("button", name="Send answer").click()
    expect(b.locator(".card.interrupt.answered").last.locator(".card-status")).to_have_text("Answered — blog")

    card_a = a.locator(".card.interrupt").last
    expect(card_a.locator(".card-status")).to_have_text("Answered elsewhere — blog")
    expect(card_a.locator(".card-draft")).to_contain_text("radio")
    expect(a.locator("#composer-flash")).to_contain_text("your draft was not sent")
    expect(a.locator("#composer-input")).to_have_value("newsletter")
    expect(a.locator(".divider.done")).to_be_visible()
    # this tab's own earlier answer still reads as its own after a reload
    a.reload()
    expect(a.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(a.locator(".card.interrupt").first.locator(".card-status")).to_have_text("Answered — approved")
    expect(a.locator(".card.interrupt").last.locator(".card-status")).to_have_text("Answered elsewhere — blog")


def test_the_demo_model_streams_its_words_at_a_visible_pace(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    # record when the streaming bubble's text grows, as a person would see it
    page.evaluate(
        """() => {
            window.__growth = [];
            new MutationObserver(() => {
              const bubble = document.querySelector('.bubble-assistant.streaming .bubble-text');
              if (bubble) window.__growth.push([performance.now(), bubble.textContent.length]);
            }).observe(document.getElementById('transcript'), { childList: true, subtree: true, characterData: true });
        }"""
    )
    start(page, "tool_review", "book the Ritz")
    expect(pending_cards(page)).to_have_count(1)
    growth = page.evaluate("window.__growth")
    lengths = sorted({n for _, n in growth})
    assert len(lengths) >= 4, growth  # several partial texts were on screen
    span_ms = growth[-1][0] - growth[0][0]
    assert span_ms >= 150, f"the words arrived within {span_ms:.0f} ms: too fast to see streaming"


def test_the_first_message_of_a_conversation_gets_a_reply(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "multi_turn", "hello there")
    expect(page.locator(".bubble-assistant")).to_have_text(re.compile("You said 'hello there'"))
    expect(pending_cards(page).locator(".question")).to_have_text("Anything else? (say 'bye' to finish)")
    send(page, "bye")
    expect(page.locator(".bubble-assistant").last).to_contain_text("Goodbye!")
    expect(page.locator(".divider.done")).to_be_visible()


def test_a_tool_call_answer_the_review_refuses_is_not_shown_as_answered(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "tool_review", "book the Ritz")
    card = pending_cards(page)
    expect(card).to_have_count(1)
    card.locator("details.raw summary").click()
    card.locator("textarea.json-input").fill('[{"type": "postpone"}]')  # not an action a review knows
    card.get_by_role("button", name="Send JSON").click()
    refused = page.locator(".card.interrupt.refused")
    expect(refused.locator(".card-status")).to_contain_text("Not accepted")
    expect(page.locator(".card-status", has_text="Answered —")).to_have_count(0)
    again = pending_cards(page)
    expect(again).to_have_count(1)
    expect(again.locator(".card-body > .card-error").first).to_contain_text("postpone")
    again.get_by_role("button", name="Ignore").click()
    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".bubble-tool")).to_contain_text("ignore")


def bubble_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all("#transcript .bubble", "es => es.map(e => e.dataset.role + ': ' + e.querySelector('.bubble-text').textContent)")


def test_the_same_words_said_twice_are_two_messages_live_and_after_a_reload(context, demo_server: DemoServer) -> None:
    # multi_turn's messages have no id: they are told apart by their place in the thread, not by their text
    page = open_chat(context, demo_server)
    start(page, "multi_turn", "ok")
    for turn in (1, 2):
        expect(pending_cards(page)).to_have_count(1)
        send(page, "ok")
        expect(page.locator(".card.interrupt.answered")).to_have_count(turn)
    expect(pending_cards(page)).to_have_count(1)
    said = ["user: ok", "assistant: You said 'ok' (1 words)."] * 3
    expect(page.locator("#transcript .bubble")).to_have_count(6)
    assert bubble_texts(page) == said
    page.reload()  # replayed from the tab's copy of the events
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator("#transcript .bubble")).to_have_count(6)
    assert bubble_texts(page) == said
    other = context.new_page()  # replayed from the server's log
    other.goto(page.url)
    expect(other.locator("#transcript .bubble")).to_have_count(6)
    expect(pending_cards(other)).to_have_count(1)
    assert bubble_texts(other) == said


def hold_incoming_frames(page):  # type: ignore[no-untyped-def]
    """Route the page's WebSocket so the frames from the server can be held back: returns
    ``release()``, which delivers what was held and lets the rest through."""
    held: list[object] = []
    state = {"hold": True}
    routes: list[object] = []

    def route(ws) -> None:  # type: ignore[no-untyped-def]
        server = ws.connect_to_server()
        routes.append(ws)

        def from_server(message) -> None:  # type: ignore[no-untyped-def]
            if state["hold"]:
                held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws$"), route)

    def hold() -> None:
        state["hold"] = True

    def release() -> None:
        state["hold"] = False
        for message in held:
            routes[-1].send(message)  # type: ignore[attr-defined]
        held.clear()

    release.hold = hold  # type: ignore[attr-defined]
    return release


def test_a_tab_that_loses_an_answer_race_shows_the_winning_answer_and_never_claims_it(context, demo_server: DemoServer) -> None:
    a = open_chat(context, demo_server)
    start(a, "publish", "a race")
    expect(pending_cards(a)).to_have_count(1)
    b = context.new_page()
    release = hold_incoming_frames(b)
    release()  # B opens the thread normally
    b.goto(a.url)
    expect(pending_cards(b)).to_have_count(1)

    release.hold()  # B stops hearing the server: it answers without knowing A did
    pending_cards(a).get_by_role("button", name="Approve").click()
    expect(a.locator(".card.interrupt").first.locator(".card-status")).to_have_text("Answered — approved")
    pending_cards(b).get_by_role("button", name="Reject").click()
    expect(b.locator(".card.interrupt").first).to_have_class(re.compile("sending"))
    release()
    card_b = b.locator(".card.interrupt").first
    expect(card_b.locator(".card-status")).to_have_text("Answered elsewhere — approved")
    b.reload()  # B never sent the answer that counted, so it does not claim it
    expect(b.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(b.locator(".card.interrupt").first.locator(".card-status")).to_have_text("Answered elsewhere — approved")
    a.reload()
    expect(a.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(a.locator(".card.interrupt").first.locator(".card-status")).to_have_text("Answered — approved")


def test_a_hitl_middleware_review_gets_buttons_and_typed_answers(context, demo_server: DemoServer) -> None:
    # tool_review_chat asks in the shape of LangChain's HITL middleware (action_requests /
    # review_configs) and takes {"decisions": [...]}
    page = open_chat(context, demo_server)
    start(page, "tool_review_chat", "book the Ritz and the Savoy and the Plaza")
    cards = pending_cards(page)
    expect(cards).to_have_count(3)
    first = cards.first
    expect(first.locator(".kind-tag")).to_have_text("Tool call")
    expect(first.locator(".tool-line code")).to_have_text("book_hotel")
    for name in ("Approve", "Edit", "Reject"):
        expect(first.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.locator("#composer-hint")).to_contain_text("rejects book_hotel")

    send(page, '{"decisions": [{"type": "approve"}]}')  # JSON typed for a structured answer is sent as JSON
    expect(page.locator(".card.interrupt").nth(0).locator(".card-status")).to_have_text("Answered — approved")
    send(page, "too expensive")  # text: a rejection with the reason for the model
    expect(page.locator(".card.interrupt").nth(1).locator(".card-status")).to_have_text("Answered — rejected: too expensive")
    third = page.locator(".card.interrupt").nth(2)
    third.get_by_role("button", name="Edit", exact=True).click()
    third.locator('.field input[type="text"]').fill("the Plaza Athénée")
    third.get_by_role("button", name="Save & run").click()
    expect(third.locator(".card-status")).to_contain_text("Answered — edited")
    expect(page.locator(".divider.done")).to_be_visible()
    tools = page.locator(".bubble-tool")
    expect(tools).to_have_count(3)
    expect(tools.nth(0)).to_contain_text("booked 1 night(s) at the Ritz")
    expect(tools.nth(1)).to_contain_text("too expensive")
    expect(tools.nth(2)).to_contain_text("the Plaza Athénée")
    expect(page.locator(".card.interrupt.refused")).to_have_count(0)


def test_a_card_shown_as_json_takes_typed_json(context, demo_server: DemoServer) -> None:
    # what the message box sends for each card, computed by the page's own module in the browser
    page = open_chat(context, demo_server)
    answers = page.evaluate(
        """async () => {
            const { composerAnswer, interruptKind } = await import(new URL('../lib/cards.js', location.href).href);
            const raw = { numbers: [1, 2], nested: { deep: true } };
            return {
              kind: interruptKind(raw),
              object: composerAnswer(raw, '{"decisions": [{"type": "approve"}]}'),
              number: composerAnswer(raw, ' 42 '),
              quoted: composerAnswer(raw, '"yes"'),
              bare: composerAnswer(raw, 'yes'),
              text: composerAnswer({ question: "Why?" }, '{"not": "parsed"}'),
            };
        }"""
    )
    assert answers["kind"] == "json"
    assert answers["object"] == {"answer": {"decisions": [{"type": "approve"}]}}
    assert answers["number"] == {"answer": 42}
    assert answers["quoted"] == {"answer": "yes"}
    assert "wants JSON" in answers["bare"]["refused"]
    assert answers["text"] == {"answer": '{"not": "parsed"}'}  # a text question takes the text as it is


def test_offline_the_page_says_so_and_an_answer_that_got_through_reads_answered(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "parallel", "a lease")
    expect(pending_cards(page)).to_have_count(2)
    card = page.locator(".card.interrupt").first
    context.set_offline(True)
    expect(page.locator("#banner")).to_contain_text("offline")  # said at once, not after 30 s
    card.locator("textarea.answer-text").fill("legal ok")
    card.get_by_role("button", name="Send answer").click()
    # the link is checked at once: the page reconnects instead of waiting for the request timeout
    expect(page.locator("#banner")).to_contain_text("Connection lost", timeout=10_000)
    expect(card.locator(".card-status")).to_contain_text("The connection dropped before the server confirmed", timeout=10_000)
    context.set_offline(False)
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    status = card.locator(".card-status")
    expect(status).to_have_text(re.compile("^(Answered — legal ok|The connection dropped)"))
    if not status.inner_text().startswith("Answered"):  # it did not get through: send it again
        card.get_by_role("button", name="Send answer").click()
    expect(status).to_have_text("Answered — legal ok")  # never an error for an answer that was applied
    expect(page.locator(".card.interrupt.answered")).to_have_count(1)
