"""Spec section 5: every command decodes to its dataclass; bad fields are named by path."""

from __future__ import annotations

from typing import Any

import pytest

from streamhil.protocol import (
    UNSET,
    Cancel,
    ErrorCode,
    GetHistory,
    GetState,
    ListGraphs,
    ListThreads,
    Ping,
    Resume,
    StartRun,
    Subscribe,
    Unsubscribe,
    UpdateState,
    decode_client_frame,
    encode,
)

from .helpers import assert_connection_goes_on, assert_error_sent, open_server_session, send_to


def decode_one(obj: dict[str, Any]) -> Any:
    session = open_server_session()
    events = send_to(session, obj)
    assert session.data_to_send() == [], "a valid command must not be answered by the session"
    (command,) = events
    return command


class TestStartRun:
    def test_minimal_start_run_has_the_documented_defaults(self) -> None:
        command = decode_one({"type": "start_run", "id": "1", "graph": "g"})
        assert command == StartRun(id="1", graph="g")
        assert command.stream_modes == ("values", "updates")
        assert command.if_busy == "reject" and command.subgraphs is True and command.thread_id is None

    def test_all_fields(self) -> None:
        command = decode_one(
            {
                "type": "start_run",
                "id": "2",
                "graph": "g",
                "thread_id": "t",
                "input": {"x": [1, 2]},
                "stream_modes": ["custom", "values"],
                "config": {"recursion_limit": 5, "configurable": {"user": "u"}},
                "interrupt_before": "*",
                "interrupt_after": ["a", "b"],
                "checkpoint_id": "c1",
                "if_busy": "enqueue",
                "subgraphs": False,
                "metadata": {"k": 1},
            }
        )
        assert command.interrupt_before == "*" and command.interrupt_after == ("a", "b")
        assert command.stream_modes == ("custom", "values") and command.input == {"x": [1, 2]}
        assert command.config == {"recursion_limit": 5, "configurable": {"user": "u"}}
        assert (command.checkpoint_id, command.if_busy, command.subgraphs) == ("c1", "enqueue", False)

    @pytest.mark.parametrize(
        ("patch", "path"),
        [
            ({"graph": None}, "graph"),
            ({"graph": 3}, "graph"),
            ({"graph": ""}, "graph"),
            ({"stream_modes": ["values", "valuez"]}, "stream_modes[1]"),
            ({"stream_modes": ["values", "values"]}, "stream_modes[1]"),
            ({"stream_modes": "values"}, "stream_modes"),
            ({"if_busy": "rollback"}, "if_busy"),
            ({"interrupt_before": "a"}, "interrupt_before"),
            ({"interrupt_after": ["a", 1]}, "interrupt_after[1]"),
            ({"config": {"configurable": {"thread_id": "x"}}}, "config.configurable.thread_id"),
            ({"config": {"configurable": {"checkpoint_id": "x"}}}, "config.configurable.checkpoint_id"),
            ({"config": {"configurable": {"checkpoint_ns": "zzz"}}}, "config.configurable.checkpoint_ns"),
            ({"config": {"configurable": {"checkpoint_map": {}}}}, "config.configurable.checkpoint_map"),
            ({"config": {"configurable": {"__pregel_send": 1}}}, "config.configurable.__pregel_send"),
            ({"config": {"configurable": {"__streamhil_anything": 1}}}, "config.configurable.__streamhil_anything"),
            ({"config": {"configurable": []}}, "config.configurable"),
            ({"config": {"recursion_limit": 0}}, "config.recursion_limit"),
            ({"config": {"recursion_limit": True}}, "config.recursion_limit"),
            ({"config": {"max_concurrency": -3}}, "config.max_concurrency"),
            ({"config": {"max_concurrency": 1.5}}, "config.max_concurrency"),
            ({"config": {"metadata": "x"}}, "config.metadata"),
            ({"config": {"tags": "a"}}, "config.tags"),
            ({"config": {"tags": ["a", 1]}}, "config.tags[1]"),
            ({"config": {"run_name": 1}}, "config.run_name"),
            ({"config": []}, "config"),
            ({"subgraphs": 1}, "subgraphs"),
            ({"threadid": "t"}, "threadid"),
        ],
    )
    def test_bad_field_is_named(self, patch: dict[str, Any], path: str) -> None:
        session = open_server_session()
        obj = {"type": "start_run", "id": "7", "graph": "g", **patch}
        obj = {k: v for k, v in obj.items() if not (k == "graph" and v is None)}
        assert send_to(session, obj) == []
        error = assert_error_sent(session, ErrorCode.INVALID_FIELD, id="7", path=path)
        assert error["message"].startswith(path)
        assert_connection_goes_on(session)


    @pytest.mark.parametrize(
        "config",
        [
            {"configurable": {"checkpoint_ns": ""}},
            {"configurable": {"user_id": "u", "langgraph_x": 1}},
            {"max_concurrency": 0, "recursion_limit": 1, "tags": [], "run_name": "r", "metadata": {}},
        ],
    )
    def test_good_config_is_kept(self, config: dict[str, Any]) -> None:
        assert decode_one({"type": "start_run", "id": "1", "graph": "g", "config": config}).config == config


