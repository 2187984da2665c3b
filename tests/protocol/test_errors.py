"""Spec sections 3 and 7: frame-level errors, ids, and what the server app may send."""

from __future__ import annotations

import pytest

from streamhil.protocol import (
    ERROR_FAMILY,
    CloseCode,
    EncodeError,
    ErrorCode,
    ErrorFamily,
    InvalidState,
    Ping,
    PingResult,
    SessionState,
    family_of,
)

from .helpers import (
    assert_connection_failed,
    assert_connection_goes_on,
    assert_error_sent,
    assert_sent,
    open_server_session,
    send_to,
)


class TestBadFrames:
    def test_malformed_json(self) -> None:
        session = open_server_session()
        assert send_to(session, '{"type": "ping", "id": ') == []
        assert_error_sent(session, ErrorCode.BAD_JSON)
        assert_connection_goes_on(session)

    @pytest.mark.parametrize("levels", [99, 100])
    def test_nesting_up_to_the_limit_is_accepted(self, levels: int) -> None:
        """Spec 1: the frame is level 0, so ``payload``'s innermost array may sit at level 100."""
        session = open_server_session()
        [ping] = send_to(session, '{"type": "ping", "id": "p", "payload": %s}' % ("[" * levels + "]" * levels))
        assert isinstance(ping, Ping) and ping.id == "p"

    @pytest.mark.parametrize("levels", [101, 1100, 20_000])
    def test_deeper_nesting_names_the_path_and_the_limit(self, levels: int) -> None:
        """Also deeper than the JSON parser goes (about 1024 levels): the same answer, with the id."""
        session = open_server_session()
        text = '{"type": "ping", "id": "p", "payload": {"a\\"[": %s}}' % ("[" * levels + "]" * levels)
        assert send_to(session, text) == []
        error = assert_error_sent(session, ErrorCode.INVALID_FIELD, id="p")
        assert error["path"] == 'payload.a"[' + "[0]" * 99  # the key decoded, brackets and all
        assert error["details"] == {"max_nesting_depth": 100}
        assert_connection_goes_on(session)

    @pytest.mark.parametrize(
        ("literal", "path"),
        [
            (str(2**64), "payload"),
            (str(-(2**63) - 1), "payload"),
            (str(2**70 + 1), "payload.a[1]"),
            ("9" * 300, "payload.b"),
        ],
    )
    def test_an_integer_wider_than_64_bits_is_refused_with_its_path(self, literal: str, path: str) -> None:
        """Spec 1: the JSON parser would make it a float (precision lost) without a word."""
        session = open_server_session()
        value = {"payload": literal, "payload.a[1]": '{"a": [0, %s]}' % literal, "payload.b": '{"b": %s}' % literal}[path]
        assert send_to(session, '{"type": "ping", "id": "p", "payload": %s}' % value) == []
        error = assert_error_sent(session, ErrorCode.INVALID_FIELD, id="p", path=path)
        assert error["message"].startswith(f"{path}: the integer ") and "64 bits" in error["message"]
        assert error["details"] == {"min_integer": -(2**63), "max_integer": 2**64 - 1}
        assert_connection_goes_on(session)

    def test_the_widest_integers_that_fit_and_large_floats_are_kept_exactly(self) -> None:
        session = open_server_session()
        text = '{"type": "ping", "id": "p", "payload": [%d, %d, 1e20, -3.5e30, "%d", {"%d": 1}]}' % (
            2**64 - 1, -(2**63), 2**70, 2**70,
        )
        [ping] = send_to(session, text)
        assert ping.payload == [2**64 - 1, -(2**63), 1e20, -3.5e30, str(2**70), {str(2**70): 1}]
        assert type(ping.payload[0]) is int and type(ping.payload[1]) is int

    def test_lone_surrogate_is_bad_json(self) -> None:
        session = open_server_session()
        send_to(session, '{"type": "ping", "id": "\ud800"}')
        assert_error_sent(session, ErrorCode.BAD_JSON)

    @pytest.mark.parametrize("text", ["[]", "3", '"ping"', "null", '{"id": "1"}', '{"type": 4, "id": "1"}'])
    def test_not_an_object_with_a_string_type(self, text: str) -> None:
        session = open_server_session()
        send_to(session, text)
        error = assert_error_sent(session, ErrorCode.BAD_FRAME, id="1" if '"id": "1"' in text else None)
        assert error["message"]

    def test_binary_frame(self) -> None:
        session = open_server_session()
        session.receive_bytes(b"{}")
        assert_error_sent(session, ErrorCode.BAD_FRAME)
        assert_connection_goes_on(session)

    def test_unknown_type_echoes_the_id(self) -> None:
        session = open_server_session()
        send_to(session, {"type": "launch_missiles", "id": "9"})
        error = assert_error_sent(session, ErrorCode.UNKNOWN_TYPE, id="9", path="type")
        assert error["details"] == {"type": "launch_missiles"}
        assert "start_run" in error["message"]

    @pytest.mark.parametrize("kind", ["welcome", "reply", "error", "event"])
    def test_server_frame_types_are_not_commands(self, kind: str) -> None:
        session = open_server_session()
        send_to(session, {"type": kind, "id": "1"})
        assert_error_sent(session, ErrorCode.UNKNOWN_TYPE, id="1")

    @pytest.mark.parametrize(
        ("bad_id", "echoed"), [(None, None), (5, None), ("", ""), ("x" * 65, "x" * 65), ("x" * 257, None), (["1"], None)]
    )
    def test_missing_or_bad_id(self, bad_id: object, echoed: str | None) -> None:
        """A string id that is not 1-64 characters is echoed (up to 256), so the client can match it."""
        session = open_server_session()
        obj = {"type": "ping"} if bad_id is None else {"type": "ping", "id": bad_id}
        send_to(session, obj)
        assert_error_sent(session, ErrorCode.INVALID_FIELD, id=echoed, path="id")
        assert_connection_goes_on(session)

    @pytest.mark.parametrize("raw", ["null", "[1]", "3", '"hello"'])
    def test_a_frame_that_is_not_an_object_names_its_json_type(self, raw: str) -> None:
        session = open_server_session()
        send_to(session, raw)
        error = assert_error_sent(session, ErrorCode.BAD_FRAME)
        assert "NoneType" not in error["message"] and error["message"].endswith(
            {"null": "null", "[1]": "array", "3": "integer", '"hello"': "string"}[raw]
        )

    def test_oversize_frame_is_refused_and_the_connection_goes_on(self) -> None:
        session = open_server_session(max_frame_bytes=100)
        send_to(session, {"type": "ping", "id": "1", "payload": "é" * 60})  # 120+ bytes, < 100 chars
        error = assert_error_sent(session, ErrorCode.FRAME_TOO_LARGE, id="1")  # the id leads the frame
        size = len('{"type":"ping","id":"1","payload":""}') + 120
        assert error["details"] == {"max_frame_bytes": 100, "frame_bytes": size}
        assert_connection_goes_on(session)
        (ping,) = send_to(session, {"type": "ping", "id": "2"})
        assert ping.id == "2"

    @pytest.mark.parametrize(
        ("text", "echoed"),
        [
            ('{"id":"a1","type":"ping","payload":"%s"}', "a1"),
            (' {\n "type" : "ping" ,\t"id" : "a2", "payload":"%s"}', "a2"),
            ('{"type":"ping","payload":"%s","id":"late"}', None),  # not at the head: not read
            ('{"type":"ping","payload":{"id":"inner"},"x":"%s"}', None),
            ('{"type":"ping","id":"with\\"quote","payload":"%s"}', None),  # escapes: not read
            ('["id","%s"]', None),
        ],
    )
    def test_an_oversize_frame_names_its_id_only_when_the_frame_opens_with_it(self, text: str, echoed: str | None) -> None:
        session = open_server_session(max_frame_bytes=100)
        send_to(session, text % ("x" * 200))
        assert_error_sent(session, ErrorCode.FRAME_TOO_LARGE, id=echoed)
        assert_connection_goes_on(session)

    def test_frame_exactly_at_the_limit_is_accepted(self) -> None:
        text = '{"type":"ping","id":"1","payload":"' + "a" * 200 + '"}'
        session = open_server_session(max_frame_bytes=len(text))
        assert len(send_to(session, text)) == 1
        assert send_to(session, text.replace('"1"', '"12"')) == []
        assert_error_sent(session, ErrorCode.FRAME_TOO_LARGE, id="12")


