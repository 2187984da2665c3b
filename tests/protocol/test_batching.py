"""Spec section 1.1: batched server messages, negotiated in hello/welcome (both sessions)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamhil.protocol import (
    ClientSession,
    CloseCode,
    ErrorCode,
    ErrorReply,
    Hello,
    Ping,
    PingResult,
    ProtocolError,
    Reply,
    ServerSession,
    SessionState,
    Welcome,
    decode_client_frame,
    decode_server_frame,
    decode_server_object,
    encode_event,
    encode_reply,
)

from .helpers import HELLO, frame, send_to, sent_frames


def handshake(*, client_asks: bool, server_batches: bool) -> tuple[ClientSession, ServerSession, Welcome]:
    """A client and a server session after hello and welcome."""
    client = ClientSession(token="alice-token", batch=client_asks)
    server = ServerSession()
    for text in client.data_to_send():
        server.receive_text(text)
    (hello,) = server.events_received()
    assert isinstance(hello, Hello) and hello.batch is client_asks
    server.send_welcome(session_id="s-1", epoch="e-1", identity="alice", batch=server_batches)
    for text in server.data_to_send():
        client.receive_text(text)
    (welcome,) = client.events_received()
    assert isinstance(welcome, Welcome)
    return client, server, welcome


def event(seq: int, kind: str = "updates", data: Any = None) -> str:
    return encode_event(kind, thread_id="t-1", run_id="r-1", seq=seq, data={"n": seq} if data is None else data)


def batch(*frames: str) -> str:
    """A batched message as the server writes it: the frames' JSON text joined in an array."""
    return "[" + ",".join(frames) + "]"


def assert_violation(client: ClientSession, fragment: str) -> None:
    assert client.state is SessionState.CLOSED
    assert client.close_code == CloseCode.PROTOCOL_ERROR
    assert client.protocol_error is not None and fragment in client.protocol_error