class TestResume:
    def test_plain_value(self) -> None:
        command = decode_one({"type": "resume", "id": "1", "thread_id": "t", "value": {"ok": True}})
        assert command.form == "value" and command.resume_value() == {"ok": True}

    def test_null_is_a_real_answer(self) -> None:
        command = decode_one({"type": "resume", "id": "1", "thread_id": "t", "value": None})
        assert command.value is None and command.value is not UNSET and command.form == "value"

    def test_one_by_id(self) -> None:
        command = decode_one({"type": "resume", "id": "1", "thread_id": "t", "interrupt_id": "i", "value": 3})
        assert command.form == "interrupt_id" and command.resume_value() == {"i": 3}

    def test_map_with_update_and_goto(self) -> None:
        command = decode_one(
            {
                "type": "resume",
                "id": "1",
                "thread_id": "t",
                "answers": {"a": 1, "b": None},
                "update": {"k": 2},
                "goto": ["x", "y"],
                "if_busy": "enqueue",
            }
        )
        assert command.form == "answers" and command.resume_value() == {"a": 1, "b": None}
        assert command.update == {"k": 2} and command.goto == ("x", "y") and command.if_busy == "enqueue"

    @pytest.mark.parametrize(
        ("patch", "path"),
        [
            ({}, "value"),
            ({"interrupt_id": "i"}, "value"),
            ({"answers": {}}, "answers"),
            ({"answers": [1]}, "answers"),
            ({"answers": {"a": 1}, "value": 2}, "value"),
            ({"answers": {"a": 1}, "interrupt_id": "a"}, "interrupt_id"),
            ({"value": 1, "goto": []}, "goto"),
            ({"value": 1, "goto": 5}, "goto"),
            ({"value": 1, "if_busy": "interrupt"}, "if_busy"),
            ({"value": 1, "thread_id": None}, "thread_id"),
        ],
    )
    def test_bad_resume_is_named(self, patch: dict[str, Any], path: str) -> None:
        session = open_server_session()
        obj = {"type": "resume", "id": "r", "thread_id": "t", **patch}
        obj = {k: v for k, v in obj.items() if v is not None}
        send_to(session, obj)
        assert_error_sent(session, ErrorCode.INVALID_FIELD, id="r", path=path)


