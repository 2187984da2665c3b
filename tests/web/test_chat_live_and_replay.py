"""The chat renders a run the same way live and on replay (docs/web.md, "How the chat shows a
thread"): the run's "Run started" divider first, then what started it (the user's message or
structured input), as the events come (``run_started``, then the run's first ``values``)."""

from __future__ import annotations

import pytest

from .conftest import DemoServer
from .test_chat import open_chat, pending_cards, start

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def first_rows(page, count: int = 3) -> list[str]:  # type: ignore[no-untyped-def]
    """The first line of each of the transcript's first rows (bubble meta, divider label...)."""
    return [text.split("\n")[0] for text in page.locator("#transcript > *").all_inner_texts()][:count]


@pytest.mark.parametrize(
    ("graph", "text", "you"),
    [
        ("publish", "otters", "You · input"),  # a structured input (the graph's single text field)
        ("tool_review", "book the Ritz", "You"),  # a chat message
    ],
)
def test_the_input_comes_after_its_run_divider_live_after_a_reload_and_in_another_tab(
    context, demo_server: DemoServer, graph: str, text: str, you: str
) -> None:
    page = open_chat(context, demo_server)
    start(page, graph, text)
    expect(pending_cards(page).first).to_be_visible()
    live = first_rows(page, 2)
    assert live[0].lower().startswith("run started") and live[1].lower() == you.lower(), live

    page.reload()
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(pending_cards(page).first).to_be_visible()
    assert first_rows(page, 2) == live

    other = context.new_page()
    other.goto(page.url)
    expect(other.locator(".live-dot[data-state=open]")).to_be_visible()
    expect(pending_cards(other).first).to_be_visible()
    assert first_rows(other, 2) == live
