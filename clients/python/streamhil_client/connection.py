"""Open one WebSocket and complete the streamhil handshake on it (asyncio, websockets)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from streamhil.protocol import ClientSession, CloseCode, ErrorReply, SessionState, Welcome

from .errors import ClientClosedError, ConnectionLostError, StreamhilClientError, error_from_reply
from .window import InFlightWindow, window_size

__all__ = ["Connection", "open_connection", "DEFAULT_MAX_SIZE"]

DEFAULT_MAX_SIZE = 64 * 1024 * 1024
"""Largest server frame the SDK accepts (the protocol sets no limit on server frames)."""


@dataclass(eq=False)
class Connection:
    """One open connection: the socket, its protocol session and its unanswered commands."""

    ws: ClientConnection
    session: ClientSession
    welcome: Welcome
    window: InFlightWindow
    """Bounds the commands unanswered at once; held shut to the caller's commands until the
    re-subscribes have been sent."""
    waiters: dict[str, Any] = field(default_factory=dict)
    broken: str | None = None
    """Set when the client decided to drop this connection (e.g. a seq gap), with the reason."""
    last_error: ErrorReply | None = None
    """The last connection-level ``error`` frame (``id: null``): why the server closes."""
    last_sent: float = 0.0
    closed: anyio.Event = field(default_factory=anyio.Event)
    """Set once the client has given this connection up."""
    healthy: bool = False
    """Set once every re-subscribe on this connection was answered: the backoff starts over."""

    @property
    def epoch(self) -> str:
        return self.welcome.epoch


async def open_connection(
    url: str,
    *,
    token: str | None,
    headers: Mapping[str, str] | None,
    client_info: Mapping[str, str] | None,
    open_timeout: float,
    connect_kwargs: Mapping[str, Any],
    max_in_flight: int | None = None,
) -> Connection:
    """Connect, send ``hello`` and wait for ``welcome``.

    Raises :class:`AuthError` (or another error of the reply's family) when the server refuses
    the handshake, :class:`ConnectionLostError` when the connection drops during it, and
    ``OSError`` / websockets' handshake errors when the socket cannot be opened. The in-flight
    window is ``max_in_flight``, or else derived from the server's ``limits.max_send_queue``.
    """
    kwargs: dict[str, Any] = {"max_size": DEFAULT_MAX_SIZE, "open_timeout": open_timeout, **connect_kwargs}
    ws = await connect(url, additional_headers=dict(headers) if headers else None, **kwargs)
    session = ClientSession(token=token, client_info=client_info, batch=True)
    refusal: StreamhilClientError | None = None
    try:
        with anyio.fail_after(open_timeout):
            for text in session.data_to_send():
                await ws.send(text)
            while session.state is SessionState.CONNECTING:
                frame = await ws.recv()
                if isinstance(frame, bytes):
                    session.receive_bytes(frame)
                else:
                    session.receive_text(frame)
                for event in session.events_received():
                    if isinstance(event, ErrorReply):
                        refusal = error_from_reply(event)
            if session.state is SessionState.CLOSED:
                await ws.close(CloseCode.PROTOCOL_ERROR, session.close_reason)
                raise ClientClosedError(
                    f"the server broke the protocol during the handshake: {session.protocol_error}",
                    close_code=CloseCode.PROTOCOL_ERROR,
                )
    except ConnectionClosed as exc:
        if refusal is not None:
            raise refusal from None
        code = exc.rcvd.code if exc.rcvd is not None else None
        raise ConnectionLostError(f"the connection closed during the handshake (code {code})") from None
    except BaseException:
        await ws.close()
        raise
    if session.welcome is None:  # unreachable: OPEN implies a welcome
        raise ConnectionLostError("no welcome received")
    welcome = session.welcome
    size = max_in_flight if max_in_flight is not None else window_size(welcome.limits.max_send_queue)
    if welcome.limits.max_commands_in_flight is not None:  # never more than the server takes
        size = min(size, welcome.limits.max_commands_in_flight)
    window = InFlightWindow(size, held=True)
    return Connection(ws=ws, session=session, welcome=welcome, window=window, last_sent=anyio.current_time())
