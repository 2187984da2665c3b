"""WebSocket close codes of the streamhil protocol (``docs/protocol.md`` section 8).

4000–4399 are recoverable: the client reconnects and replays from its last ``seq``.
4400–4999 are terminal: the client must not reconnect on its own.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CloseCode", "is_recoverable"]


class CloseCode(IntEnum):
    """Close codes the server (or, for 1002, the client) closes a connection with."""

    NORMAL = 1000
    """Standard: the connection was closed on purpose."""
    GOING_AWAY = 1001
    """Standard: an endpoint is going away."""
    PROTOCOL_ERROR = 1002
    """Standard: the peer broke the protocol (the Python client uses it for a bad server)."""
    MESSAGE_TOO_BIG = 1009
    """Standard: a frame above the WebSocket layer's own size limit."""

    RECONNECT = 4000
    """Server shutting down or restarting: reconnect and replay."""
    SLOW_CONSUMER = 4008
    """This connection's send queue overflowed: reconnect and replay from the last seq."""
    INTERNAL_ERROR = 4011
    """Unexpected server failure on this connection: reconnect and replay."""
    HEARTBEAT_TIMEOUT = 4012
    """Nothing received from the client for 3 heartbeat intervals: reconnect."""

    HELLO_EXPECTED = 4400
    """The first frame was not a valid ``hello``."""
    UNAUTHENTICATED = 4401
    """Credentials missing or rejected."""
    FORBIDDEN = 4403
    """The identity may not use this server."""
    HELLO_TIMEOUT = 4408
    """No ``hello`` in time."""
    UNSUPPORTED_VERSION = 4426
    """The protocol version is not supported."""
    TOO_MANY_ATTEMPTS = 4429
    """Too many failed authentication attempts from this address: wait before trying again."""


_RECOVERABLE_STANDARD = frozenset({1001, 1006, 1011, 1012, 1013})


def is_recoverable(code: int | None) -> bool:
    """Whether a client should reconnect on its own after a close with ``code``.

    ``None`` (no close frame: the connection just dropped) counts as recoverable.
    """
    if code is None:
        return True
    if 4000 <= code <= 4399:
        return True
    return code in _RECOVERABLE_STANDARD
