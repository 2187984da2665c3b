"""Spec section 2: hello → welcome, and every way a handshake fails."""

from __future__ import annotations

import pytest

from streamhil.protocol import (
    CloseCode,
    ErrorCode,
    Hello,
    InvalidState,
    Limits,
    ServerSession,
    SessionState,
)

from .helpers import (
    HELLO,
    assert_connection_failed,
    assert_error_sent,
    assert_sent,
    open_server_session,
    send_to,
)


class TestHello:
    def test_valid_hello_is_an_event_and_nothing_is_sent(self) -> None:
        session = ServerSession()
        events = send_to(session, {**HELLO, "client": {"name": "t", "version": "1"}})
        assert events == [Hello(protocol_version=1, token="alice-token", client={"name": "t", "version": "1"})]
        assert session.data_to_send() == []
        assert session.state is SessionState.CONNECTING

    def test_token_may_be_null_for_header_auth(self) -> None:
        session = ServerSession()
        (hello,) = send_to(session, {"type": "hello", "protocol_version": 1, "token": None})
        assert hello.token is None

    def test_welcome_opens_the_session_with_limits(self) -> None:
        session = ServerSession(max_frame_bytes=2048)
        send_to(session, HELLO)
        session.send_welcome(session_id="s-9", epoch="e-3", identity="alice")
        (welcome,) = assert_sent(
            session,
            {"type": "welcome", "protocol_version": 1, "session_id": "s-9", "epoch": "e-3", "identity": "alice"},
        )
        assert welcome["limits"]["max_frame_bytes"] == 2048
        assert set(welcome["limits"]) == {"max_frame_bytes", "heartbeat_interval_ms", "max_send_queue"}
        assert "values" in welcome["capabilities"]["stream_modes"]
        assert session.state is SessionState.OPEN

    def test_welcome_before_hello_is_misuse(self) -> None:
        with pytest.raises(InvalidState, match="cannot send welcome"):
            ServerSession().send_welcome(epoch="e")

    def test_second_welcome_is_misuse(self) -> None:
        session = open_server_session()
        with pytest.raises(InvalidState):
            session.send_welcome(epoch="e", limits=Limits())


class TestHandshakeFailures:
    @pytest.mark.parametrize(
        "first",
        [
            "not json",
            "[1, 2]",
            '{"protocol_version": 1}',
            '{"type": "start_run", "id": "1", "graph": "g"}',
            '{"type": "hello"}',
            '{"type": "hello", "protocol_version": "1"}',
            '{"type": "hello", "protocol_version": 1, "token": 5}',
            '{"type": "hello", "protocol_version": 1, "extra": true}',
        ],
    )
    def test_first_frame_not_a_valid_hello_closes_4400(self, first: str) -> None:
        session = ServerSession()
        assert send_to(session, first) == []
        error = assert_connection_failed(session, CloseCode.HELLO_EXPECTED, ErrorCode.HELLO_EXPECTED)
        assert "hello" in error["message"]
        assert session.protocol_error is not None

    def test_binary_first_frame_closes_4400(self) -> None:
        session = ServerSession()
        session.receive_bytes(b"\x00\x01")
        assert_connection_failed(session, CloseCode.HELLO_EXPECTED, ErrorCode.HELLO_EXPECTED)

    def test_unsupported_version_closes_4426_and_lists_supported(self) -> None:
        session = ServerSession()
        send_to(session, {"type": "hello", "protocol_version": 7})
        error = assert_connection_failed(session, CloseCode.UNSUPPORTED_VERSION, ErrorCode.UNSUPPORTED_VERSION)
        assert error["details"] == {"supported": [1]}
        assert error["path"] == "protocol_version"

    def test_auth_failure_closes_4401(self) -> None:
        session = ServerSession()
        send_to(session, HELLO)
        session.fail(CloseCode.UNAUTHENTICATED, "bad token")
        error = assert_connection_failed(session, CloseCode.UNAUTHENTICATED, ErrorCode.UNAUTHENTICATED)
        assert error["message"] == "bad token"

    def test_hello_timeout_closes_4408(self) -> None:
        session = ServerSession()
        session.fail(CloseCode.HELLO_TIMEOUT)
        assert_connection_failed(session, CloseCode.HELLO_TIMEOUT, ErrorCode.HELLO_TIMEOUT)

    def test_frames_after_close_are_discarded(self) -> None:
        session = ServerSession()
        send_to(session, "garbage")
        session.data_to_send()
        assert send_to(session, HELLO) == []
        assert session.data_to_send() == []

    def test_commands_before_welcome_are_refused_with_their_id(self) -> None:
        session = ServerSession()
        send_to(session, HELLO)
        assert send_to(session, {"type": "ping", "id": "p"}) == []
        assert_error_sent(session, ErrorCode.NOT_READY, id="p")
        assert session.state is SessionState.CONNECTING

    def test_second_hello_is_an_error_and_the_connection_goes_on(self) -> None:
        session = open_server_session()
        assert send_to(session, HELLO) == []
        assert_error_sent(session, ErrorCode.UNEXPECTED_HELLO)
        assert session.state is SessionState.OPEN

    def test_a_peer_close_is_reported_once(self) -> None:
        session = open_server_session()
        session.receive_close(1001, "bye")
        session.receive_close(1000)
        events = session.events_received()
        assert len(events) == 1 and events[0].code == 1001 and events[0].reason == "bye"
        assert session.state is SessionState.CLOSED
