"""A queue with one reader, for the hot paths where anyio's memory object streams cost too much.

``anyio.create_memory_object_stream`` serves any number of senders and receivers; a receive
that finds an item still yields to the event loop, and one that waits builds a generic waiter
object and an event. A run's stream parts and a connection's outgoing frames have one reader and
senders that never wait (they put or fail), so :class:`Channel` keeps just a deque and, only
while the reader waits, one event. Its errors are anyio's, with the same meanings.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from typing import Any, Generic, TypeVar

import anyio

from ._backend import current_backend

__all__ = ["Channel"]

T = TypeVar("T")


class Channel(Generic[T]):
    """Items in order, put without waiting (on the event loop's thread), taken by one reader.

    ``put_nowait`` raises ``WouldBlock`` when ``max_items`` are waiting, ``ClosedResourceError``
    once :meth:`close` was called and ``BrokenResourceError`` once the reader left
    (:meth:`close_reader`). The reader gets ``EndOfStream`` when the channel is closed and
    empty.
    """

    __slots__ = ("_items", "_max_items", "_closed", "_reader_gone", "_wake", "_loop")

    def __init__(self, max_items: float = math.inf) -> None:
        self._items: deque[T] = deque()
        self._max_items = max_items
        self._closed = False
        self._reader_gone = False
        self._wake: Any = None  # while the reader waits: an asyncio future, or an anyio Event
        self._loop: Any = None  # the asyncio loop the reader runs on (found at its first wait)

    def __len__(self) -> int:
        return len(self._items)

    # -- the senders' side -------------------------------------------------------------------
    def put_nowait(self, item: T) -> None:
        if self._reader_gone:
            raise anyio.BrokenResourceError
        if self._closed:
            raise anyio.ClosedResourceError
        if len(self._items) >= self._max_items:
            raise anyio.WouldBlock
        self._items.append(item)
        self._wake_reader()

    def close(self) -> None:
        """No more items: the reader takes what is left, then gets ``EndOfStream``."""
        self._closed = True
        self._wake_reader()

    def _wake_reader(self) -> None:
        wake, self._wake = self._wake, None
        if wake is None:
            return
        if self._loop is None:
            wake.set()
        elif not wake.done():  # a reader cancelled meanwhile left a cancelled future
            wake.set_result(None)

    # -- the reader's side ---------------------------------------------------------------------
    def get_nowait(self) -> T:
        """The next item; ``WouldBlock`` if none is waiting, ``EndOfStream`` after the last."""
        if self._items:
            return self._items.popleft()
        if self._reader_gone:
            raise anyio.ClosedResourceError
        if self._closed:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    def peek_nowait(self) -> T:
        """The next item, left in place; ``WouldBlock`` if none is waiting."""
        if self._items:
            return self._items[0]
        raise anyio.WouldBlock

    async def get(self) -> T:
        """The next item, waiting for it (returns at once, without yielding, if one waits)."""
        while True:
            try:
                return self.get_nowait()
            except anyio.WouldBlock:
                await self._wait()

    async def _wait(self) -> None:
        # On asyncio a bare future: an anyio Event looks its backend up and wraps an asyncio
        # Event, per wait. Cancellation reaches the awaiting task the same way either way.
        if self._loop is None and current_backend() == "asyncio":
            self._loop = sys.modules["asyncio"].get_running_loop()
        if self._loop is not None:
            future = self._wake = self._loop.create_future()
            try:
                await future
            finally:
                if self._wake is future:
                    self._wake = None
        else:
            event = self._wake = anyio.Event()
            await event.wait()

    def close_reader(self) -> None:
        """The reader is gone: what is waiting is dropped, later puts fail."""
        self._reader_gone = True
        self._items.clear()
        self._wake_reader()
