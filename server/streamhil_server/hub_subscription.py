"""A watcher of one thread's event log (:class:`Subscription`), and the error of a cursor the log
cannot serve. The hub (:mod:`.hub`) keeps the subscriptions and pushes committed frames to them."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["CursorError", "Subscription", "Sink"]

Sink = Callable[[str], None]


class _Hub(Protocol):
    def _remove(self, sub: Subscription) -> None: ...


class CursorError(Exception):
    """A ``subscribe`` cursor the log cannot serve: ``reason`` is ``cursor_too_old`` or ``cursor_ahead``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Subscription:
    """One watcher of one thread: frames with ``seq >= next_seq`` go to ``sink`` in order.

    It starts *buffering*: live events are kept until :meth:`go_live` sends the ``backlog``
    (the replay) and then the buffer, so the caller can send its ``reply`` first.
    """

    __slots__ = ("thread_id", "sink", "next_seq", "backlog", "_buffer", "_hub", "closed", "_max_buffer", "_overflow")

    def __init__(self, hub: _Hub, thread_id: str, sink: Sink, next_seq: int) -> None:
        self._hub = hub
        self.thread_id = thread_id
        self.sink = sink
        self.next_seq = next_seq
        self.backlog: list[tuple[int, str]] = []
        self._buffer: list[tuple[int, str]] | None = []
        self.closed = False
        self._max_buffer: int | None = None
        self._overflow: Callable[[], None] | None = None

    def push(self, seq: int, frame: str) -> None:
        if self.closed or seq < self.next_seq:
            return
        if self._buffer is not None:
            self._buffer.append((seq, frame))
            if self._max_buffer is not None and len(self._buffer) > self._max_buffer and self._overflow is not None:
                self._overflow()
            return
        self.next_seq = seq + 1
        self.sink(frame)

    async def go_live(
        self, wait_room: Callable[[], Awaitable[None]], *, max_buffer: int, overflow: Callable[[], None]
    ) -> None:
        """Send the backlog (the replay), then what arrived meanwhile, then live events.

        Replayed frames are paced by ``wait_room`` (the connection waits for room in its send
        queue), so a long replay never overflows it; live events wait in the buffer, and if more
        than ``max_buffer`` pile up before the replay is done, ``overflow`` is called: the
        watcher cannot keep up.
        """
        self._max_buffer, self._overflow = max_buffer, overflow
        if self._buffer is not None and len(self._buffer) > max_buffer:
            overflow()
            return
        queue = deque(self.backlog)
        self.backlog = []
        while not self.closed:
            if not queue:
                if not self._buffer:
                    break
                queue.extend(self._buffer)
                self._buffer = []
            await wait_room()
            if self.closed:
                return
            seq, frame = queue.popleft()
            if seq >= self.next_seq:
                self.next_seq = seq + 1
                self.sink(frame)
        self._buffer = None

    def start_live(self) -> None:
        """Go live at once (nothing to replay: a subscription made with :meth:`EventHub.subscribe_live`
        and no await since)."""
        pending = self.backlog + (self._buffer or [])
        self.backlog, self._buffer = [], None
        for seq, frame in pending:
            self.push(seq, frame)

    def close(self) -> None:
        """Stop receiving events."""
        if not self.closed:
            self.closed = True
            self._hub._remove(self)
