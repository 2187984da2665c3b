"""Reading a Server-Sent Events reply body (the LangGraph HTTP API's streams) in tests."""

from __future__ import annotations

from typing import Any

import orjson


def sse_events(body: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of each event block in ``body``, in order (data decoded as JSON)."""
    return [_event(block) for block in body.split("\n\n") if "event: " in block]


def _event(block: str) -> tuple[str, Any]:
    event = data = None
    for line in block.splitlines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = orjson.loads(line[6:])
    assert event is not None
    return event, data