class TestIds:
    def test_duplicate_unanswered_id_is_refused_without_touching_the_first(self) -> None:
        session = open_server_session()
        (first,) = send_to(session, {"type": "ping", "id": "a"})
        assert send_to(session, {"type": "ping", "id": "a"}) == []
        assert_error_sent(session, ErrorCode.DUPLICATE_ID, id="a", path="id")
        assert session.pending_ids == {"a"}
        session.send_reply("a", PingResult())
        assert_sent(session, {"type": "reply", "id": "a", "result": {"payload": None}})

    def test_id_may_be_reused_once_answered(self) -> None:
        session = open_server_session()
        send_to(session, {"type": "ping", "id": "a"})
        session.send_error("a", ErrorCode.INTERNAL_ERROR, "boom")
        session.data_to_send()
        assert len(send_to(session, {"type": "ping", "id": "a"})) == 1

    def test_replying_twice_is_misuse(self) -> None:
        session = open_server_session()
        send_to(session, {"type": "ping", "id": "a"})
        session.send_reply("a", {"payload": 1})
        with pytest.raises(InvalidState, match="'a'"):
            session.send_reply("a", {"payload": 1})
        with pytest.raises(InvalidState):
            session.send_error("a", ErrorCode.NOT_FOUND, "x")

    def test_unencodable_result_raises_and_keeps_the_id_pending(self) -> None:
        session = open_server_session()
        send_to(session, {"type": "ping", "id": "a"})
        with pytest.raises(EncodeError):
            session.send_reply("a", {"payload": object()})
        assert session.pending_ids == {"a"}
        session.send_error("a", ErrorCode.INTERNAL_ERROR, "could not encode")
        assert_error_sent(session, ErrorCode.INTERNAL_ERROR, id="a")

    def test_error_with_details_and_path(self) -> None:
        session = open_server_session()
        send_to(session, {"type": "resume", "id": "r", "thread_id": "t", "value": 1})
        session.send_error("r", ErrorCode.AMBIGUOUS_RESUME, "name one", path="value", details={"interrupt_ids": ["a", "b"]})
        error = assert_error_sent(session, ErrorCode.AMBIGUOUS_RESUME, id="r", path="value")
        assert error["details"] == {"interrupt_ids": ["a", "b"]}

    def test_unknown_error_code_is_misuse(self) -> None:
        session = open_server_session()
        with pytest.raises(ValueError):
            session.send_error(None, "made_up", "x")


