"""The server's fairness limits, as small pure state machines (time is passed in, never read).

- :class:`FrameRate`: frames a connection may send per second (a token bucket); past it the
  server stops reading that socket for a moment, so TCP slows the sender and its frames cost the
  others nothing.
- :class:`FailedAttempts`: failed authentications per client address; past the budget every
  attempt from that address is refused (4429) before any token is compared.
- :class:`RunShares`: how many runs each identity has queued or active, and how many of them may
  execute at once, so one identity cannot take every run worker.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import anyio

__all__ = ["FailedAttempts", "FrameRate", "RunShares"]


@dataclass(slots=True)
class FrameRate:
    """A token bucket: ``rate`` frames per second, ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def delay(self, now: float) -> float:
        """Take one frame's token at time ``now``; how long to wait before reading it (0: none)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass(slots=True)
class FailedAttempts:
    """Failed authentications per address: ``burst`` at once, refilled at ``per_minute``.

    Remembers at most ``max_addresses`` addresses (the least recently failing are forgotten).
    """

    burst: int
    per_minute: float
    max_addresses: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(init=False, default_factory=OrderedDict)

    def _level(self, address: str, now: float) -> float:
        entry = self._buckets.get(address)
        if entry is None:
            return float(self.burst)
        tokens, stamp = entry
        return min(float(self.burst), tokens + (now - stamp) * self.per_minute / 60.0)

    def locked(self, address: str, now: float) -> bool:
        """Whether ``address`` has used up its failures: refuse it without checking a token."""
        return self._level(address, now) < 1.0

    def retry_after(self, address: str, now: float) -> float:
        """Seconds until ``address`` may try again (0: it may now)."""
        level = self._level(address, now)
        if level >= 1.0:
            return 0.0
        return (1.0 - level) * 60.0 / self.per_minute if self.per_minute > 0 else float("inf")

    def failed(self, address: str, now: float) -> None:
        """Count one failed attempt from ``address``."""
        self._buckets[address] = (self._level(address, now) - 1.0, now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)


class RunShares:
    """Runs queued or active per identity, and a fair share of execution slots per identity."""

    def __init__(self, max_runs: int, max_concurrent: int) -> None:
        self.max_runs = max_runs
        self.max_concurrent = max_concurrent
        self._runs: dict[str, int] = {}
        self._slots: dict[str, anyio.Semaphore] = {}

    def count(self, key: str) -> int:
        return self._runs.get(key, 0)

    def full(self, key: str) -> bool:
        """Whether ``key`` may not queue another run."""
        return self._runs.get(key, 0) >= self.max_runs

    def add(self, key: str) -> None:
        self._runs[key] = self._runs.get(key, 0) + 1

    def remove(self, key: str) -> None:
        left = self._runs.get(key, 0) - 1
        if left > 0:
            self._runs[key] = left
        else:
            self._runs.pop(key, None)
            slots = self._slots.get(key)
            if slots is not None and slots.value == self.max_concurrent:
                del self._slots[key]

    def slot(self, key: str) -> anyio.Semaphore:
        """The semaphore a run of ``key`` holds while it executes."""
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = anyio.Semaphore(self.max_concurrent)
        return slots
