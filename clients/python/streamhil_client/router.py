"""Which listener gets each event: the client's per-thread cursors, pending interrupts and
listener streams, and the listeners of thread notices.

Pure bookkeeping: no socket and no connection (the caller passes the connection's epoch), so it
is tested on its own. The client feeds it what the server answers and sends; handles read from
the listener streams it hands out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from streamhil._channel import Channel
from streamhil.protocol import THREAD_STATUS_AFTER, BaseEvent, InterruptEvent, InterruptInfo, SubscribeResult, ThreadStatus

from .cursor import ThreadCursor, Verdict
from .events import ResyncEvent

__all__ = ["Failure", "FollowedThread", "Listener", "ThreadRouter"]

Listener = Channel[Any]
"""One listener's queue: the router puts into it without waiting, one handle reads it (a
:class:`~streamhil._channel.Channel`: an item that waits is taken without a trip through the event
loop, unlike anyio's memory object streams)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Put in a listener's stream to make its iterator raise ``error``."""

    error: BaseException


@dataclass(eq=False)
class FollowedThread:
    """A thread this client follows: where its events stand, and who listens."""

    cursor: ThreadCursor
    subscribed: bool = False
    listeners: list[Listener] = field(default_factory=list)
    pending: dict[str, InterruptInfo] = field(default_factory=dict)
    status: ThreadStatus = "running"
    explicit: bool = False
    """Subscribed by :meth:`~.client.Client.subscribe` (kept until ``unsubscribe``); otherwise
    only for runs, and let go with the last of their handles."""




def _new_listener() -> Listener:
    return Channel()


def _send_all(listeners: list[Listener], item: Any) -> None:
    for listener in list(listeners):
        try:
            listener.put_nowait(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):  # its handle left
            listeners.remove(listener)


class ThreadRouter:
    """Followed threads and notice listeners, with the counters a client reports."""

    def __init__(self) -> None:
        self.threads: dict[str, FollowedThread] = {}
        self._starting: dict[str, int] = {}  # thread id: runs sent on it and not answered yet
        self.notice_listeners: list[Listener] = []
        self.watching_threads = False
        self.delivered = 0
        self.duplicates = 0
        self.gaps = 0
        self.resyncs = 0

    # --- threads ---------------------------------------------------------------------------

    def pending_interrupts(self, thread_id: str) -> tuple[InterruptInfo, ...]:
        thread = self.threads.get(thread_id)
        return () if thread is None else tuple(thread.pending.values())

    def follow(self, epoch: str, thread_id: str, seq: int) -> FollowedThread:
        """Follow ``thread_id`` from ``seq`` (a run was accepted: its events come after ``seq``)."""
        thread = self.threads.get(thread_id)
        if thread is None:
            thread = self.threads[thread_id] = FollowedThread(ThreadCursor(epoch, seq))
        elif not thread.subscribed:
            thread.cursor.reset(epoch, max(seq, thread.cursor.seq if thread.cursor.epoch == epoch else 0))
        thread.subscribed = True
        return thread

    @staticmethod
    def forget_answered(thread: FollowedThread, answered: tuple[str, ...]) -> None:
        for interrupt_id in answered:
            thread.pending.pop(interrupt_id, None)

    def subscribed(self, result: SubscribeResult) -> tuple[FollowedThread, Listener]:
        """A ``subscribe`` was answered: follow the thread and give the caller a listener."""
        thread = self.threads.get(result.thread_id)
        fresh = thread is None or not thread.subscribed
        if thread is None:
            thread = self.threads[result.thread_id] = FollowedThread(ThreadCursor(result.epoch, result.head_seq))
        listener = self.add_listener(thread)
        thread.explicit = True
        self.apply_subscribe_result(thread, result, fresh=fresh)
        return thread, listener

    def apply_subscribe_result(self, thread: FollowedThread, result: SubscribeResult, *, fresh: bool) -> None:
        thread.subscribed = True
        thread.status = result.status
        if result.resync:
            self.resyncs += 1
            thread.cursor.reset(result.epoch, result.head_seq)
            thread.pending = {i.id: i for i in result.interrupts}
            self.deliver(
                thread,
                ResyncEvent(
                    thread_id=result.thread_id,
                    epoch=result.epoch,
                    head_seq=result.head_seq,
                    status=result.status,
                    reason=result.reason,
                    state=result.state,
                    interrupts=result.interrupts,
                ),
            )
        elif fresh:
            thread.cursor.reset(result.epoch, result.head_seq - result.replayed)
        else:
            thread.cursor.epoch = result.epoch

    def followed(self) -> list[tuple[str, FollowedThread]]:
        """The threads to subscribe again on a new connection."""
        return [(tid, thread) for tid, thread in self.threads.items() if thread.subscribed]

    def unused(self, thread_id: str) -> bool:
        """Whether the thread is followed only for runs whose handles are all gone."""
        thread = self.threads.get(thread_id)
        return (thread is not None and thread.subscribed and not thread.explicit and not thread.listeners
                and thread_id not in self._starting)

    @contextmanager
    def starting(self, thread_id: str | None) -> Iterator[None]:
        """A run (or resume) on the thread is on its way: its subscription must not be let go."""
        if thread_id is None:
            yield
            return
        self._starting[thread_id] = self._starting.get(thread_id, 0) + 1
        try:
            yield
        finally:
            left = self._starting.pop(thread_id) - 1
            if left:
                self._starting[thread_id] = left

    def unfollow(self, thread_id: str) -> None:
        """Stop following a thread: its listeners end and buffered events are dropped."""
        thread = self.threads.pop(thread_id, None)
        if thread is not None:
            _close(thread)

    # --- listeners -------------------------------------------------------------------------

    @staticmethod
    def add_listener(thread: FollowedThread) -> Listener:
        listener = _new_listener()
        thread.listeners.append(listener)
        return listener

    def remove_listener(self, thread_id: str, listener: Listener) -> None:
        thread = self.threads.get(thread_id)
        if thread is not None:
            thread.listeners = [other for other in thread.listeners if other is not listener]
        listener.close()

    def deliver(self, thread: FollowedThread, item: Any) -> None:
        _send_all(thread.listeners, item)

    def route(self, epoch: str, event: BaseEvent) -> str | None:
        """Deliver a thread event to its listeners; returns why the connection must be dropped
        (a gap in ``seq``), or None. Duplicates are dropped."""
        thread = self.threads.get(event.thread_id)
        if thread is None or not thread.subscribed:
            return None
        verdict = thread.cursor.accept(epoch, event.seq)
        if verdict is Verdict.DUPLICATE:
            self.duplicates += 1
            return None
        if verdict is Verdict.GAP:
            self.gaps += 1
            return f"gap in thread {event.thread_id}: seq {event.seq} after {thread.cursor.seq}"
        if isinstance(event, InterruptEvent):
            thread.pending = {i.id: i for i in event.interrupts}
        thread.status = THREAD_STATUS_AFTER.get(event.event, thread.status)
        self.delivered += 1
        self.deliver(thread, event)
        return None

    # --- notices ---------------------------------------------------------------------------

    def add_notice_listener(self) -> Listener:
        listener = _new_listener()
        self.notice_listeners.append(listener)
        return listener

    def remove_notice_listener(self, listener: Listener) -> None:
        self.notice_listeners = [other for other in self.notice_listeners if other is not listener]
        listener.close()

    def deliver_notice(self, item: Any) -> None:
        _send_all(self.notice_listeners, item)

    # --- the end ---------------------------------------------------------------------------

    def fail_all(self, error: BaseException) -> None:
        """Make every iterator raise ``error`` once it has read what was delivered before."""
        self.deliver_notice(Failure(error))
        for listener in self.notice_listeners:
            listener.close()
        self.notice_listeners.clear()
        for thread in self.threads.values():
            self.deliver(thread, Failure(error))
            for listener in thread.listeners:
                listener.close()
            thread.listeners.clear()

    def close_all(self) -> None:
        """End every thread listener (the client is closed)."""
        for thread in self.threads.values():
            _close(thread)


def _close(thread: FollowedThread) -> None:
    """End the thread's listeners now: what they had not read is dropped."""
    for listener in thread.listeners:
        listener.close_reader()
    thread.listeners.clear()
