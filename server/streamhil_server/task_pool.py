"""TaskPool: short jobs run in tasks of a task group that are kept for the next job.

Every answer starts two short-lived tasks (its command's lane on the connection, then its run),
and an anyio task costs ~11 µs to start and end (a task, a cancel scope, an event), against
~1.5 µs to hand a job to a task that waits for one. A pool keeps tasks that finished a job
waiting for the next, up to ``max_idle``; otherwise it is ``start_soon``: jobs run in tasks of
the given task group, their errors propagate to it, cancelling it cancels them.

Context: every task of a pool starts in the context the pool was made in (``contextvars``), not
its first caller's, so a job never runs in the context of another caller's request (a run belongs
to the server, not to the connection that asked for it). A job that leaves a context variable
changed (a node's code may set one and never reset it) retires its task, so the next job never
sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import Context, copy_context
from typing import Any

import anyio
from anyio.abc import TaskGroup
from streamhil._channel import Channel

__all__ = ["TaskPool"]

_Job = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]
_UNSET = object()


def _changed(before: Context, after: Context) -> bool:
    """Whether a context variable differs between the two snapshots."""
    if len(before) != len(after):
        return True
    return any(after.get(var, _UNSET) is not value for var, value in before.items())


class TaskPool:
    """``start_soon`` for short jobs, reusing tasks that finished theirs."""

    def __init__(self, task_group: TaskGroup, *, max_idle: int = 64) -> None:
        self._tg = task_group
        self._idle: list[Channel[_Job]] = []
        self.max_idle = max_idle
        self._closed = False
        self._context = copy_context()  # where every task of the pool starts
        self.started = 0  # tasks started (for tests and metrics)

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``await fn(*args)`` in a waiting task, or in a new one if none waits."""
        if self._closed:
            raise RuntimeError("the task pool is closed")
        while self._idle:
            mailbox = self._idle.pop()
            try:
                mailbox.put_nowait((fn, args))
                return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                continue  # its task was cancelled while it waited
        self._spawn((fn, args))

    def _spawn(self, job: _Job) -> None:
        self.started += 1
        self._context.run(self._tg.start_soon, self._work, job)  # the task copies this context

    @property
    def idle(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        """Waiting tasks end; running jobs finish as they would."""
        self._closed = True
        idle, self._idle = self._idle, []
        for mailbox in idle:
            mailbox.close()

    async def _work(self, job: _Job) -> None:
        mailbox: Channel[_Job] = Channel(1)
        pristine = copy_context()
        try:
            while True:
                fn, args = job
                del job
                await fn(*args)
                del fn, args  # the finished job's references go now, not at the next job
                if self._closed or len(self._idle) >= self.max_idle or _changed(pristine, copy_context()):
                    return
                self._idle.append(mailbox)
                try:
                    job = await mailbox.get()
                except anyio.EndOfStream:
                    return
        finally:
            if len(mailbox):  # handed over as this task was being cancelled: another runs it
                self._spawn(mailbox.get_nowait())
            mailbox.close_reader()
