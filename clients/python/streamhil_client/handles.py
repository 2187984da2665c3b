"""What callers iterate: :class:`Run` (one run and the resumes that continue it) and
:class:`ThreadWatch` (every event of a thread)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, Protocol

import anyio

from streamhil.protocol import (
    UNSET, BaseEvent, Counters, InterruptInfo, ResumeResult, RunCancelledEvent, RunStartedEvent, SubscribeResult, ThreadInfo,
    WatchThreadsResult,
)

from .arguments import stream_modes as as_stream_modes
from .events import ResyncEvent
from .router import Failure, Listener

__all__ = ["Run", "ThreadWatch", "ThreadsWatch", "Failure", "ClientEvent", "HandleOwner"]

ClientEvent = BaseEvent | ResyncEvent


class HandleOwner(Protocol):
    """What a handle needs of the client that made it (the :class:`~.client.Client`)."""

    def pending_interrupts(self, thread_id: str) -> tuple[InterruptInfo, ...]: ...

    async def cancel(self, thread_id: str, run_id: str | None = None) -> None: ...

    async def send_resume(self, thread_id: str, value: Any, **kwargs: Any) -> ResumeResult: ...

    def release_listener(self, thread_id: str, listener: Listener) -> None: ...

    async def unfollow_if_unused(self, thread_id: str) -> None: ...

    def abandon_listener(self, thread_id: str, listener: Listener) -> None: ...

    def release_notice_listener(self, listener: Listener) -> None: ...

    async def unwatch_threads_if_idle(self) -> None: ...


class _Listening:
    """An async iterator over one listener queue the client feeds."""

    def __init__(
        self, client: HandleOwner, thread_id: str, listener: Listener
    ) -> None:
        self._client = client
        self.thread_id = thread_id
        self._listener = listener

    async def _next(self) -> ClientEvent:
        try:
            item = await self._listener.get()
        except (anyio.EndOfStream, anyio.ClosedResourceError):  # the client closed
            self._listener.close_reader()
            raise StopAsyncIteration from None
        if isinstance(item, Failure):
            self._listener.close_reader()
            raise item.error
        event: ClientEvent = item
        return event

    async def aclose(self) -> None:
        """Stop receiving events (the server subscription is kept for other listeners)."""
        self._client.release_listener(self.thread_id, self._listener)
        self._listener.close_reader()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Run(_Listening):
    """A run and the runs that continue it through :meth:`resume`.

    ``async for event in run`` yields the thread's events from the run's start on (a run queued
    behind another, ``queued``, from its own ``run_started``: the events of the runs it waited
    for are skipped), and ends after
    the terminal event of the current run (``run_done``, ``run_error``, ``run_cancelled``, or
    ``run_interrupted`` when nothing resumed it before the next event is asked for).
    A :class:`ResyncEvent` whose status is not ``running`` ends it the same way.

    A run the server cut short by stopping or restarting (``run_cancelled`` with reason
    ``shutdown``) does not end the iteration: the server continues the thread in a new run,
    whose ``run_started`` is the next run event of the thread; the handle follows it
    (``run_id`` becomes the new run's), as a reconnecting client would want.
    """

    def __init__(
        self,
        client: HandleOwner,
        *,
        thread_id: str,
        run_id: str,
        seq: int,
        queued: bool,
        listener: Listener,
    ) -> None:
        super().__init__(client, thread_id, listener)
        # A handle dropped without aclose(): its listener goes, and the subscription with it.
        self._finalizer = weakref.finalize(self, client.abandon_listener, thread_id, listener)
        self.run_id = run_id
        self.seq = seq
        self.queued = queued
        self.stream_modes: tuple[str, ...] | None = None
        """The stream modes this run was started (or last resumed) with; a resume keeps them."""
        self._ended: str | None = None
        self._cut_by_shutdown = False  # the run ended with the server's stop: follow its continuation
        self._waiting = queued  # queued: the events until its own are those of the runs ahead of it

    def __repr__(self) -> str:
        return f"Run(thread_id={self.thread_id!r}, run_id={self.run_id!r})"

    async def aclose(self) -> None:
        """Stop receiving events. The last handle of a thread this client follows only for its
        runs (not :meth:`~.client.Client.subscribe`) also ends the server subscription, so a
        long-lived client does not keep one per thread it ever ran."""
        self._finalizer.detach()
        await super().aclose()
        await self._client.unfollow_if_unused(self.thread_id)

    @property
    def interrupts(self) -> tuple[InterruptInfo, ...]:
        """The interrupts pending on the thread, as far as this client has seen."""
        return self._client.pending_interrupts(self.thread_id)

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> ClientEvent:
        if self._ended is not None and self._ended == self.run_id:
            raise StopAsyncIteration
        event = await self._next()
        while self._waiting and not isinstance(event, ResyncEvent):
            if event.run_id == self.run_id:  # its run_started (or its first event after a gap)
                self._waiting = False
                break
            event = await self._next()  # an event of a run ahead of it in the queue
        if isinstance(event, ResyncEvent):
            if event.status != "running" and event.head_seq > self.seq and not self._cut_by_shutdown:
                self._ended = self.run_id  # (not from before a resume, nor between a cut and its continuation)
        elif isinstance(event, RunCancelledEvent) and event.reason == "shutdown" and event.run_id == self.run_id:
            self._cut_by_shutdown = True
        elif isinstance(event, RunStartedEvent) and self._cut_by_shutdown:
            self._cut_by_shutdown = False
            self.run_id = event.run_id or self.run_id
            self.seq = event.seq
        elif event.is_terminal and event.run_id == self.run_id:
            self._ended = self.run_id
        return event

    async def resume(
        self,
        value: Any = UNSET,
        /,
        *,
        answers: Mapping[Any, Any] | None = None,
        interrupt_id: str | InterruptInfo | None = None,
        update: Any = None,
        goto: str | list[str] | tuple[str, ...] | None = None,
        stream_modes: str | tuple[str, ...] | list[str] | None = None,
        if_busy: str = "reject",
        context: Any = None,
    ) -> ResumeResult:
        """Answer pending interrupts on this connection; this handle then follows the new run.

        ``value`` alone answers the single pending interrupt; with ``interrupt_id`` (the id, or
        the :class:`InterruptInfo` itself, e.g. one of ``run.interrupts``) it answers that one.
        A mapping whose keys are all pending interrupt ids is sent as ``answers`` (so
        ``run.resume({id: value})`` works); ``answers=`` says so explicitly.
        ``stream_modes`` (one mode or several) defaults to the modes this run was started with.
        ``context`` is the answer's run's context (nodes' ``runtime.context``).
        """
        modes = self.stream_modes if stream_modes is None else as_stream_modes(stream_modes)
        result = await self._client.send_resume(
            self.thread_id,
            value,
            answers=answers,
            interrupt_id=interrupt_id,
            update=update,
            goto=goto,
            stream_modes=modes,
            if_busy=if_busy,
            context=context,
        )
        self.run_id = result.run_id
        self.seq = result.seq
        self.queued = self._waiting = result.queued
        if modes is not None:
            self.stream_modes = modes
        return result

    async def cancel(self) -> None:
        """Cancel the current run (disconnecting does not)."""
        await self._client.cancel(self.thread_id, self.run_id)


class ThreadWatch(_Listening):
    """Every event of a thread, from the subscription on; ends only when closed."""

    def __init__(
        self,
        client: HandleOwner,
        *,
        thread_id: str,
        result: SubscribeResult,
        listener: Listener,
    ) -> None:
        super().__init__(client, thread_id, listener)
        self.result = result

    def __repr__(self) -> str:
        return f"ThreadWatch(thread_id={self.thread_id!r})"

    def __aiter__(self) -> ThreadWatch:
        return self

    async def __anext__(self) -> ClientEvent:
        return await self._next()


class ThreadsWatch:
    """The caller's threads as a whole (``watch_threads``).

    ``threads`` and ``counters`` are the server's answer when the watch began; iterating yields
    :class:`~streamhil.protocol.ThreadCreatedNotice`, :class:`~streamhil.protocol.ThreadStatusNotice`
    and :class:`~streamhil.protocol.CountersNotice` as things change, and a :class:`ThreadsSnapshot`
    after a reconnect. Ends only when closed (``aclose()`` or ``async with``).
    """

    def __init__(
        self,
        client: HandleOwner,
        result: WatchThreadsResult,
        listener: Listener,
    ) -> None:
        self._client = client
        self.threads: tuple[ThreadInfo, ...] = result.threads
        self.counters: Counters = result.counters
        self._listener = listener

    def __repr__(self) -> str:
        return f"ThreadsWatch(threads={len(self.threads)})"

    def __aiter__(self) -> ThreadsWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._listener.get()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._listener.close_reader()
            raise StopAsyncIteration from None
        if isinstance(item, Failure):
            self._listener.close_reader()
            raise item.error
        return item

    async def aclose(self) -> None:
        """Stop receiving notices (the server stops sending them when no watch is left)."""
        self._client.release_notice_listener(self._listener)
        self._listener.close_reader()
        await self._client.unwatch_threads_if_idle()

    async def __aenter__(self) -> ThreadsWatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
