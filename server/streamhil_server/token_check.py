"""Checking a token presented on any surface (``/ws`` hello, the HTTP APIs, AG-UI, the v3
WebSocket) under one budget of failed attempts per client address (:class:`~.limits.FailedAttempts`,
``auth_failures_burst`` / ``auth_failures_per_minute``), so guessing is as slow on every surface.

An address that used up its budget is refused before any token is compared, a valid one too:
HTTP answers 429 with ``Retry-After``, WebSockets close with 4429. The address is the one uvicorn
gives the request: behind a reverse proxy, the client's only if uvicorn trusts the proxy's
``X-Forwarded-For`` (``--forwarded-allow-ips``, docs/deploy.md), else the proxy's, which all its
clients would then share.
"""

from __future__ import annotations

import math

import anyio
from starlette.requests import HTTPConnection

from .auth import Authenticator
from .limits import FailedAttempts

__all__ = ["TooManyAttempts", "check_token", "client_address"]


class TooManyAttempts(Exception):
    """The caller's address failed too often: refuse it for ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed attempts; wait before trying again")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds (at least 1)."""
        return str(max(1, math.ceil(self.retry_after)) if math.isfinite(self.retry_after) else 3600)


def client_address(conn: HTTPConnection) -> str:
    """The address the failures are counted against."""
    client = conn.client
    return client.host if client is not None else "unknown"


def check_token(auth: Authenticator, failures: FailedAttempts, conn: HTTPConnection, token: str | None) -> str | None:
    """The identity of ``token`` (None: missing or unknown; an unknown one counts as a failure of
    the caller's address). Raises :class:`TooManyAttempts` when the address is out of attempts."""
    if auth.open:
        return auth.identify(None)
    address, now = client_address(conn), anyio.current_time()
    if failures.locked(address, now):
        raise TooManyAttempts(failures.retry_after(address, now))
    if not token:
        return None
    identity = auth.identify(token)
    if identity is None:
        failures.failed(address, now)
    return identity
