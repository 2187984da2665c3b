"""One run's events, read from its thread's log in the event hub: live, or replayed from a ``seq``.

A :class:`RunFeed` is a hub watcher whose sink never blocks: it decodes each frame of the thread,
keeps the ones of its run, and wakes the reader. It ends at the run's terminal event. If the
reader falls more than ``limit`` events behind, the feed is marked overflowed and stops (the
reader reports it; nothing else is slowed down).

A run a restart cuts short goes on in a continuation with another run id (its ``run_cancelled``
says ``continued_by``, the continuation's ``run_started`` says ``retry_of``): the feed follows
it, skips the cut's ``run_cancelled``, and ends at the end of the last continuation, as a client
that knows only the first id expects (LangGraph's server retries a run under its id).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel
import orjson
from streamhil.protocol import EventKind

from ..hub import EventHub, Subscription
from ..run_records import TERMINAL_STATUS

__all__ = ["RunFeed"]


class RunFeed:
    """The events of run ``run_id`` and of its continuations (decoded frames: ``{event, seq, ns,
    data, run_id}``); ``attempts`` are the ids it has had so far (see
    :meth:`~..run_records.RunRecords.attempts`)."""

    def __init__(self, run_id: str, *, attempts: Sequence[str] = (), limit: int = 10_000) -> None:
        self.run_id = run_id
        self.attempts = list(dict.fromkeys([run_id, *attempts]))
        """Its ids, oldest first; the last is the one running now (or last run)."""
        self.limit = limit
        self.overflowed = False
        self.ended = False
        self.subscription: Subscription | None = None
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = anyio.Event()

    def follow(self, run_id: str) -> None:
        """Follow ``run_id`` (a new run, accepted after the feed was made)."""
        self.run_id = run_id
        self.attempts = [run_id]

    @property
    def current(self) -> str:
        """The id the run has now (the one to cancel)."""
        return self.attempts[-1]

    # --- attaching -----------------------------------------------------------------------------

    def attach_live(self, hub: EventHub, thread_id: str, next_seq: int) -> None:
        """Watch from ``next_seq`` (call from ``on_accepted``, then :meth:`start`)."""
        self.subscription = hub.subscribe_live(thread_id, self.sink, next_seq)

    def start(self) -> None:
        """Deliver what was buffered since :meth:`attach_live`, then live events."""
        if self.subscription is not None:
            self.subscription.start_live()

    async def replay(self, hub: EventHub, thread_id: str, after: int) -> None:
        """Watch from ``after`` (exclusive): the stored events, then live ones.

        Raises :class:`~..hub.CursorError` when the log no longer holds them."""
        self.subscription, _ = await hub.subscribe(thread_id, self.sink, after)
        await self.subscription.go_live(anyio.lowlevel.checkpoint, max_buffer=self.limit, overflow=self._overflow)

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()

    def end(self) -> None:
        """Nothing more comes: the run was cancelled while queued (its events come only later,
        when its turn would have come, and are not waited for)."""
        self.ended = True
        self.close()
        self._wake.set()

    # --- the sink ------------------------------------------------------------------------------

    def sink(self, frame: str) -> None:
        if self.ended:
            return
        event = orjson.loads(frame)
        kind, data = event.get("event"), event.get("data")
        data = data if isinstance(data, dict) else {}
        if event.get("run_id") not in self.attempts:
            if kind != EventKind.RUN_STARTED or data.get("retry_of") != self.run_id:
                return
            self.attempts.append(event["run_id"])  # a continuation it had not heard of
        if kind == EventKind.RUN_CANCELLED and isinstance(data.get("continued_by"), str):
            if data["continued_by"] not in self.attempts:
                self.attempts.append(data["continued_by"])
            return  # cut by a restart: it goes on in the continuation
        self._queue.append(event)
        if event.get("event") in TERMINAL_STATUS:
            self.ended = True
            self.close()
        elif len(self._queue) > self.limit:
            self._overflow()
        self._wake.set()

    def _overflow(self) -> None:
        self.overflowed = self.ended = True
        self.close()
        self._wake.set()

    # --- reading -------------------------------------------------------------------------------

    async def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event; ``None`` after ``timeout`` seconds without one, or when the feed
        ended (check :attr:`done`)."""
        while not self._queue:
            if self.ended:
                return None
            self._wake = anyio.Event()
            if timeout is None:
                await self._wake.wait()
            else:
                with anyio.move_on_after(timeout):
                    await self._wake.wait()
                if not self._queue:
                    return None
        return self._queue.popleft()

    @property
    def done(self) -> bool:
        """Everything was read and nothing more will come."""
        return self.ended and not self._queue

    async def drain(self) -> list[dict[str, Any]]:
        """Wait for the run to end; its events."""
        events = []
        while not self.done:
            event = await self.next()
            if event is not None:
                events.append(event)
        return events
