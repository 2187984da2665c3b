"""Each identity's own activity figures, for the ``counters`` of ``watch_threads`` on a server
with tokens: its users must not see each other's activity (``/metrics`` is off there for the
same reason), so each identity gets the figures of its own threads and connections only.

:class:`ActivityByOwner` listens to the event hub (as each event is published, while its thread
is in memory) and counts per thread owner the runs that started and ended and the events, with
the events of the last 10 s for the rate, as the hub counts them for the whole server.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from streamhil.protocol import EventKind

from .hub import HubEvent

__all__ = ["ActivityByOwner", "OwnerActivity"]

_ENDS = frozenset({EventKind.RUN_DONE, EventKind.RUN_ERROR, EventKind.RUN_CANCELLED, EventKind.RUN_INTERRUPTED})
_WINDOW_S = 10


@dataclass(slots=True)
class OwnerActivity:
    """One owner's figures since the process began."""

    runs_started: int = 0
    runs_finished: int = 0
    events_total: int = 0
    window: deque[tuple[int, int]] = field(default_factory=deque)
    """(second, events) of the last 10 s."""

    def count_event(self, second: int) -> None:
        self.events_total += 1
        if self.window and self.window[-1][0] == second:
            self.window[-1] = (second, self.window[-1][1] + 1)
        else:
            self.window.append((second, 1))
        while self.window and self.window[0][0] < second - _WINDOW_S:
            self.window.popleft()

    def events_per_second(self, now: int) -> float:
        recent = [(s, n) for s, n in self.window if s >= now - _WINDOW_S]
        if not recent:
            return 0.0
        return round(sum(n for _, n in recent) / max(1, now - recent[0][0] + 1), 2)


class ActivityByOwner:
    """Per-owner activity; ``owner_of(thread_id)`` names the owner of a thread in memory."""

    def __init__(self, owner_of: Callable[[str], str | None]) -> None:
        self._owner_of = owner_of
        self._owners: dict[str, OwnerActivity] = {}

    def on_event(self, event: HubEvent) -> None:
        """A hub listener: count ``event`` for its thread's owner (never raises)."""
        owner = self._owner_of(event.thread_id)
        if owner is None:
            return
        activity = self._owners.get(owner)
        if activity is None:
            activity = self._owners[owner] = OwnerActivity()
        activity.count_event(int(time.monotonic()))
        if event.event == EventKind.RUN_STARTED:
            activity.runs_started += 1
        elif event.event in _ENDS:
            activity.runs_finished += 1

    def of(self, owner: str) -> OwnerActivity:
        """``owner``'s figures (all zero when it did nothing yet)."""
        return self._owners.get(owner) or OwnerActivity()

    def events_per_second(self, owner: str) -> float:
        return self.of(owner).events_per_second(int(time.monotonic()))
