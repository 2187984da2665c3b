"""Spec section 16, client side: fresh ids, typed replies, and a broken server fails with 1002."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamhil.protocol import (
    ClientSession,
    CloseCode,
    ConnectionClosed,
    ErrorCode,
    ErrorReply,
    GetState,
    GetStateResult,
    InvalidState,
    Limits,
    ListGraphs,
    ListGraphsResult,
    Ping,
    PingResult,
    ProtocolError,
    Reply,
    ServerSession,
    SessionState,
    StartRun,
    StartRunResult,
    Subscribe,
    SubscribeResult,
    ValuesEvent,
)

from .helpers import open_client_session, send_to, sent_frames


def reply(id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "reply", "id": id, "result": result}


def assert_failed(client: ClientSession, fragment: str) -> None:
    assert client.state is SessionState.CLOSED
    assert client.close_code == CloseCode.PROTOCOL_ERROR
    assert client.protocol_error is not None and fragment in client.protocol_error


class TestHandshake:
    def test_hello_is_queued_on_creation(self) -> None:
        client = ClientSession(token="tok", client_info={"name": "x"})
        assert sent_frames(client) == [{"type": "hello", "protocol_version": 1, "token": "tok", "client": {"name": "x"}}]
        assert client.state is SessionState.CONNECTING

    def test_commands_before_welcome_are_refused(self) -> None:
        with pytest.raises(InvalidState, match="before|connecting"):
            ClientSession().send(Ping())

    def test_welcome_opens(self) -> None:
        client, welcome = open_client_session()
        assert client.state is SessionState.OPEN and client.welcome == welcome and welcome.epoch == "e-1"

    def test_handshake_error_then_close(self) -> None:
        client = ClientSession()
        events = send_to(client, {"type": "error", "id": None, "code": "unauthenticated", "message": "bad token"})
        assert events == [ErrorReply(id=None, code="unauthenticated", message="bad token")]
        client.receive_close(4401, "bad token")
        assert client.events_received() == [ConnectionClosed(4401, "bad token")]

    def test_event_before_welcome_is_a_violation(self) -> None:
        client = ClientSession()
        send_to(client, {"type": "event", "event": "values", "thread_id": "t", "run_id": None, "seq": 1, "data": {}})
        assert_failed(client, "before welcome")

    def test_second_welcome_is_a_violation(self) -> None:
        client, welcome = open_client_session()
        client.receive_text(orjson.dumps(welcome.to_wire()).decode())
        assert_failed(client, "second welcome")


class TestCommands:
    def test_fresh_ids_and_typed_replies(self) -> None:
        client, _ = open_client_session()
        first = client.send(StartRun(graph="g", input={"x": 1}))
        second = client.send(Ping(payload=[1]))
        assert first != second
        frames = sent_frames(client)
        assert [f["id"] for f in frames] == [first, second]
        assert frames[0]["type"] == "start_run" and frames[0]["input"] == {"x": 1}
        events = send_to(
            client,
            reply(second, {"payload": [1]}),
            reply(first, {"run_id": "r", "thread_id": "t", "seq": 0, "queued": False}),
        )
        assert events == [
            Reply(id=second, command=Ping.type, result=PingResult(payload=[1])),
            Reply(id=first, command=StartRun.type, result=StartRunResult(run_id="r", thread_id="t", seq=0)),
        ]
        assert client.pending == {}

    def test_explicit_id_is_kept_and_duplicates_refused(self) -> None:
        client, _ = open_client_session()
        assert client.send(Ping(id="mine")) == "mine"
        with pytest.raises(InvalidState, match="mine"):
            client.send(Ping(id="mine"))

    def test_generated_ids_skip_explicit_ones(self) -> None:
        client, _ = open_client_session()
        client.send(Ping(id="1"))
        assert client.send(Ping()) == "2"

    def test_error_reply_answers_the_command(self) -> None:
        client, _ = open_client_session()
        id = client.send(GetState(thread_id="t"))
        (error,) = send_to(
            client,
            {"type": "error", "id": id, "code": "not_found", "message": "no thread t", "details": {"resource": "thread"}},
        )
        assert isinstance(error, ErrorReply) and error.code == "not_found" and error.details == {"resource": "thread"}
        assert client.pending == {}

    def test_results_are_typed_per_command(self) -> None:
        client, _ = open_client_session()
        state_id = client.send(GetState(thread_id="t"))
        graphs_id = client.send(ListGraphs())
        sub_id = client.send(Subscribe(thread_id="t", after=3, epoch="old"))
        state = {"values": {"a": 1}, "next": [], "checkpoint_id": "c", "tasks": [], "interrupts": []}
        events = send_to(
            client,
            reply(state_id, {"state": state}),
            reply(graphs_id, {"graphs": [{"name": "g", "nodes": ["__start__", "a"], "edges": [{"source": "__start__", "target": "a"}]}]}),
            reply(
                sub_id,
                {
                    "thread_id": "t",
                    "epoch": "new",
                    "head_seq": 9,
                    "status": "interrupted",
                    "replayed": 0,
                    "resync": True,
                    "reason": "epoch_changed",
                    "state": state,
                    "interrupts": [{"id": "i", "value": 1, "node": "a", "task_id": None, "ns": []}],
                },
            ),
        )
        assert isinstance(events[0].result, GetStateResult) and events[0].result.state.values == {"a": 1}
        assert isinstance(events[1].result, ListGraphsResult) and events[1].result.graphs[0].edges[0].target == "a"
        result = events[2].result
        assert isinstance(result, SubscribeResult) and result.resync and result.reason == "epoch_changed"
        assert result.state is not None and result.interrupts[0].id == "i"

    def test_events_are_typed(self) -> None:
        client, _ = open_client_session()
        (event,) = send_to(
            client, {"type": "event", "event": "values", "thread_id": "t", "run_id": "r", "seq": 1, "ns": [], "data": {"a": 1}}
        )
        assert event == ValuesEvent(thread_id="t", run_id="r", seq=1, data={"a": 1})


class TestFrameSize:
    @staticmethod
    def opened(max_frame_bytes: int) -> ClientSession:
        client = ClientSession()
        server = ServerSession()
        for text in client.data_to_send():
            server.receive_text(text)
        server.send_welcome(session_id="s-1", epoch="e-1", limits=Limits(max_frame_bytes=max_frame_bytes))
        for text in server.data_to_send():
            client.receive_text(text)
        client.events_received()
        return client

    def test_a_command_larger_than_max_frame_bytes_is_refused_and_nothing_is_queued(self) -> None:
        client = self.opened(200)
        at_limit = "a" * (200 - len('{"type":"ping","id":"1","payload":""}'))
        assert client.send(Ping(payload=at_limit)) == "1"
        with pytest.raises(ProtocolError) as info:
            client.send(Ping(payload="é" * 100))  # 100 characters, 200 bytes of UTF-8 in the payload
        assert info.value.code is ErrorCode.FRAME_TOO_LARGE
        size = len('{"type":"ping","id":"2","payload":""}') + 200
        assert info.value.details == {"max_frame_bytes": 200, "frame_bytes": size}
        assert list(client.pending) == ["1"]
        assert len(client.data_to_send()) == 1

    def test_an_id_less_frame_too_large_answers_the_largest_command_waiting(self) -> None:
        client, _ = open_client_session()
        small = client.send(Ping(payload="a"))
        large = client.send(Ping(payload="b" * 1000))
        error = {"type": "error", "id": None, "code": "frame_too_large", "message": "too large", "details": None}
        (answer,) = send_to(client, error)
        assert isinstance(answer, ErrorReply) and answer.id == large and answer.code == "frame_too_large"
        assert list(client.pending) == [small]
        (closing,) = send_to(client, {"type": "error", "id": None, "code": "shutting_down", "message": "bye"})
        assert closing.id is None  # other id-less errors are about the connection
        assert client.state is SessionState.OPEN


class TestBrokenServer:
    @pytest.mark.parametrize(
        ("obj", "fragment"),
        [
            ("nope", "not valid JSON"),
            ({"type": "reply", "id": "404", "result": {}}, "not an unanswered"),
            ({"type": "error", "id": "404", "code": "x", "message": "m"}, "not an unanswered"),
            ({"type": "telepathy"}, "unknown server frame"),
            ({"type": "event", "event": "values", "thread_id": "t", "seq": -1}, "seq"),
        ],
    )
    def test_violations_close_with_1002(self, obj: Any, fragment: str) -> None:
        client, _ = open_client_session()
        assert send_to(client, obj) == []
        assert_failed(client, fragment)
        assert send_to(client, {"type": "event"}) == []

    def test_reply_with_a_bad_result_names_the_field(self) -> None:
        client, _ = open_client_session()
        id = client.send(StartRun(graph="g"))
        send_to(client, reply(id, {"run_id": "r", "thread_id": "t"}))
        assert_failed(client, "result.seq")

    def test_binary_frame(self) -> None:
        client, _ = open_client_session()
        client.receive_bytes(b"x")
        assert_failed(client, "binary")
