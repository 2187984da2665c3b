"""Per-thread delivery cursors: drop duplicates, notice gaps, follow epochs (pure logic).

A thread's events are numbered by ``seq`` (+1 each) within a server ``epoch``. After a
reconnect the server replays from the cursor, so an event may arrive twice; the cursor lets
exactly one copy through. An event from another epoch, or one that skips a seq, means the
stream can no longer be trusted until a resubscribe (which resyncs when needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Verdict", "ThreadCursor"]


class Verdict(Enum):
    """What to do with an incoming event."""

    DELIVER = "deliver"
    DUPLICATE = "duplicate"
    GAP = "gap"


@dataclass(slots=True)
class ThreadCursor:
    """The last event delivered for one thread: ``(epoch, seq)``."""

    epoch: str
    seq: int = 0

    def check(self, epoch: str, seq: int) -> Verdict:
        """Judge an event without moving the cursor."""
        if epoch != self.epoch:
            return Verdict.GAP
        if seq <= self.seq:
            return Verdict.DUPLICATE
        if seq != self.seq + 1:
            return Verdict.GAP
        return Verdict.DELIVER

    def accept(self, epoch: str, seq: int) -> Verdict:
        """Judge an event and move the cursor past it when it is delivered."""
        verdict = self.check(epoch, seq)
        if verdict is Verdict.DELIVER:
            self.seq = seq
        return verdict

    def advance_to(self, seq: int) -> None:
        """Nothing at or below ``seq`` will be delivered (e.g. a run accepted at that head)."""
        self.seq = max(self.seq, seq)

    def reset(self, epoch: str, seq: int) -> None:
        """Start over after a resync: the client rebuilt its view at ``seq`` of ``epoch``."""
        self.epoch = epoch
        self.seq = seq
