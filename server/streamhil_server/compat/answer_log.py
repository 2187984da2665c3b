"""What a thread's event log says about interrupts answered before: each answer as it was given
(the ``answers`` of the resume run's ``run_started`` event) and each interrupt as it was asked
(its ``interrupt`` event), so a surface can tell a resend of the same answer from a different one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import orjson
from streamhil.protocol import EventKind

from ..hub import CursorError, EventHub

__all__ = ["EarlierAnswers", "earlier_answers"]


@dataclass(slots=True)
class EarlierAnswers:
    """For the interrupt ids asked about: the answer recorded for each, and the interrupt as asked."""

    answers: dict[str, Any] = field(default_factory=dict)
    asked: dict[str, dict[str, Any]] = field(default_factory=dict)


async def earlier_answers(hub: EventHub, thread_id: str, ids: Collection[str]) -> EarlierAnswers | None:
    """Read the thread's whole log for ``ids``; None when the log no longer holds its start."""
    wanted = set(ids)
    found = EarlierAnswers()
    frames: list[str] = []
    try:
        sub, _ = await hub.subscribe(thread_id, frames.append, 0)
    except CursorError:
        return None
    try:
        frames.extend(frame for _, frame in sub.backlog)
    finally:
        sub.close()
    for frame in frames:
        event = orjson.loads(frame)
        data = event.get("data")
        if not isinstance(data, dict):
            continue
        if event.get("event") == EventKind.RUN_STARTED and isinstance(data.get("answers"), dict):
            found.answers.update((k, v) for k, v in data["answers"].items() if k in wanted)
        elif event.get("event") == EventKind.INTERRUPT:
            for item in data.get("interrupts") or ():
                if isinstance(item, dict) and item.get("id") in wanted:
                    found.asked[item["id"]] = item
    return found
