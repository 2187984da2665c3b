"""Who is calling: tokens → identities, from ``hello``, an ``Authorization`` header or a cookie;
and which browser origins may open a socket."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

__all__ = ["Authenticator", "ANONYMOUS", "COOKIE_NAME", "origin_allowed"]

ANONYMOUS = ""
"""The identity of every caller of a server that has no tokens (welcome shows ``identity: null``)."""

COOKIE_NAME = "streamhil_token"

TokenCheck = Callable[[str], str | None]


@dataclass(slots=True)
class Authenticator:
    """Maps tokens to identities.

    ``tokens`` is ``{token: identity}`` or a function ``token -> identity | None``. With neither,
    the server is open: every caller is :data:`ANONYMOUS` and shares the threads.
    """

    tokens: Mapping[str, str] | TokenCheck | None = None
    _check: TokenCheck | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        tokens = self.tokens
        if tokens is None:
            self._check = None
        elif callable(tokens):
            self._check = tokens
        else:
            table = dict(tokens)
            for token, identity in table.items():
                if not token or not isinstance(identity, str) or not identity:
                    raise ValueError("tokens map non-empty token strings to non-empty identity strings")

            def check(token: str) -> str | None:
                found = None
                for known, identity in table.items():  # compare every entry in constant time
                    if hmac.compare_digest(known.encode(), token.encode()):
                        found = identity
                return found

            self._check = check

    @property
    def open(self) -> bool:
        """Whether the server accepts everyone (no tokens configured)."""
        return self._check is None

    def identify(self, token: str | None) -> str | None:
        """The identity of ``token``, or None when it is missing or unknown."""
        if self._check is None:
            return ANONYMOUS
        if not token:
            return None
        return self._check(token)

    def from_upgrade(self, conn: HTTPConnection) -> str | None:
        """The identity proven by the upgrade request (``Authorization: Bearer`` or the cookie)."""
        if self._check is None:
            return ANONYMOUS
        header = conn.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return self._check(value.strip())
        cookie = conn.cookies.get(COOKIE_NAME)
        if cookie:
            return self._check(cookie)
        return None


def origin_allowed(conn: HTTPConnection, allowed: Iterable[str] | None) -> bool:
    """Whether the upgrade's ``Origin`` may connect.

    No ``Origin`` (not a browser): allowed. Otherwise the origin must be the server's own
    (same host and port as the ``Host`` header) or listed in ``allowed`` (``"*"`` allows all).
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    allowed = list(allowed or ())
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    host = conn.headers.get("host")
    return bool(host) and parts.netloc.lower() == str(host).lower() and parts.scheme in ("http", "https")
