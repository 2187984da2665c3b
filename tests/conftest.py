"""Shared fixtures: every async test runs on asyncio and on trio unless its module pins a backend.

A hang guard fails any *sync* test (the browser tests drive Chromium synchronously) that runs
longer than ``HANG_LIMIT`` seconds, so a stuck browser or server fails a test instead of CI.
"""

from __future__ import annotations

import inspect
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

HANG_LIMIT = 240.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _hang_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    function = getattr(request.node, "function", None)
    if (
        function is None
        or inspect.iscoroutinefunction(function)
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
    ):
        yield
        return

    def fail(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"{request.node.nodeid} ran longer than {HANG_LIMIT:.0f} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