class TestNegotiation:
    def test_hello_leaves_batch_out_unless_asked(self) -> None:
        assert sent_frames(ClientSession()) == [{"type": "hello", "protocol_version": 1}]
        assert sent_frames(ClientSession(batch=True)) == [{"type": "hello", "protocol_version": 1, "batch": True}]

    def test_hello_batch_must_be_a_boolean(self) -> None:
        with pytest.raises(ProtocolError) as caught:
            decode_client_frame(frame({**HELLO, "batch": "yes"}), max_frame_bytes=1_000)
        assert caught.value.code == ErrorCode.INVALID_FIELD and caught.value.path == "batch"
        hello = decode_client_frame(frame({**HELLO, "batch": False}), max_frame_bytes=1_000)
        assert isinstance(hello, Hello) and hello.batch is False

    @pytest.mark.parametrize(
        ("client_asks", "server_batches", "batched"),
        [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
    )
    def test_both_must_agree(self, client_asks: bool, server_batches: bool, batched: bool) -> None:
        client, server, welcome = handshake(client_asks=client_asks, server_batches=server_batches)
        assert welcome.batch is batched
        assert client.batched is batched and server.batched is batched

    def test_welcome_without_batching_is_todays_welcome(self) -> None:
        server = ServerSession()
        send_to(server, HELLO)  # no batch asked
        server.send_welcome(session_id="s-1", epoch="e-1", batch=True)
        (welcome,) = sent_frames(server)
        assert "batch" not in welcome
        server = ServerSession()
        send_to(server, {**HELLO, "batch": True})
        server.send_welcome(session_id="s-1", epoch="e-1", batch=True)
        (welcome,) = sent_frames(server)
        assert welcome["batch"] is True

    def test_a_welcome_turning_batching_on_unasked_is_a_violation(self) -> None:
        client = ClientSession()
        welcome = Welcome(session_id="s-1", epoch="e-1", batch=True)
        client.receive_text(orjson.dumps(welcome.to_wire()).decode())
        assert_violation(client, "did not ask")


class TestClientReceivesBatches:
    def test_frames_of_a_batch_are_handled_in_order_as_if_alone(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        id = client.send(Ping(payload={"x": 1}))
        client.receive_text(batch(encode_reply(id, {"payload": {"x": 1}}), event(1), event(2, "run_interrupted", {})))
        received = client.events_received()
        assert [type(r).__name__ for r in received] == ["Reply", "UpdatesEvent", "RunInterruptedEvent"]
        assert received[0] == Reply(id=id, command=Ping.type, result=PingResult(payload={"x": 1}))
        assert [r.seq for r in received[1:]] == [1, 2]
        assert client.pending == {} and client.state is SessionState.OPEN

    def test_single_frames_still_work_when_batched(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        client.receive_text(event(1))
        client.receive_text(batch(event(2)))  # an array of one is accepted too
        assert [e.seq for e in client.events_received()] == [1, 2]

    def test_an_array_without_negotiation_is_a_violation(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=False)
        client.receive_text(batch(event(1), event(2)))
        assert_violation(client, "did not negotiate")
        assert client.events_received() == []

    def test_an_array_before_welcome_is_a_violation(self) -> None:
        client = ClientSession(batch=True)
        client.receive_text(batch(orjson.dumps(Welcome(session_id="s", epoch="e", batch=True).to_wire()).decode()))
        assert_violation(client, "did not negotiate")

    def test_a_welcome_inside_a_batch_is_a_violation(self) -> None:
        client, _, welcome = handshake(client_asks=True, server_batches=True)
        client.receive_text(batch(event(1), orjson.dumps(welcome.to_wire()).decode()))
        assert_violation(client, "second welcome")

    def test_an_empty_batch_is_a_violation(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        client.receive_text("[]")
        assert_violation(client, "empty batch")

    def test_a_bad_element_stops_the_batch_there(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        client.receive_text(batch(event(1), "3", event(2)))
        assert_violation(client, "must be a JSON object")
        assert [e.seq for e in client.events_received()] == [1]  # what came before it was delivered

    def test_a_reply_twice_in_one_batch_is_a_violation(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        id = client.send(Ping())
        client.receive_text(batch(encode_reply(id, {"payload": None}), encode_reply(id, {"payload": None})))
        assert_violation(client, "not an unanswered command")

    def test_error_replies_in_a_batch_answer_their_commands(self) -> None:
        client, _, _ = handshake(client_asks=True, server_batches=True)
        first, second = client.send(Ping()), client.send(Ping())
        error = {"type": "error", "id": second, "code": "not_found", "message": "no", "path": None, "details": None}
        client.receive_text(batch(frame(error), encode_reply(first, {"payload": None})))
        received = client.events_received()
        assert isinstance(received[0], ErrorReply) and received[0].id == second
        assert isinstance(received[1], Reply) and received[1].id == first
        assert client.pending == {}


class TestDecodeServerObject:
    def test_decodes_what_decode_server_frame_decodes(self) -> None:
        text = event(7)
        assert decode_server_object(orjson.loads(text), pending={}) == decode_server_frame(text, pending={})

    def test_refuses_what_is_not_an_object(self) -> None:
        with pytest.raises(ProtocolError) as caught:
            decode_server_object([1], pending={})
        assert caught.value.code == ErrorCode.BAD_FRAME


class TestServerRefusesClientArrays:
    @pytest.mark.parametrize("batched", [False, True])
    def test_a_client_array_is_a_bad_frame_and_the_connection_goes_on(self, batched: bool) -> None:
        server = ServerSession()
        send_to(server, {**HELLO, "batch": batched})
        server.send_welcome(session_id="s-1", epoch="e-1", batch=True)
        server.data_to_send()
        assert send_to(server, [{"type": "ping", "id": "1"}, {"type": "ping", "id": "2"}]) == []
        (error,) = sent_frames(server)
        assert error["code"] == ErrorCode.BAD_FRAME and error["id"] is None and "JSON object" in error["message"]
        assert server.state is SessionState.OPEN and server.pending_count == 0

    def test_a_client_array_instead_of_hello_fails_the_handshake(self) -> None:
        server = ServerSession()
        send_to(server, [HELLO])
        (error,) = sent_frames(server)
        assert error["code"] == ErrorCode.HELLO_EXPECTED
        assert server.close_code == CloseCode.HELLO_EXPECTED
