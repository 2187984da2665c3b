"""Checks for AG-UI event streams: every frame validated by ``ag-ui-protocol``'s own models, and the
order rules the TypeScript client enforces."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ag_ui.core import Event
from pydantic import TypeAdapter

EVENT = TypeAdapter(Event)
TERMINAL = ("RUN_FINISHED", "RUN_ERROR")


def body(thread_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A ``RunAgentInput`` as ``HttpAgent`` sends it."""
    return {
        "threadId": thread_id or str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {}, "messages": [],
        "tools": [], "context": [], "forwardedProps": {}, **fields,
    }


def sse_data(text: str) -> list[str]:
    """The ``data`` of each SSE event in ``text`` (comment lines skipped, multi-line data joined)."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            out.append("\n".join(lines))
    return out


def validated(frames: list[str]) -> list[dict[str, Any]]:
    """Each frame validated as an AG-UI ``Event``, the stream checked against the order rules."""
    events = []
    for frame in frames:
        EVENT.validate_json(frame)
        events.append(json.loads(frame))
    check_order(events)
    return events


def _no_nulls(event: dict[str, Any]) -> None:
    for key, value in event.items():
        assert value is not None, f"{event['type']}.{key} is null: optional fields are omitted, never null"
    for interrupt in (event.get("outcome") or {}).get("interrupts", []):
        for key, value in interrupt.items():
            assert value is not None, f"interrupt {interrupt.get('id')}.{key} is null"


def check_order(events: list[dict[str, Any]]) -> None:
    """First ``RUN_STARTED``; one ``RUN_FINISHED``/``RUN_ERROR``, last; starts and ends balanced."""
    assert events, "an empty stream"
    assert events[0]["type"] == "RUN_STARTED", events[0]
    assert events[-1]["type"] in TERMINAL, events[-1]
    assert sum(e["type"] in TERMINAL for e in events) == 1, [e["type"] for e in events]
    assert sum(e["type"] == "RUN_STARTED" for e in events) == 1
    texts: set[str] = set()
    calls: set[str] = set()
    steps: set[str] = set()
    for event in events:
        _no_nulls(event)
        kind = event["type"]
        if kind == "TEXT_MESSAGE_START":
            assert event["messageId"] not in texts, event
            texts.add(event["messageId"])
        elif kind in ("TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"):
            assert event["messageId"] in texts, event
            if kind == "TEXT_MESSAGE_END":
                texts.discard(event["messageId"])
        elif kind == "TOOL_CALL_START":
            assert event["toolCallId"] not in calls, event
            calls.add(event["toolCallId"])
        elif kind in ("TOOL_CALL_ARGS", "TOOL_CALL_END"):
            assert event["toolCallId"] in calls, event
            if kind == "TOOL_CALL_END":
                calls.discard(event["toolCallId"])
        elif kind == "STEP_STARTED":
            assert event["stepName"] not in steps, event
            steps.add(event["stepName"])
        elif kind == "STEP_FINISHED":
            assert event["stepName"] in steps, event
            steps.discard(event["stepName"])
        elif kind == "RUN_FINISHED":
            assert not texts and not calls and not steps, (texts, calls, steps)
    if events[-1]["type"] == "RUN_FINISHED":
        kinds = [e["type"] for e in events if e["type"] != "CUSTOM"]  # legacy on_interrupt events
        assert kinds[-3:-1] == ["STATE_SNAPSHOT", "MESSAGES_SNAPSHOT"], kinds[-4:]


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]
