"""The live dashboard in headless Chromium, next to a chat page, against a real demo server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import DemoServer, publish_screenshot, screenshot
from .test_chat import open_chat, pending_cards, send, start

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def open_dashboard(context, server: DemoServer):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.set_viewport_size({"width": 1440, "height": 960})
    page.goto(server.base_url + "/dashboard")
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    return page


def test_dashboard_shows_a_thread_change_live_and_its_inbox_answer_resumes_the_chat(context, demo_server: DemoServer) -> None:
    dash = open_dashboard(context, demo_server)
    chat = open_chat(context, demo_server)
    start(chat, "publish", '{"topic": "puffins"}')
    thread_id = chat.locator("#thread-sub").inner_text().removeprefix("Thread ")

    # the new thread appears with its status, and its question lands in the inbox
    row = dash.locator(f'#threads-body tr[data-thread-id="{thread_id}"]')
    expect(row.locator(".badge")).to_have_text("waiting")
    item = dash.locator(f'.inbox-item[data-thread-id="{thread_id}"]')
    expect(item.locator(".question")).to_have_text("Approve the draft?")
    expect(item.locator(".node-tag")).to_have_text("node review")
    expect(dash.locator("#c-waiting")).not_to_have_text("0")

    # the graph drawing lights the node that waits
    row.click()
    expect(dash.locator("#detail-title")).to_contain_text("publish")
    expect(dash.locator('svg.graph g.node[data-node="review"]')).to_have_class("node active")
    expect(dash.locator('svg.graph g.node[data-node="post"]')).not_to_have_class("node active")

    # answering in the chat changes the dashboard live (once the chat shows the question too)
    expect(pending_cards(chat).locator(".question")).to_have_text("Approve the draft?")
    send(chat, "yes")
    expect(item.locator(".question")).to_have_text("Which channel?")
    expect(dash.locator('svg.graph g.node[data-node="post"]')).to_have_class("node active")
    expect(dash.locator("#timeline .tl-run_started")).not_to_have_count(0)

    # answering from the dashboard inbox resumes the run the chat shows
    item.locator("textarea.answer-text").fill("radio")
    screenshot(dash, "dashboard-answer")
    item.get_by_role("button", name="Send answer").click()
    expect(chat.locator(".divider.done")).to_be_visible()
    expect(chat.locator(".step[data-node=post]")).to_contain_text("radio")
    expect(pending_cards(chat)).to_have_count(0)
    expect(row.locator(".badge")).to_have_text("idle")
    expect(item).to_have_count(0)


def test_dashboard_follows_many_threads_on_one_socket(context, demo_server: DemoServer) -> None:
    dash = open_dashboard(context, demo_server)
    chat = open_chat(context, demo_server)
    # start threads with the JS client itself, from the chat page (another socket than the dashboard's)
    count = 100
    result = chat.evaluate(
        """async (count) => {
            const { Connection } = await import('../lib/connection.js');
            const conn = new Connection(new URL('../ws', location.href).href.replace('http', 'ws'));
            // the whole exchange is bounded (connect included): page.evaluate itself has no timeout
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('runs did not pause within 30 s')), 30000));
            const work = async () => {
              await conn.connect();
              const runs = await Promise.all(Array.from({ length: count }, async (_, i) => {
                const run = await conn.startRun({ graph: 'parallel', input: { doc: `doc-${i}` } });
                // iterate from the reply on (the run's events come after it): wait until it pauses
                for await (const ev of conn.events(run.thread_id, { untilTerminal: true })) {}
                return run;
              }));
              const { threads } = await conn.listThreads({ limit: 1000 });
              return { ids: runs.map((r) => r.thread_id), pending: threads.reduce((n, t) => n + t.interrupts.length, 0) };
            };
            try {
              return await Promise.race([timeout, work()]);
            } finally {
              conn.close();
            }
        }""",
        count,
    )
    ids = result["ids"]
    assert len(set(ids)) == count
    for thread_id in (ids[0], ids[-1]):
        expect(dash.locator(f'#threads-body tr[data-thread-id="{thread_id}"] .badge')).to_have_text("waiting")
    # every question is counted; the inbox draws the oldest ones, all on the dashboard's one socket
    expect(dash.locator("#inbox-count")).to_have_text(str(result["pending"]))
    assert result["pending"] >= count * 2
    expect(dash.locator(".inbox-item")).to_have_count(150)
    expect(dash.locator("#inbox-more")).to_be_visible()
    assert dash.evaluate("streamhilDashboard.conn.stats.reconnects") == 0
    dash.locator(f'#threads-body tr[data-thread-id="{ids[-1]}"]').click()
    expect(dash.locator('svg.graph g.node.active')).to_have_count(2)  # legal and finance wait
    screenshot(dash, "dashboard")
    publish_screenshot(screenshot(dash, "dashboard"), "dashboard.png")
    dash.locator('.chip[data-filter="interrupted"]').click()
    expect(dash.locator('#threads-body tr:not([data-status="interrupted"])')).to_have_count(0)
    expect(dash.locator("#threads-body tr")).not_to_have_count(0)


def test_dashboard_back_fills_a_threads_timeline_names_subgraphs_and_never_polls(context, tmp_path: Path) -> None:
    demo_server = DemoServer(tmp_path / "timeline.sqlite")  # its own server: a clean screenshot
    demo_server.start()
    try:
        _back_fill(context, demo_server)
    finally:
        demo_server.stop()


def _back_fill(context, demo_server: DemoServer) -> None:  # type: ignore[no-untyped-def]
    chat = open_chat(context, demo_server)
    start(chat, "subgraph", "a teapot")  # finished before the dashboard opens
    expect(pending_cards(chat).locator(".question")).to_have_text("Where should we ship a teapot?")
    send(chat, "12 harbour road")
    expect(chat.locator(".divider.done")).to_be_visible()
    thread_id = chat.locator("#thread-sub").inner_text().removeprefix("Thread ")

    requests: list[str] = []
    dash = context.new_page()
    dash.on("request", lambda r: requests.append(r.url))
    dash.set_viewport_size({"width": 1440, "height": 960})
    dash.goto(demo_server.base_url + "/dashboard")
    expect(dash.locator(".live-dot[data-state=open]")).to_be_visible()
    row = dash.locator(f'#threads-body tr[data-thread-id="{thread_id}"]')
    expect(row.locator(".badge")).to_have_text("idle")
    row.click()

    # every event of its log, oldest first, marked as from before the page opened
    timeline = dash.locator("#timeline .tl")
    expect(timeline.first.locator(".tl-seq")).to_have_text("#1")
    expect(dash.locator("#timeline .tl-run_done")).to_have_count(1)
    expect(dash.locator("#timeline .tl-run_started")).to_have_count(2)
    expect(timeline.first.locator(".tl-time")).to_have_text("earlier")
    seqs = [int(t.removeprefix("#")) for t in dash.locator("#timeline .tl-seq").all_inner_texts()]
    assert seqs == list(range(1, len(seqs) + 1))
    # the subgraph's own steps say where they ran, so they do not look like duplicates
    inner = dash.locator('#timeline .tl-updates[data-ns="shipping"]')
    expect(inner.first.locator(".tl-ns")).to_have_text("shipping › ")
    expect(dash.locator('#timeline .tl-updates[data-ns=""]', has_text="shipping")).not_to_have_count(0)
    expect(dash.locator("#detail-sub")).to_contain_text("from before this page opened")
    dash.locator("#detail").scroll_into_view_if_needed()
    publish_screenshot(screenshot(dash, "dashboard-timeline"), "dashboard-timeline.png")

    # counters come from the server's notices, live: a new thread started in the chat shows up
    expect(dash.locator("#c-connections")).not_to_have_text("–")
    before = int(dash.locator("#c-threads").inner_text())
    start(chat, "validation", "{}")
    expect(dash.locator("#c-threads")).to_have_text(str(before + 1))
    expect(dash.locator("#c-events-total")).to_contain_text("total")
    assert not [u for u in requests if "/metrics" in u], "the dashboard polled /metrics"
    assert dash.evaluate("streamhilDashboard.model.notices") > 0


def test_after_a_server_restart_the_dashboard_watches_again(context, tmp_path: Path) -> None:
    server = DemoServer(tmp_path / "restart.sqlite")
    server.start()
    try:
        dash = open_dashboard(context, server)
        chat = open_chat(context, server)
        start(chat, "approve", "first")
        first = chat.locator("#thread-sub").inner_text().removeprefix("Thread ")
        expect(dash.locator(f'#threads-body tr[data-thread-id="{first}"] .badge')).to_have_text("waiting")

        server.restart()
        expect(dash.locator(".live-dot[data-state=open]")).to_be_visible()
        expect(dash.locator("#banner")).to_contain_text("Reconnected")
        expect(chat.locator(".live-dot[data-state=open]")).to_be_visible()
        # notices flow on the new connection: a thread started now appears, and an answer shows
        start(chat, "approve", "second")
        second = chat.locator("#thread-sub").inner_text().removeprefix("Thread ")
        expect(dash.locator(f'#threads-body tr[data-thread-id="{second}"] .badge')).to_have_text("waiting")
        expect(dash.locator("#threads-body tr")).to_have_count(2)
        pending_cards(chat).get_by_role("button", name="reject").click()
        expect(dash.locator(f'#threads-body tr[data-thread-id="{second}"] .badge')).to_have_text("idle")
        assert dash.evaluate("streamhilDashboard.conn.stats.reconnects") >= 1
    finally:
        server.stop()


def test_a_thread_created_while_the_dashboard_is_open_has_no_events_from_before_it(context, demo_server: DemoServer) -> None:
    dash = open_dashboard(context, demo_server)
    chat = open_chat(context, demo_server)
    start(chat, "publish", '{"topic": "voles"}')  # after the dashboard opened, before it is selected
    expect(pending_cards(chat)).to_have_count(1)
    thread_id = chat.locator("#thread-sub").inner_text().removeprefix("Thread ")
    row = dash.locator(f'#threads-body tr[data-thread-id="{thread_id}"]')
    expect(row.locator(".badge")).to_have_text("waiting")
    row.click()
    timeline = dash.locator("#timeline .tl")
    expect(timeline.first.locator(".tl-seq")).to_have_text("#1")
    expect(dash.locator("#timeline .tl-logged")).to_have_count(0)  # nothing is "earlier" than the page
    expect(timeline.first.locator(".tl-time")).to_have_text("replayed")
    expect(dash.locator("#detail-sub")).not_to_contain_text("before this page opened")
    expect(dash.locator("#detail-sub")).to_contain_text("from before you selected it")
    pending_cards(chat).get_by_role("button", name="Approve").click()  # live from now on: a clock time
    live = dash.locator("#timeline .tl-run_started").last
    expect(live.locator(".tl-time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}"))


def test_a_filter_that_matches_nothing_says_so(context, demo_server: DemoServer) -> None:
    chat = open_chat(context, demo_server)
    start(chat, "approve", "a thread to list")
    expect(pending_cards(chat)).to_have_count(1)
    dash = open_dashboard(context, demo_server)
    expect(dash.locator("#threads-body tr")).not_to_have_count(0)
    total = dash.evaluate("streamhilDashboard.model.threads.size")
    dash.locator("#thread-search").fill("no-such-thread-anywhere")
    empty = dash.locator("#threads-empty")
    expect(empty).to_be_visible()
    expect(empty).to_have_text(f"No thread matches “no-such-thread-anywhere” ({total} threads in all).")
    dash.locator("#thread-search").fill("")
    expect(empty).to_be_hidden()
    if not dash.evaluate("[...streamhilDashboard.model.threads.values()].some((t) => t.status === 'error')"):
        dash.locator('.chip[data-filter="error"]').click()
        expect(empty).to_contain_text("No thread matches the status “Error”")
        expect(empty).not_to_contain_text("No threads yet")


def test_an_inbox_answer_from_the_keyboard_moves_the_focus_to_the_next_question(context, tmp_path: Path) -> None:
    server = DemoServer(tmp_path / "inbox.sqlite")  # its own server: an inbox with just these two
    server.start()
    try:
        chat = open_chat(context, server)
        ids = []
        for what in ("a dented can", "a torn box"):
            start(chat, "approve", what)
            expect(pending_cards(chat)).to_have_count(1)
            ids.append(chat.locator("#thread-sub").inner_text().removeprefix("Thread "))
        dash = open_dashboard(context, server)
        first = dash.locator(f'#inbox-list .inbox-item[data-thread-id="{ids[0]}"] .card')
        second = dash.locator(f'#inbox-list .inbox-item[data-thread-id="{ids[1]}"] .card')
        expect(second).to_be_visible()
        first.get_by_role("button", name="reject").focus()
        dash.keyboard.press("Enter")
        expect(first).to_have_count(0)  # answered, and gone from the inbox
        expect(second.get_by_role("button", name="approve")).to_be_focused()
        second.get_by_role("button", name="approve").press("Enter")
        expect(dash.locator("#inbox-empty")).to_be_visible()
        expect(dash.locator("#inbox")).to_be_focused()  # nothing left: the inbox itself
    finally:
        server.stop()