class TestOtherCommands:
    @pytest.mark.parametrize(
        ("obj", "expected"),
        [
            ({"type": "cancel", "id": "1", "thread_id": "t"}, Cancel(id="1", thread_id="t")),
            ({"type": "cancel", "id": "1", "thread_id": "t", "run_id": "r"}, Cancel(id="1", thread_id="t", run_id="r")),
            ({"type": "subscribe", "id": "1", "thread_id": "t"}, Subscribe(id="1", thread_id="t")),
            (
                {"type": "subscribe", "id": "1", "thread_id": "t", "after": 0, "epoch": "e"},
                Subscribe(id="1", thread_id="t", after=0, epoch="e"),
            ),
            ({"type": "unsubscribe", "id": "1", "thread_id": "t"}, Unsubscribe(id="1", thread_id="t")),
            ({"type": "get_state", "id": "1", "thread_id": "t"}, GetState(id="1", thread_id="t")),
            (
                {"type": "get_history", "id": "1", "thread_id": "t", "limit": 5, "before": "c"},
                GetHistory(id="1", thread_id="t", limit=5, before="c"),
            ),
            (
                {"type": "update_state", "id": "1", "thread_id": "t", "values": None, "as_node": "a"},
                UpdateState(id="1", thread_id="t", values=None, as_node="a"),
            ),
            ({"type": "list_threads", "id": "1"}, ListThreads(id="1")),
            (
                {"type": "list_threads", "id": "1", "status": "interrupted", "graph": "g"},
                ListThreads(id="1", status=("interrupted",), graph="g"),
            ),
            (
                {"type": "list_threads", "id": "1", "status": ["idle", "error"], "limit": 3, "offset": 6},
                ListThreads(id="1", status=("idle", "error"), limit=3, offset=6),
            ),
            ({"type": "list_graphs", "id": "1"}, ListGraphs(id="1")),
            ({"type": "ping", "id": "1", "payload": [1]}, Ping(id="1", payload=[1])),
        ],
    )
    def test_decodes(self, obj: dict[str, Any], expected: Any) -> None:
        assert decode_one(obj) == expected

    @pytest.mark.parametrize(
        ("obj", "path"),
        [
            ({"type": "subscribe", "id": "1", "thread_id": "t", "after": -1}, "after"),
            ({"type": "subscribe", "id": "1", "thread_id": "t", "after": True}, "after"),
            ({"type": "subscribe", "id": "1", "thread_id": "t", "after": 1.5}, "after"),
            ({"type": "get_history", "id": "1", "thread_id": "t", "limit": 0}, "limit"),
            ({"type": "get_history", "id": "1", "thread_id": "t", "limit": 1001}, "limit"),
            ({"type": "update_state", "id": "1", "thread_id": "t"}, "values"),
            ({"type": "list_threads", "id": "1", "status": "sleeping"}, "status"),
            ({"type": "list_threads", "id": "1", "status": ["idle", "zzz"]}, "status[1]"),
            ({"type": "list_graphs", "id": "1", "graph": "g"}, "graph"),
            ({"type": "cancel", "id": "1"}, "thread_id"),
        ],
    )
    def test_bad_field_is_named(self, obj: dict[str, Any], path: str) -> None:
        session = open_server_session()
        send_to(session, obj)
        assert_error_sent(session, ErrorCode.INVALID_FIELD, id="1", path=path)
        assert_connection_goes_on(session)


@pytest.mark.parametrize(
    "command",
    [
        StartRun(id="1", graph="g", input={"a": 1}, interrupt_before=("x",), interrupt_after="*", config={"k": 1}),
        StartRun(id="11", graph="g", stream_modes=()),
        Resume(id="12", thread_id="t", value=1, stream_modes=()),
        Resume(id="2", thread_id="t", value=None),
        Resume(id="3", thread_id="t", interrupt_id="i", value=[1], goto="n", update={"u": 1}),
        Resume(id="4", thread_id="t", answers={"a": 1}, stream_modes=("custom",)),
        Cancel(id="5", thread_id="t", run_id="r"),
        Subscribe(id="6", thread_id="t", after=4, epoch="e"),
        GetHistory(id="7", thread_id="t", before="c"),
        UpdateState(id="8", thread_id="t", values={"v": 1}, as_node="n", checkpoint_id="c"),
        ListThreads(id="9", status=("idle",)),
        Ping(id="10", payload="x"),
    ],
)
def test_encode_then_decode_round_trips(command: Any) -> None:
    assert decode_client_frame(encode(command), max_frame_bytes=1 << 20) == command


@pytest.mark.parametrize("kind", ["start_run", "resume"])
def test_an_empty_stream_modes_list_means_none_and_absent_or_null_the_default(kind: str) -> None:
    """``[]`` asks for the lifecycle and interrupt events only; it used to become the default."""
    base: dict[str, Any] = {"type": kind, "id": "1"} | (
        {"graph": "g"} if kind == "start_run" else {"thread_id": "t", "value": "yes"}
    )
    assert decode_one({**base, "stream_modes": []}).stream_modes == ()
    assert decode_one(base).stream_modes == ("values", "updates")
    assert decode_one({**base, "stream_modes": None}).stream_modes == ("values", "updates")
