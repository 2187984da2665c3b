"""``?ws=`` cannot send the stored token to another host (security report 3, item 1): a link to
the real server such as ``/chat/?ws=ws://attacker/`` once handed the token kept in
``localStorage`` to the attacker's socket, from the chat and from the dashboard."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from .conftest import DemoServer

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


class Attacker:
    """A WebSocket server on another port that records every connection and what it receives."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.connections = 0
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        import websockets

        async def handler(ws):  # type: ignore[no-untyped-def]
            self.connections += 1
            async for message in ws:
                self.received.append(message)

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def __enter__(self) -> Attacker:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    with Attacker() as found:
        yield found


@pytest.mark.parametrize("app", ["chat", "dashboard"])
def test_a_ws_parameter_naming_another_host_is_ignored(context, token_server: DemoServer, attacker: Attacker, app: str) -> None:
    base = token_server.base_url
    warnings: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(base + f"/{app}/?token=s3cret")  # the victim logged in once: the token is stored
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()

    page.goto(base + f"/{app}/?ws=ws://127.0.0.1:{attacker.port}/")  # later, the attacker's link
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()  # connected: to the server itself
    assert page.evaluate("localStorage.length") == 1  # the token is still there, and was used
    assert attacker.connections == 0 and attacker.received == []
    assert any("?ws=" in w and "ignored" in w for w in warnings), warnings

    # a URL of the page's own host is still taken (a path under a proxy, for instance)
    page.goto(base + f"/{app}/?ws=" + base.replace("http", "ws") + "/ws")
    expect(page.locator(".live-dot[data-state=open]")).to_be_visible()
    assert attacker.connections == 0
    assert not context.errors, context.errors
