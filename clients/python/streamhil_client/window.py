"""A bounded in-flight window: at most ``size`` commands unanswered on one connection.

Commands beyond the window wait in FIFO order. A *priority* lane (re-subscribes after a
reconnect) goes before the normal lane, and the normal lane stays shut while the window is
*held* (until the re-subscribes have been sent).
"""

from __future__ import annotations

from collections import deque

import anyio

__all__ = ["InFlightWindow", "WindowClosed", "window_size"]

MAX_WINDOW = 64
"""The largest window the SDK uses, whatever the server's send queue."""


def window_size(max_send_queue: int) -> int:
    """The window for a server send queue of ``max_send_queue`` frames: 1/16 of it, 1 to 64."""
    return max(1, min(MAX_WINDOW, max_send_queue // 16))


class WindowClosed(Exception):
    """The window's connection is gone: nothing waiting in it was sent."""


class InFlightWindow:
    """Admits at most ``size`` holders at once; waiters are served first come, first served."""

    def __init__(self, size: int, *, held: bool = False) -> None:
        if size < 1:
            raise ValueError(f"the in-flight window must be >= 1, got {size}")
        self.size = size
        self.in_flight = 0
        self.peak = 0
        self._held = held
        self._closed = False
        self._priority: deque[anyio.Event] = deque()
        self._normal: deque[anyio.Event] = deque()

    @property
    def queued(self) -> int:
        """Commands waiting for room."""
        return len(self._priority) + len(self._normal)

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait for room; raise :class:`WindowClosed` if the window closes first."""
        if self._closed:
            raise WindowClosed
        lane = self._priority if priority else self._normal
        if not lane and self.in_flight < self.size and (priority or (not self._held and not self._priority)):
            self._take()
            return
        ready = anyio.Event()
        lane.append(ready)
        try:
            await ready.wait()
        except BaseException:
            if ready.is_set():  # granted while being cancelled: hand the room on
                if not self._closed:
                    self.release()
            else:
                lane.remove(ready)
            raise
        if self._closed:
            raise WindowClosed

    def release(self) -> None:
        """Give one room back (an answer arrived)."""
        if self.in_flight <= 0:
            raise RuntimeError("release() without a matching acquire()")
        self.in_flight -= 1
        self._pump()

    def open(self) -> None:
        """Let the normal lane in (the priority commands have all been sent)."""
        self._held = False
        self._pump()

    def close(self) -> None:
        """Wake every waiter with :class:`WindowClosed`."""
        self._closed = True
        for lane in (self._priority, self._normal):
            while lane:
                lane.popleft().set()

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _pump(self) -> None:
        while self.in_flight < self.size and not self._closed:
            if self._priority:
                lane = self._priority
            elif self._normal and not self._held:
                lane = self._normal
            else:
                return
            self._take()
            lane.popleft().set()
