"""RunTail: read one thread's event log from a ``seq`` on, in process, as decoded events.

A compat surface (AG-UI, LangGraph HTTP) drives a run through the :class:`~..runs.RunManager`
and follows it through the :class:`~..hub.EventHub`, like every other watcher, so the dashboard
and ``/ws`` clients see the same events. The hub's sink must never block: the tail keeps at most
``limit`` undelivered events, and a reader that falls further behind drops the live feed and
reads what it missed back from the durable log before going live again.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio
import orjson

from ..hub import EventHub, Subscription

__all__ = ["RunTail"]


class RunTail:
    """The events of ``thread_id`` with ``seq >= next_seq``; call :meth:`attach` before the run
    can emit (a run manager's ``on_accepted``), then :meth:`next` until the run's terminal event."""

    def __init__(self, hub: EventHub, thread_id: str, *, limit: int = 1024) -> None:
        self.hub = hub
        self.thread_id = thread_id
        self.limit = limit
        self.next_seq = 0
        self._queue: deque[str] = deque()
        self._sub: Subscription | None = None
        self._lagging = False
        self._wake = anyio.Event()

    def attach(self, next_seq: int) -> None:
        """Start watching from ``next_seq`` (synchronous: safe inside ``on_accepted``)."""
        self.next_seq = next_seq
        self._sub = self.hub.subscribe_live(self.thread_id, self._sink, next_seq)
        self._sub.start_live()

    def _sink(self, frame: str) -> None:
        if self._lagging:
            return
        if len(self._queue) >= self.limit:
            self._lagging = True  # stop buffering; next() reads the rest back from the log
            self._detach()
        else:
            self._queue.append(frame)
        self._wake.set()

    def _detach(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    async def _catch_up(self) -> None:
        sub, _ = await self.hub.subscribe(self.thread_id, self._sink, self.next_seq - 1)
        self._lagging = False
        backlog, sub.backlog = sub.backlog, []
        self._queue.extend(frame for _, frame in backlog)
        self._sub = sub
        sub.start_live()  # what arrived while reading the log, then live events

    async def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event (a decoded ``event`` frame), or None after ``timeout`` seconds without one."""
        with anyio.move_on_after(timeout):
            while True:
                while self._queue:
                    event: dict[str, Any] = orjson.loads(self._queue.popleft())
                    if event["seq"] >= self.next_seq:  # a catch-up may overlap what was queued
                        self.next_seq = event["seq"] + 1
                        return event
                if self._lagging:
                    await self._catch_up()
                    continue
                self._wake = anyio.Event()
                await self._wake.wait()
        return None

    def close(self) -> None:
        """Stop watching."""
        self._detach()
        self._queue.clear()

    def __enter__(self) -> RunTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
