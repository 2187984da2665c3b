"""The channel between a running graph and the reader of its stream parts.

A :class:`PartStream` buffers the parts a run emits and paces the run by its reader (the next
step starts once the reader has taken what the last one produced, LangGraph's order). Who runs
the producer is the caller's choice: ``open_stream`` runs it in a task group owned by its
``async with`` block; ``astream`` runs it as a :class:`~streamhil._backend.DetachedTask` so the
generator never holds a task group or cancel scope across a ``yield`` and may be abandoned in any
way (break, return, exception, cancellation, garbage collection).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.from_thread

from .._backend import in_worker_thread
from .._channel import Channel

__all__ = ["PartStream", "STREAM_MODES", "on_loop_thread", "stream_modes"]

STREAM_MODES = frozenset({"values", "updates", "custom", "messages", "debug", "tasks", "checkpoints"})

Sink = Callable[[tuple[str, ...], str, Any], None]
Pace = Callable[[], Awaitable[None]]


def stream_modes(stream_mode: Any) -> tuple[bool, frozenset[str]]:
    """``(single, modes)`` for a ``stream_mode`` argument, or ValueError naming the bad modes."""
    single = stream_mode is None or isinstance(stream_mode, str)
    modes = frozenset([stream_mode or "updates"] if single else stream_mode)
    bad = modes - STREAM_MODES
    if bad:
        raise ValueError(f"Unknown stream_mode {sorted(bad)!r}; choose from {sorted(STREAM_MODES)}.")
    return single, modes


def on_loop_thread(sink: Sink) -> Sink:
    """``sink``, always called on the event loop's thread: a part a sync node emits from its
    worker thread (``get_stream_writer()``, ``messages``) is handed over to the loop first."""
    loop_thread = threading.get_ident()

    def call(ns: tuple[str, ...], mode: str, payload: Any) -> None:
        if threading.get_ident() != loop_thread and in_worker_thread():
            anyio.from_thread.run_sync(sink, ns, mode, payload)
        else:  # the loop's thread, or a nested graph's helper thread while the loop waits on it
            sink(ns, mode, payload)

    return call


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class PartStream:
    """Parts of one run, shaped as LangGraph shapes them for ``stream_mode`` and ``subgraphs``."""

    def __init__(self, *, single: bool, subgraphs: bool) -> None:
        self._single = single
        self._subgraphs = subgraphs
        self._parts: Channel[Any] = Channel()
        self.sink: Sink = on_loop_thread(self._shape_and_deliver)
        """Called by the run for every part it emits (from the loop or a sync node's thread)."""
        self._waiting: list[anyio.Event] = []  # the run, waiting for the reader to catch up
        self._reader_waiting = False  # the reader asked for more and nothing is buffered
        self.produced = False  # the run has ended (its parts are all buffered or taken)

    # -- the run's side -------------------------------------------------------------------
    def _shape_and_deliver(self, ns: tuple[str, ...], mode: str, payload: Any) -> None:
        if self._single:
            item = (ns, payload) if self._subgraphs else payload
        else:
            item = (ns, mode, payload) if self._subgraphs else (mode, payload)
        self._deliver(item)

    def _deliver(self, item: Any) -> None:
        self._reader_waiting = False  # it has something now: the next step waits for it to ask again
        self._parts.put_nowait(item)

    async def pace(self) -> None:
        """Called by the run between steps: wait until the reader has taken what is buffered."""
        if self._reader_waiting and not len(self._parts):
            return
        event = anyio.Event()
        self._waiting.append(event)
        await event.wait()

    async def produce(self, run: Callable[[Sink, Pace], Awaitable[Any]]) -> None:
        """Run ``run(sink, pace)``; its failure is handed to the reader, the end closes the stream."""
        try:
            await run(self.sink, self.pace)
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            self._parts.put_nowait(_Failure(exc))
        finally:
            self.produced = True
            self._parts.close()

    # -- the reader's side -----------------------------------------------------------------
    async def next(self) -> Any:
        """The next part; StopAsyncIteration at the end; the run's own error if it failed."""
        self._reader_waiting = True
        if self._waiting and not len(self._parts):
            for event in self._waiting:
                event.set()
            self._waiting.clear()
        try:
            item = await self._parts.get()  # a buffered part: no trip through the event loop
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        finally:
            self._reader_waiting = False
        if isinstance(item, _Failure):
            raise item.exc
        return item

    def close(self) -> None:
        """The reader is gone."""
        self._parts.close_reader()

    def __aiter__(self) -> PartStream:
        return self

    async def __anext__(self) -> Any:
        return await self.next()
