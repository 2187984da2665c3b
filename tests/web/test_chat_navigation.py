"""Starting threads from a form, the URL and the browser's history, the phone drawer (issue 14:
items 3, 6 and 7)."""

from __future__ import annotations

import re

import pytest

from .conftest import DemoServer, publish_screenshot, screenshot
from .test_chat import open_chat, pending_cards, send, start

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_a_graph_without_chat_input_offers_a_form_from_its_input_schema(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    page.get_by_role("button", name="New conversation").click()
    page.select_option("#graph-select", "approve")
    form = page.locator("#input-form")
    expect(form).to_be_visible()
    field = form.locator('.field[data-field="request"]')
    expect(field.locator(".type-tag")).to_have_text("text")
    expect(field.locator(".req-tag")).to_have_text("required")
    expect(form.locator(".field")).to_have_count(1)  # output-only keys (proposal, outcome…) are not offered
    expect(page.locator("#composer-hint")).to_contain_text("your message is its request")

    form.get_by_role("button", name="Start").click()  # the required field is empty
    expect(page.locator("#composer-flash")).to_contain_text("request (required)")
    expect(page.locator("#thread-sub")).not_to_contain_text("Thread")

    field.locator("input").fill("a cracked teapot")
    path = screenshot(page, "chat-input-form")
    publish_screenshot(path, "chat-input-form.png")
    form.get_by_role("button", name="Start").click()
    expect(page.locator("#thread-sub")).to_contain_text("Thread t-")
    bubble = page.locator(".bubble-input")
    expect(bubble).to_have_count(1)  # the structured input is in the transcript, once
    expect(bubble).to_contain_text("request")
    expect(bubble).to_contain_text("a cracked teapot")
    expect(pending_cards(page).locator(".question")).to_have_text("Approve this action?")
    expect(form).to_be_hidden()
    page.reload()  # rebuilt from the events, the input is still shown
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator(".bubble-input")).to_contain_text("a cracked teapot")


def test_typed_text_goes_to_the_single_field_with_its_type(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    page.get_by_role("button", name="New conversation").click()
    page.select_option("#graph-select", "validation")
    expect(page.locator('#input-form .field[data-field="age"] .type-tag')).to_have_text("whole number")
    send(page, "forty")
    expect(page.locator("#composer-flash")).to_contain_text("age takes a whole number")
    expect(page.locator("#thread-sub")).not_to_contain_text("Thread")
    send(page, "42")  # an age given as input is checked, not asked again
    expect(page.locator(".divider.done")).to_be_visible()
    expect(page.locator(".step[data-node=get_age]")).to_contain_text("42")
    expect(page.locator(".bubble-input")).to_contain_text("42")


def test_the_url_names_the_open_thread_and_back_and_forward_work(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "approve", "late delivery")
    first = page.locator("#thread-sub").inner_text().removeprefix("Thread ")
    expect(page).to_have_url(re.compile(f"#thread={first}$"))
    page.get_by_role("button", name="New conversation").click()
    expect(page).not_to_have_url(re.compile("#thread="))
    page.select_option("#graph-select", "publish")
    send(page, "otters")
    expect(page.locator("#thread-sub")).to_contain_text("Thread t-")
    second = page.locator("#thread-sub").inner_text().removeprefix("Thread ")
    expect(page).to_have_url(re.compile(f"#thread={second}$"))

    # a reload shows the thread with its own graph in the picker
    page.reload()
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page.locator("#graph-select")).to_have_value("publish")
    expect(pending_cards(page).locator(".question")).to_have_text("Approve the draft?")

    page.go_back()  # the new conversation
    expect(page.locator("#thread-title")).to_have_text("New conversation")
    page.go_back()  # the first thread
    expect(page.locator("#thread-sub")).to_have_text(f"Thread {first}")
    expect(page.locator("#graph-select")).to_have_value("approve")
    expect(pending_cards(page).locator(".question")).to_have_text("Approve this action?")
    page.go_forward()
    expect(page.locator("#thread-title")).to_have_text("New conversation")
    page.evaluate("(id) => { location.hash = 'thread=' + id; }", second)  # an edited address
    expect(page.locator("#thread-sub")).to_have_text(f"Thread {second}")
    expect(page.locator("#graph-select")).to_have_value("publish")


