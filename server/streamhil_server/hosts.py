"""Which ``Host`` names the server answers: a defence against DNS rebinding.

A page on an attacker's domain can make a browser resolve that domain to 127.0.0.1 and then talk
to a local server as a same-origin peer (``Host`` and ``Origin`` both name the attacker's domain,
so an Origin check passes). A server with no tokens therefore answers only loopback host names
unless told otherwise, as Jupyter and Vite do. A server with tokens needs no such guard (the page
cannot present a token), but an explicit allow-list applies to it too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

__all__ = ["HostGuard", "LOOPBACK_NAMES", "host_allowed", "host_name"]

LOOPBACK_NAMES = ("localhost",)
"""Loopback names besides addresses (``127.0.0.0/8``, ``::1``); ``*.localhost`` counts too."""


def host_name(header: str) -> str:
    """The name in a ``Host`` header, lower-cased, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):  # [v6]:port
        end = header.find("]")
        return header[1:end] if end > 0 else header
    if header.count(":") == 1:
        return header.partition(":")[0]
    return header


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None, allowed: Iterable[str] | None) -> bool:
    """Whether a request with this ``Host`` header may be served.

    ``allowed`` None: loopback names only. Otherwise loopback names plus the listed names
    (``"*"`` allows any; ``".example.com"`` allows the domain and its subdomains).
    """
    if not header:
        return False  # HTTP/1.1 requires Host; a request without one is refused
    name = host_name(header)
    if _is_loopback(name):
        return True
    for entry in allowed or ():
        entry = entry.lower()
        if entry == "*" or entry == name:
            return True
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return True
    return False


class HostGuard:
    """ASGI middleware: HTTP requests and WebSocket upgrades naming another host get HTTP 403."""

    def __init__(self, app: Any, allowed: Iterable[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed is None else tuple(allowed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        body = (
            b"Host not allowed. This server answers loopback names only; "
            b"start it with --allow-host NAME (or tokens) to serve other names.\n"
        )
        await send({
            "type": "http.response.start", "status": 403,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})
