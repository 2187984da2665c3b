"""Bad frames get an error naming the problem; the connection and its other threads go on.
Handshake and auth failures close the connection with the documented code before anything runs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect
from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs

from .conftest import LOCAL_WS, connect
from .wire import Closed, Wire


def test_bad_frames_do_not_disturb_other_threads(make_client: Any) -> None:
    settings = ServerSettings(max_frame_bytes=2048)
    with make_client(demo_graphs(), settings=settings) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="multi_turn", input={"messages": []})["thread_id"]
        wire.run_end(tid)

        def error_for(raw: str | bytes) -> dict[str, Any]:
            if isinstance(raw, bytes):
                wire.ws.send_bytes(raw)
            else:
                wire.send_raw(raw)
            return wire.until(lambda f: f["type"] == "error")

        cases: list[tuple[str | bytes, str, str | None]] = [
            ("{not json", "bad_json", None),
            ("[1, 2]", "bad_frame", None),
            ('{"id": "1"}', "bad_frame", "type"),
            (b"\x00\x01", "bad_frame", None),
            ('{"type": "launch_rocket", "id": "1"}', "unknown_type", "type"),
            ('{"type": "resume", "id": "x1"}', "invalid_field", "thread_id"),
            ('{"type": "start_run", "id": "x2", "graph": 7}', "invalid_field", "graph"),
            ('{"type": "start_run", "id": "x3", "graph": "approve", "stream_modes": ["values", "valuez"]}', "invalid_field", "stream_modes[1]"),
            ('{"type": "start_run", "id": "x4", "graph": "approve", "colour": "red"}', "invalid_field", "colour"),
            ('{"type": "get_history", "id": "x5", "thread_id": "t", "limit": 0}', "invalid_field", "limit"),
            ('{"type": "ping"}', "invalid_field", "id"),
            (orjson.dumps({"type": "ping", "id": "big", "payload": "x" * 5000}).decode(), "frame_too_large", None),
        ]
        for raw, code, path in cases:
            err = error_for(raw)
            assert err["code"] == code, (raw, err)
            assert err["message"]
            if path is not None:
                assert err["path"] == path, (raw, err)
        assert wire.error("start_run", graph="nope")["code"] == "not_found"
        unknown = wire.error("get_state", thread_id="t-missing")
        assert unknown["code"] == "not_found" and unknown["details"]["resource"] == "thread"
        assert wire.error("resume", thread_id="t-missing", value=1)["code"] == "not_found"
        no_interrupt = wire.error("resume", thread_id=tid, interrupt_id="i-never", value=1)
        assert no_interrupt["code"] == "not_found" and no_interrupt["details"]["resource"] == "interrupt"
        assert wire.error("resume", thread_id=tid, answers={})["code"] == "invalid_field"
        mixed = wire.error("resume", thread_id=tid, answers={"a": 1}, value=2)
        assert mixed["code"] == "invalid_field"
        bad_goto = wire.error("resume", thread_id=tid, value="x", goto="nowhere")
        assert bad_goto["code"] == "invalid_argument" and bad_goto["path"] == "goto"
        wrong_graph = wire.error("start_run", graph="approve", thread_id=tid)
        assert wrong_graph["code"] == "invalid_argument" and wrong_graph["path"] == "graph"
        reserved = wire.error("start_run", graph="approve", config={"configurable": {"thread_id": "x"}})
        assert reserved["code"] == "invalid_field" and reserved["path"] == "config.configurable.thread_id"
        assert wire.error("start_run", graph="approve", config={"recursion_limit": 0})["path"] == "config.recursion_limit"
        wire.send_json({"type": "hello", "protocol_version": 1})
        assert wire.until(lambda f: f["type"] == "error")["code"] == "unexpected_hello"
        # the thread on this connection is untouched and goes on
        wire.request("resume", thread_id=tid, value="still here")
        assert wire.run_end(tid)["event"] == "run_interrupted"
        nothing = wire.request("start_run", graph="approve", input={"request": "x"})["thread_id"]
        wire.run_end(nothing)
        wire.request("resume", thread_id=nothing, value="approve")
        wire.run_end(nothing)
        assert wire.error("resume", thread_id=nothing, value=1)["code"] == "nothing_pending"


def _closed_with(client: Any, frames: list[str], **kwargs: Any) -> tuple[list[dict[str, Any]], int | None]:
    with client.websocket_connect(LOCAL_WS, **kwargs) as ws:
        wire = Wire(ws)
        for frame in frames:
            wire.send_raw(frame)
        received = []
        with pytest.raises(Closed) as info:
            while True:
                received.append(wire.recv())
        return received, info.value.code


@pytest.mark.parametrize(
    ("frames", "code", "close"),
    [
        (['{"type": "ping", "id": "1"}'], "hello_expected", 4400),
        (["not json"], "hello_expected", 4400),
        (['{"type": "hello", "protocol_version": 9, "token": "alice-token"}'], "unsupported_version", 4426),
        (['{"type": "hello", "protocol_version": 1}'], "unauthenticated", 4401),
        (['{"type": "hello", "protocol_version": 1, "token": "wrong"}'], "unauthenticated", 4401),
    ],
)
def test_handshake_failures(make_client: Any, frames: list[str], code: str, close: int) -> None:
    with make_client(demo_graphs()) as client:
        received, closed = _closed_with(client, frames)
        assert [f["code"] for f in received] == [code]
        assert received[0]["id"] is None
        assert closed == close
        metrics = client.app.state.runtime.statistics().to_json()
        assert metrics["runs"]["started"] == 0 and metrics["threads"] == 0


def test_hello_timeout(make_client: Any) -> None:
    with make_client(demo_graphs(), settings=ServerSettings(hello_timeout=0.2)) as client:
        received, closed = _closed_with(client, [])
        assert [f["code"] for f in received] == ["hello_timeout"] and closed == 4408


def test_header_and_cookie_auth(make_client: Any) -> None:
    with make_client(demo_graphs()) as client:
        with connect(client, None, headers={"Authorization": "Bearer bob-token"}) as wire:
            assert wire.welcome["identity"] == "bob"
        with connect(client, None, headers={"Cookie": "streamhil_token=alice-token"}) as wire:
            assert wire.welcome["identity"] == "alice"
        # a hello token wins over the upgrade's credentials
        with connect(client, "alice-token", headers={"Authorization": "Bearer bob-token"}) as wire:
            assert wire.welcome["identity"] == "alice"
        received, closed = _closed_with(
            client, ['{"type": "hello", "protocol_version": 1}'], headers={"Authorization": "Bearer nope"}
        )
        assert closed == 4401


def test_origin_is_checked_on_the_upgrade(make_client: Any) -> None:
    settings = ServerSettings(allowed_origins=("https://app.example",))
    with make_client(demo_graphs(), settings=settings) as client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect(LOCAL_WS, headers={"Origin": "https://evil.example"}):
                pass
        with connect(client, headers={"Origin": "https://app.example"}) as wire:
            assert wire.welcome["identity"] == "alice"
        with connect(client, headers={"Origin": "http://localhost"}) as wire:  # the server's own origin
            assert wire.welcome["identity"] == "alice"


def test_open_server_without_tokens(make_client: Any) -> None:
    with make_client(demo_graphs(), tokens=None) as client, connect(client, None) as wire:
        assert wire.welcome["identity"] is None
        assert wire.request("list_graphs")["graphs"]


def test_silent_connection_is_closed_with_4012(make_client: Any) -> None:
    with make_client(demo_graphs(), settings=ServerSettings(heartbeat_interval_ms=50)) as client:
        with connect(client) as wire:
            assert wire.request("ping") == {"payload": None}  # traffic keeps it open
            with pytest.raises(Closed) as closed:
                while True:
                    frame = wire.recv()
                    assert frame["type"] == "error" and frame["code"] == "heartbeat_timeout"
            assert closed.value.code == 4012


def _nested_json(depth: int) -> str:
    return "[" * depth + '"leaf"' + "]" * depth


@pytest.mark.parametrize("depth", [97, 98, 99, 253, 300, 1000, 1100, 5000])
def test_too_deep_json_is_refused_before_anything_is_created(make_client: Any, depth: int) -> None:
    """Issue 8 item 3: deep nesting is an `invalid_field` naming path and limit, never a half-created
    thread or an `internal_error`; what is accepted can be stored, replayed and read back."""
    from streamhil.protocol.messages import MAX_NESTING_DEPTH

    from .graphs import odd_values

    with make_client({"store_any": odd_values()}) as client, connect(client) as wire:
        deep = _nested_json(depth)
        # the frame is level 0: `payload`'s innermost array is at level `depth`, `input.answer`'s one deeper
        accepted = depth + 1 <= MAX_NESTING_DEPTH
        wire.send_raw(f'{{"type": "ping", "id": "p1", "payload": {deep}}}')
        ping = wire.until(lambda f: f.get("id") == "p1")
        assert ping["type"] == ("reply" if depth <= MAX_NESTING_DEPTH else "error"), ping
        wire.send_raw(f'{{"type": "start_run", "id": "s1", "graph": "store_any", "thread_id": "t-deep", "input": {{"answer": {deep}}}}}')
        start = wire.until(lambda f: f.get("id") == "s1")
        if accepted:
            assert start["type"] == "reply", start
            assert wire.run_end("t-deep")["event"] == "run_done"
            state = wire.request("get_state", thread_id="t-deep")["state"]
            assert state["values"]["answer"]["set"] == [1]  # the node's own write, after the input
            return
        for err in (ping, start) if depth > MAX_NESTING_DEPTH else (start,):
            assert err["type"] == "error" and err["code"] == "invalid_field", err
            assert err["details"] == {"max_nesting_depth": MAX_NESTING_DEPTH}
            assert err["path"].startswith("payload" if err is ping else "input.answer")
        assert wire.error("get_state", thread_id="t-deep")["code"] == "not_found"  # nothing created
        assert wire.request("list_threads")["threads"] == []
        wire.request("ping")  # the connection goes on