def test_phone_width_drawer_closes_by_button_escape_and_backdrop(chromium, demo_server: DemoServer) -> None:
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = ctx.new_page()
        page.goto(demo_server.base_url + "/")
        expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
        page.locator("#sidebar-toggle").click()
        page.select_option("#graph-select", "approve")
        page.get_by_role("button", name="New conversation").click()
        send(page, "a broken kettle")  # a thread to list
        expect(pending_cards(page)).to_have_count(1)
        url = page.url
        drawer = page.locator("#sidebar")
        toggle = page.locator("#sidebar-toggle")

        toggle.click()
        expect(drawer).to_be_visible()
        expect(page.locator(".thread-item")).not_to_have_count(0)
        screenshot(page, "chat-phone-drawer")
        page.get_by_role("button", name="Close the threads panel").click()
        expect(drawer).to_be_hidden()
        expect(toggle).to_be_focused()

        toggle.click()
        expect(drawer).to_be_visible()
        page.keyboard.press("Escape")
        expect(drawer).to_be_hidden()

        toggle.click()
        box = drawer.bounding_box()
        assert box is not None and box["width"] < 390  # the backdrop shows beside it
        page.touchscreen.tap(box["width"] + (390 - box["width"]) / 2, 400)  # the backdrop, right of the drawer
        expect(drawer).to_be_hidden()

        # tapping the drawer's empty areas does nothing (beside the list's title; below a short list)
        toggle.click()
        title = page.locator(".side-title").bounding_box()
        assert title is not None
        page.touchscreen.tap(title["x"] + title["width"] + 30, title["y"] + title["height"] / 2)
        expect(drawer).to_be_visible()
        last = page.locator(".thread-item").last.bounding_box()
        assert last is not None
        if last["y"] + last["height"] + 60 < 844:
            page.touchscreen.tap(box["x"] + box["width"] / 2, last["y"] + last["height"] + 40)
        expect(drawer).to_be_visible()
        assert page.url == url
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
    assert not errors, errors


def banner_text(page) -> str | None:  # type: ignore[no-untyped-def]
    return page.eval_on_selector("#banner", "e => e.hidden ? null : e.textContent")


def test_the_token_is_needed_once_for_every_tab_and_page(context, token_server: DemoServer) -> None:
    base = token_server.base_url
    page = context.new_page()
    page.goto(base + "/?token=s3cret&ws=" + base.replace("http", "ws") + "/ws")  # the redirect keeps both
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(page).to_have_url(base + "/chat/?ws=" + base.replace("http", "ws") + "/ws")  # the token left the address bar
    expect(page.locator("#graph-select option")).not_to_have_count(0)

    # a new tab on the dashboard, typed by hand: no token in its URL, none asked for
    dashboard = context.new_page()
    dashboard.goto(base + "/dashboard")
    expect(dashboard.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(dashboard).to_have_url(base + "/dashboard/")
    assert banner_text(dashboard) is None
    other = context.new_page()  # and a new chat tab
    other.goto(base + "/")
    expect(other.locator(".live-dot[data-state=open]")).to_be_visible()

    # the dashboard link given with the token works too
    fresh = context.browser.new_context()
    try:
        direct = fresh.new_page()
        direct.goto(base + "/dashboard?token=s3cret")
        expect(direct.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(direct).to_have_url(base + "/dashboard/")
        # a refused token is said, and not kept for the next tab
        wrong = fresh.new_page()
        wrong.goto(base + "/?token=wrong")
        expect(wrong.locator("#banner")).to_contain_text("did not accept the access token")
        after = fresh.new_page()
        after.goto(base + "/")
        expect(after.locator("#banner")).to_contain_text("did not accept the access token")
        # `?token=` with no value forgets it
        fresh_ok = fresh.new_page()
        fresh_ok.goto(base + "/?token=s3cret")
        expect(fresh_ok.locator(".live-dot[data-state=open]")).to_be_visible()
        fresh_ok.goto(base + "/?token=")
        expect(fresh_ok.locator("#banner")).to_contain_text("did not accept the access token")
        assert fresh_ok.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('streamhil.token')).length") == 0
    finally:
        fresh.close()


def test_a_link_to_a_missing_thread_says_so_and_back_leaves_it(context, demo_server: DemoServer) -> None:
    page = open_chat(context, demo_server)
    start(page, "approve", "a wobbly chair")
    good = page.url
    length = page.evaluate("history.length")
    page.evaluate("location.hash = '#thread=t-doesnotexist'")  # an edited address: one history step
    expect(page.locator("#composer-flash")).to_contain_text("This thread no longer exists")
    expect(page.locator("#thread-title")).to_have_text("New conversation")
    expect(page).not_to_have_url(re.compile("doesnotexist"))  # the bad entry was replaced, not added to
    assert page.evaluate("history.length") == length + 1
    expect(page.locator("#composer-flash")).to_contain_text("t-doesnotexist")  # and the message stays
    page.go_back()
    expect(page).to_have_url(good)
    expect(page.locator("#thread-sub")).to_have_text(f"Thread {good.rsplit('=', 1)[1]}")
    expect(pending_cards(page)).to_have_count(1)
    page.go_forward()
    expect(page.locator("#thread-title")).to_have_text("New conversation")
    expect(page).not_to_have_url(re.compile("doesnotexist"))
