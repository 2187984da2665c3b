"""Spec section 6: every event kind encodes and decodes; unknown kinds are kept."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamhil.protocol import (
    STREAM_EVENT_KINDS,
    EventKind,
    InterruptEvent,
    InterruptInfo,
    ProtocolError,
    RunErrorEvent,
    RunInterruptedEvent,
    StateView,
    UnknownEvent,
    UpdatesEvent,
    decode_server_frame,
    encode,
    encode_event,
    make_event,
)

COMMON = {"thread_id": "t-1", "run_id": "r-1", "seq": 4}
LIFECYCLE_DATA: dict[str, Any] = {
    "interrupt": {"interrupts": [{"id": "i", "value": {"q": 1}, "node": "ask", "task_id": "k", "ns": ["c:1"]}]},
    "run_started": {"graph": "g", "kind": "resume", "checkpoint_id": None},
    "run_interrupted": {"interrupt_ids": ["i"], "next": ["ask"]},
    "run_done": {"checkpoint_id": "c9"},
    "run_error": {"error": {"type": "ValueError", "message": "boom"}, "code": None},
    "run_cancelled": {"reason": "superseded"},
    "state_updated": {"checkpoint_id": "c2", "as_node": "a"},
}


@pytest.mark.parametrize("kind", sorted(EventKind))
def test_every_kind_round_trips_through_the_wire(kind: EventKind) -> None:
    data = LIFECYCLE_DATA.get(kind, {"node": {"k": [1, 2]}})
    text = encode_event(kind, **COMMON, data=data, ns=["sub:1"])
    frame = orjson.loads(text)
    assert frame == {"type": "event", "event": kind.value, **COMMON, "ns": ["sub:1"], "data": data}
    event = decode_server_frame(text, pending={})
    assert event.event == kind and event.seq == 4 and event.ns == ("sub:1",)
    assert encode(event) == text


def test_stream_events_keep_the_payload() -> None:
    assert {k.value for k in STREAM_EVENT_KINDS} == {"values", "updates", "custom", "messages", "debug", "tasks", "checkpoints", "events"}
    event = make_event("updates", **COMMON, data={"a": {"x": 1}})
    assert isinstance(event, UpdatesEvent) and event.data == {"a": {"x": 1}}


def test_interrupt_event_is_typed() -> None:
    event = make_event("interrupt", **COMMON, data=LIFECYCLE_DATA["interrupt"])
    assert isinstance(event, InterruptEvent)
    assert event.interrupts == (InterruptInfo(id="i", value={"q": 1}, node="ask", task_id="k", ns=("c:1",)),)


def test_terminal_kinds() -> None:
    assert make_event("run_done", **COMMON, data={"checkpoint_id": None}).is_terminal
    assert not make_event("interrupt", **COMMON, data={"interrupts": []}).is_terminal
    assert RunInterruptedEvent(**COMMON).is_terminal


def test_run_error_fields() -> None:
    event = make_event("run_error", **COMMON, data={"error": {"type": "X", "message": "m"}, "code": "already_answered"})
    assert isinstance(event, RunErrorEvent)
    assert (event.error_type, event.message, event.code) == ("X", "m", "already_answered")


def test_unknown_kind_is_kept_for_forward_compatibility() -> None:
    text = orjson.dumps({"type": "event", "event": "aurora", **COMMON, "ns": [], "data": [1], "new_field": 1}).decode()
    event = decode_server_frame(text, pending={})
    assert isinstance(event, UnknownEvent) and event.event == "aurora" and event.data == [1]


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": "3"}, "seq"),
        ({"thread_id": None}, "thread_id"),
        ({"ns": "a"}, "ns"),
        ({"event": "interrupt", "data": {"interrupts": [{"value": 1}]}}, "data.interrupts[0].id"),
        ({"event": "run_started", "data": []}, "data"),
    ],
)
def test_bad_event_frames_name_the_field(patch: dict[str, Any], path: str) -> None:
    obj = {"type": "event", "event": "updates", **COMMON, "ns": [], "data": {}, **patch}
    with pytest.raises(ProtocolError) as info:
        decode_server_frame(orjson.dumps(obj), pending={})
    assert info.value.path == path


def test_make_event_refuses_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        make_event("nope", **COMMON)


class _Snapshot:
    """Duck-typed like streamhil.types.StateSnapshot."""

    values = {"log": ["a"]}
    next = ("ask",)
    config = {"configurable": {"thread_id": "t", "checkpoint_id": "c2"}}
    parent_config = {"configurable": {"thread_id": "t", "checkpoint_id": "c1"}}
    metadata = {"step": 1}
    created_at = "2026-01-01T00:00:00+00:00"
    tasks = ()
    interrupts = ()


def test_state_view_from_a_snapshot() -> None:
    view = StateView.from_snapshot(_Snapshot())
    assert (view.checkpoint_id, view.parent_checkpoint_id, view.next) == ("c2", "c1", ("ask",))


def test_interrupt_info_from_a_runtime_interrupt() -> None:
    class Interrupt:
        id = "x"
        value = 1
        node = "ask"
        task_id = "k"
        ns = "child:1|ask:2"

    info = InterruptInfo.from_interrupt(Interrupt())
    # The runtime's ns names the asking task; the wire's names the graph it belongs to.
    assert info.ns == ("child:1",) and info.node == "ask"

    class RootInterrupt(Interrupt):
        ns = "ask:2"

    assert InterruptInfo.from_interrupt(RootInterrupt()).ns == ()