class TestFail:
    @pytest.mark.parametrize(
        ("close_code", "error_code"),
        [
            (CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER),
            (CloseCode.RECONNECT, ErrorCode.SHUTTING_DOWN),
            (CloseCode.HEARTBEAT_TIMEOUT, ErrorCode.HEARTBEAT_TIMEOUT),
            (CloseCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR),
            (CloseCode.FORBIDDEN, ErrorCode.FORBIDDEN),
        ],
    )
    def test_fail_sends_the_matching_error_then_closes(self, close_code: CloseCode, error_code: ErrorCode) -> None:
        session = open_server_session()
        send_to(session, {"type": "ping", "id": "a"})
        session.fail(close_code, "reason text")
        assert_connection_failed(session, close_code, error_code)
        assert session.pending_ids == frozenset()
        with pytest.raises(InvalidState):
            session.send_reply("a", {})
        session.fail(CloseCode.RECONNECT)  # idempotent
        assert session.close_code == close_code and session.data_to_send() == []

    def test_normal_close_sends_no_error(self) -> None:
        session = open_server_session()
        session.close()
        assert session.data_to_send() == [] and session.close_code == 1000
        assert session.state is SessionState.CLOSED

    def test_close_reason_fits_a_close_frame(self) -> None:
        session = open_server_session()
        session.fail(CloseCode.INTERNAL_ERROR, "ü" * 200)
        assert len(session.close_reason.encode()) <= 123


def test_every_error_code_has_a_family() -> None:
    assert set(ERROR_FAMILY) == set(ErrorCode)
    assert family_of("thread_busy") is ErrorFamily.CONFLICT
    assert family_of("from_the_future") is ErrorFamily.SERVER
