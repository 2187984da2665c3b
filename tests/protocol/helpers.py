"""Protocol test helpers, named in the protocol's terms (websockets' assertFrameSent style)."""

from __future__ import annotations

from typing import Any

import orjson

from streamhil.protocol import (
    ClientSession,
    CloseCode,
    ErrorCode,
    ServerSession,
    SessionState,
    Welcome,
)

HELLO: dict[str, Any] = {"type": "hello", "protocol_version": 1, "token": "alice-token"}


def frame(obj: Any) -> str:
    """A text frame holding ``obj`` (strings are sent as they are)."""
    return obj if isinstance(obj, str) else orjson.dumps(obj).decode()


def send_to(session: ServerSession | ClientSession, *frames: Any) -> list[Any]:
    """Feed frames to ``session`` and return the events it produced."""
    for item in frames:
        session.receive_text(frame(item))
    return session.events_received()


def sent_frames(session: ServerSession | ClientSession) -> list[dict[str, Any]]:
    """Drain and parse the frames the session wants to send."""
    return [orjson.loads(text) for text in session.data_to_send()]


def open_server_session(**kwargs: Any) -> ServerSession:
    """A server session after hello and welcome, with its output drained."""
    session = ServerSession(**kwargs)
    send_to(session, HELLO)
    session.send_welcome(session_id="s-1", epoch="e-1", identity="alice")
    session.data_to_send()
    return session


def open_client_session(**kwargs: Any) -> tuple[ClientSession, Welcome]:
    """A client session after hello and a welcome from a real server session."""
    client = ClientSession(token="alice-token", **kwargs)
    server = ServerSession()
    for text in client.data_to_send():
        server.receive_text(text)
    server.send_welcome(session_id="s-1", epoch="e-1", identity="alice")
    for text in server.data_to_send():
        client.receive_text(text)
    (welcome,) = client.events_received()
    return client, welcome


def assert_sent(session: ServerSession | ClientSession, *expected: dict[str, Any]) -> list[dict[str, Any]]:
    """Assert that the session sent exactly these frames, each matching on the keys given."""
    frames = sent_frames(session)
    assert len(frames) == len(expected), f"sent {frames!r}, expected {len(expected)} frame(s)"
    for got, want in zip(frames, expected, strict=True):
        for key, value in want.items():
            assert got.get(key) == value, f"frame {got!r}: {key} should be {value!r}"
    return frames


def assert_error_sent(
    session: ServerSession,
    code: ErrorCode,
    *,
    id: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """Assert that exactly one ``error`` frame was sent, with this code, id and path."""
    (error,) = assert_sent(session, {"type": "error", "code": code.value, "id": id})
    assert set(error) == {"type", "id", "code", "message", "path", "details"}
    assert error["message"], "an error must say what is wrong"
    if path is not None:
        assert error["path"] == path, f"path {error['path']!r} != {path!r}: {error['message']}"
    return error


def assert_connection_goes_on(session: ServerSession) -> None:
    assert session.state is SessionState.OPEN
    assert session.close_code is None


def assert_connection_failed(session: ServerSession, close_code: CloseCode, error_code: ErrorCode) -> dict[str, Any]:
    """Assert the session sent one error frame (id null) and closed with ``close_code``."""
    error = assert_error_sent(session, error_code, id=None)
    assert session.state is SessionState.CLOSED
    assert session.close_code == close_code
    return error
