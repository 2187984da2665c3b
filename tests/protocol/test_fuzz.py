"""Fuzzing (spec sections 7, 8, 16): whatever a peer sends, a session produces either events
or a documented error frame (and a documented close code when it cannot go on) — it never
raises and never loops."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamhil.protocol import (
    ClientSession,
    CloseCode,
    ErrorCode,
    Ping,
    ServerSession,
    SessionState,
)
from streamhil.protocol.session import CLOSE_ERROR_CODES

from .helpers import HELLO, open_client_session, open_server_session

FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)

json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

VALID_COMMANDS: list[dict[str, Any]] = [
    {"type": "start_run", "id": "1", "graph": "g", "input": {"x": 1}, "stream_modes": ["values"], "if_busy": "enqueue"},
    {"type": "resume", "id": "2", "thread_id": "t", "answers": {"a": 1}, "goto": ["n"]},
    {"type": "resume", "id": "3", "thread_id": "t", "interrupt_id": "i", "value": None},
    {"type": "cancel", "id": "4", "thread_id": "t", "run_id": "r"},
    {"type": "subscribe", "id": "5", "thread_id": "t", "after": 3, "epoch": "e"},
    {"type": "unsubscribe", "id": "6", "thread_id": "t"},
    {"type": "get_state", "id": "7", "thread_id": "t", "checkpoint_id": "c"},
    {"type": "get_history", "id": "8", "thread_id": "t", "limit": 2},
    {"type": "update_state", "id": "9", "thread_id": "t", "values": {"v": 1}, "as_node": "a"},
    {"type": "list_threads", "id": "10", "status": ["idle"], "graph": "g"},
    {"type": "list_graphs", "id": "11"},
    {"type": "ping", "id": "12", "payload": 1},
    HELLO,
]


@st.composite
def mutated_commands(draw: st.DrawFn) -> str:
    command = dict(draw(st.sampled_from(VALID_COMMANDS)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["drop", "replace", "add", "retype"]))
        keys = sorted(command)
        if action == "drop" and keys:
            command.pop(draw(st.sampled_from(keys)))
        elif action == "replace" and keys:
            command[draw(st.sampled_from(keys))] = draw(json_values)
        elif action == "add":
            command[draw(st.text(max_size=10))] = draw(json_values)
        else:
            command["type"] = draw(st.sampled_from(["start_run", "resume", "ping", "hello", "event", "x"]))
    return orjson.dumps(command).decode()


frames = (
    st.text(max_size=200)
    | json_values.map(lambda v: orjson.dumps(v).decode())
    | mutated_commands()
)

DOCUMENTED_ERRORS = {c.value for c in ErrorCode}


def check_server_outcome(session: ServerSession, events: list[Any], was_open: bool) -> None:
    out = [orjson.loads(text) for text in session.data_to_send()]
    assert len(events) + len(out) == 1, (events, out)  # exactly one outcome per frame
    if events:
        assert session.close_code is None
        return
    (error,) = out
    assert error["type"] == "error" and error["code"] in DOCUMENTED_ERRORS and error["message"]
    if session.state is SessionState.CLOSED:
        assert session.close_code in set(CloseCode)
        assert error["code"] == CLOSE_ERROR_CODES[CloseCode(session.close_code)]
        assert error["id"] is None
    else:
        assert was_open, "only an open session survives bad input"


@FUZZ
@given(frames)
def test_open_server_session_survives_any_frame(text: str) -> None:
    session = open_server_session()
    session.receive_text(text)
    check_server_outcome(session, session.events_received(), was_open=True)
    if session.state is SessionState.OPEN:
        assert session.close_code is None


@FUZZ
@given(frames)
def test_fresh_server_session_accepts_only_a_hello(text: str) -> None:
    session = ServerSession()
    session.receive_text(text)
    events = session.events_received()
    out = session.data_to_send()
    if events:
        assert session.hello is not None and out == [] and session.state is SessionState.CONNECTING
    else:
        assert session.state is SessionState.CLOSED
        assert session.close_code in {CloseCode.HELLO_EXPECTED, CloseCode.UNSUPPORTED_VERSION}
        (error,) = [orjson.loads(t) for t in out]
        assert error["code"] == CLOSE_ERROR_CODES[CloseCode(session.close_code)]


@FUZZ
@given(st.lists(frames, min_size=2, max_size=6))
def test_a_stream_of_frames_keeps_one_outcome_each(texts: list[str]) -> None:
    session = open_server_session()
    for text in texts:
        was_open = session.state is SessionState.OPEN
        session.receive_text(text)
        if not was_open:
            assert session.events_received() == [] and session.data_to_send() == []
            continue
        events = session.events_received()
        check_server_outcome(session, events, was_open)
        for command in events:  # answer, so ids can be reused by later frames
            if getattr(command, "id", None) in session.pending_ids:
                session.send_reply(command.id, {})
        session.data_to_send()


server_frames = (
    frames
    | st.fixed_dictionaries(
        {
            "type": st.just("event"),
            "event": st.sampled_from(["values", "interrupt", "run_error", "run_started", "nova"]) | st.text(max_size=8),
            "thread_id": st.just("t") | json_values,
            "run_id": st.none() | json_values,
            "seq": st.integers(-1, 3) | json_values,
            "ns": st.just([]) | json_values,
            "data": json_values,
        }
    ).map(lambda v: orjson.dumps(v).decode())
    | st.fixed_dictionaries(
        {"type": st.sampled_from(["reply", "error"]), "id": st.just("1") | json_values, "result": json_values}
    ).map(lambda v: orjson.dumps(v).decode())
)


@FUZZ
@given(server_frames)
def test_client_session_survives_any_frame(text: str) -> None:
    client, _ = open_client_session()
    assert client.send(Ping()) == "1"  # a pending command, so that replies to "1" can match
    client.data_to_send()
    client.receive_text(text)
    events = client.events_received()
    if client.state is SessionState.CLOSED:
        assert events == [] and client.close_code == CloseCode.PROTOCOL_ERROR and client.protocol_error
    else:
        assert len(events) == 1


@FUZZ
@given(server_frames)
def test_connecting_client_session_survives_any_frame(text: str) -> None:
    client = ClientSession()
    client.receive_text(text)
    events = client.events_received()
    assert client.state is SessionState.CLOSED or len(events) == 1
