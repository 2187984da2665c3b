"""Reconnect delays: exponential backoff with full jitter, as a pure generator."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

__all__ = ["backoff_delays"]


def backoff_delays(
    *,
    initial: float = 0.1,
    factor: float = 2.0,
    maximum: float = 10.0,
    jitter: float = 1.0,
    max_attempts: int | None = None,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Seconds to wait before each reconnect attempt.

    The n-th base delay is ``min(maximum, initial * factor**n)``; with ``jitter`` j, each delay is
    drawn from ``[base * (1 - j), base]``. Stops after ``max_attempts`` delays (never, if None).
    A fresh generator starts again from ``initial``: make a new one after a successful connect.
    """
    if initial <= 0 or factor < 1 or maximum < initial:
        raise ValueError(
            f"need 0 < initial <= maximum and factor >= 1, got initial={initial}, factor={factor}, maximum={maximum}"
        )
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be within [0, 1], got {jitter}")
    if max_attempts is not None and max_attempts < 0:
        raise ValueError(f"max_attempts must be >= 0, got {max_attempts}")
    base = initial
    attempt = 0
    while max_attempts is None or attempt < max_attempts:
        yield base * (1 - jitter * rand())
        attempt += 1
        base = min(maximum, base * factor)
