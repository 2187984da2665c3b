"""Which event loop runs in this thread, without importing one (sniffio's method, on anyio's backends)."""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["DetachedTask", "current_backend", "in_worker_thread"]


def current_backend() -> str | None:
    """``"trio"``, ``"asyncio"``, or None when no event loop runs in this thread."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        return "asyncio"
    return None


def in_worker_thread() -> bool:
    """Whether this is an anyio worker thread (a sync node) that can call into the host loop."""
    import anyio.from_thread

    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:
        return False
    except BaseException:  # cancelled: still a worker thread
        return True
    return True


class DetachedTask:
    """A task owned by an object rather than a block: started on the running loop, cancelled (not
    exited) from any task of that loop, and awaited from any task.

    It is how an async generator runs its producer without holding a task group or cancel scope
    across a ``yield``: when the generator is closed from another task (asyncio and trio finalise
    abandoned generators in a task of their own), closing cancels this task and waits for it,
    which is legal from any task. The owner must cancel and await it; ``fn`` must not raise
    anything but cancellation (what it raises is kept and re-raised by :meth:`wait`).
    """

    def __init__(self, fn: Callable[[], Awaitable[None]]) -> None:
        import anyio

        self._fn = fn
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._error: BaseException | None = None
        self._handle: Any = None  # a strong reference to the backend's task

    async def _main(self) -> None:
        try:
            with self._scope:
                await self._fn()
        except Exception as exc:  # never out of a trio system task: kept for wait()
            self._error = exc
        finally:
            self._done.set()

    def start(self) -> DetachedTask:
        """Start it on the loop running in this thread (a copy of this context runs it)."""
        backend = current_backend()
        context = contextvars.copy_context()
        # The running backend's own module (already imported, since it runs): the core depends
        # on neither asyncio nor trio, only on whichever runs it.
        if backend == "trio":
            lowlevel = sys.modules["trio"].lowlevel
            self._handle = lowlevel.spawn_system_task(self._main, name="streamhil-stream", context=context)
        elif backend == "asyncio":
            loop = sys.modules["asyncio"].get_running_loop()
            self._handle = loop.create_task(self._main(), context=context)
        else:
            raise RuntimeError("DetachedTask.start() needs a running asyncio or trio loop")
        return self

    def cancel(self) -> None:
        self._scope.cancel()

    async def wait(self) -> None:
        """Wait until it has ended (shielded: it ends promptly once cancelled)."""
        import anyio

        with anyio.CancelScope(shield=True):
            await self._done.wait()
        if self._error is not None:
            raise self._error
