"""Dropping a WebSocket's TCP connection when even a close frame cannot get through.

ASGI has no "abort": a server closes the transport gracefully once the app returns, which waits
for its write buffer to drain, and a client that reads nothing never lets it drain. uvicorn hands
the app its protocol's own bound ``send`` method, whose object owns the asyncio transport;
:class:`AbortHandle` (an ASGI middleware, outermost) keeps a way to abort it in the scope, and
:func:`abort_connection` uses it. Under another server it does nothing, and the server's own
timeouts (WebSocket pings) end such a connection later.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["AbortHandle", "abort_connection"]

_KEY = "streamhil.abort"


class AbortHandle:
    """ASGI middleware: put ``scope["streamhil.abort"]`` on WebSocket scopes (uvicorn only)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            abort = getattr(transport, "abort", None)
            if callable(abort):
                scope[_KEY] = abort
        await self.app(scope, receive, send)


def abort_connection(scope: MutableMapping[str, Any]) -> bool:
    """Abort the connection of ``scope`` if the server lets us; whether it did."""
    abort: Callable[[], None] | None = scope.get(_KEY)
    if abort is None:
        return False
    abort()
    return True
