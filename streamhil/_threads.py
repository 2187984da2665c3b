"""Sync nodes in worker threads: anyio's worker-thread contract, at a lower cost on asyncio.

A sync node runs in a worker thread so that a blocking node never stalls the event loop and
parallel nodes truly run at once. ``anyio.to_thread.run_sync`` does that on every loop, but on
asyncio it cost the event loop about 0.2 ms of CPU per call under load (a checkpoint, a
capacity limiter, a cancel scope and its own thread pool; ``bench/ws_bench.py`` runs two sync
nodes per round trip, and this module took about 0.4 ms off the server's CPU per round trip).
So on asyncio :func:`run_sync_node` submits the call to a thread pool of its own through
``loop.run_in_executor`` and claims the worker thread exactly as anyio claims its own: the
thread carries the loop's token and the calling task's cancel scope, so inside the node
``anyio.from_thread.run`` / ``run_sync`` reach the loop and ``anyio.from_thread.check_cancelled``
sees the run's cancellation, as in an anyio worker thread.

That claim uses three of anyio's private names; if a future anyio moves them, the module falls
back to ``anyio.to_thread.run_sync`` (:func:`fast_path` says which one runs). On trio it is always
``anyio.to_thread.run_sync``, i.e. ``trio.to_thread.run_sync``, which is already cheap.

Cancellation matches ``abandon_on_cancel=True``: a cancelled run stops waiting at once; a node
already running finishes in its thread and its result is dropped; a node not started yet never
starts.
"""

from __future__ import annotations

import contextvars
import importlib
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, TypeVar

import anyio.to_thread
from anyio.lowlevel import EventLoopToken

from ._backend import current_backend

__all__ = ["WorkerPool", "NODE_THREADS", "run_sync_node", "fast_path", "MAX_WORKERS"]

T = TypeVar("T")

MAX_WORKERS = 100
"""Sync nodes running at once in the process (every event loop's together; anyio's default
limiter allows 40 per loop, asyncio's default executor min(32, CPUs + 4)): more wait their turn.
Threads are started only as needed and reused."""

_anyio_asyncio: ModuleType | None = None
_anyio_eventloop: ModuleType | None = None


def fast_path() -> bool:
    """Whether the installed anyio has the names the asyncio path claims threads with (they are
    private: imported here, on first use, rather than at import time)."""
    global _anyio_asyncio, _anyio_eventloop
    if _anyio_asyncio is None:
        try:
            backend = importlib.import_module("anyio._backends._asyncio")
            eventloop = importlib.import_module("anyio._core._eventloop")
        except ImportError:  # pragma: no cover - depends on the installed anyio
            return False
        names = (backend, "AsyncIOBackend"), (backend, "_task_states"), (eventloop, "threadlocals"), (
            eventloop, "set_current_async_library")
        if not all(hasattr(module, name) for module, name in names):  # pragma: no cover
            return False
        _anyio_asyncio, _anyio_eventloop = backend, eventloop
    return True


class WorkerPool:
    """Worker threads of one kind (sync nodes; a storage's commits), started as needed.

    ``await pool.run(fn, *args)`` runs ``fn(*args)`` in one of at most ``max_workers`` threads,
    in a copy of the caller's context; more calls wait their turn (on trio: anyio's threads and
    its default limiter). A pool per kind keeps blocking nodes from delaying a storage's
    commits, and the reverse."""

    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix=self.name)
            return self._executor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread (see the module's docstring for cancellation)."""
        if current_backend() != "asyncio" or not fast_path():
            return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
        assert _anyio_asyncio is not None and _anyio_eventloop is not None
        asyncio = sys.modules["asyncio"]  # running, so loaded; the core never imports it itself
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        state = _anyio_asyncio._task_states.get(task) if task is not None else None
        scope = state.cancel_scope if state is not None else None
        context = contextvars.copy_context()
        context.run(_anyio_eventloop.set_current_async_library, None)  # sniffio: none in the thread
        token = EventLoopToken(_anyio_asyncio.AsyncIOBackend, loop)
        result: T = await loop.run_in_executor(self._pool(), _claimed, token, scope, context, fn, args)
        return result


NODE_THREADS = WorkerPool("streamhil-node", MAX_WORKERS)
"""Where sync nodes run."""


async def run_sync_node(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (a sync node) in a worker thread, in a copy of the caller's context."""
    return await NODE_THREADS.run(fn, *args)


def _claimed(token: EventLoopToken, scope: Any, context: contextvars.Context, fn: Callable[..., T],
             args: tuple[Any, ...]) -> T:
    """Run ``fn`` in this pool thread, claimed for the loop as anyio claims its worker threads:
    the loop's token, and the calling task's cancel scope for ``check_cancelled``."""
    assert _anyio_eventloop is not None
    local = _anyio_eventloop.threadlocals
    local.current_token, local.current_cancel_scope = token, scope
    try:
        return context.run(fn, *args)
    finally:
        del local.current_token, local.current_cancel_scope
