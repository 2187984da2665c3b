"""Sync nodes in worker threads: anyio's worker-thread contract, at a lower cost on asyncio.

A sync node runs in a worker thread so that a blocking node never stalls the event loop and
parallel nodes truly run at once. ``anyio.to_thread.run_sync`` does that on every loop, but on
asyncio it cost the event loop about 0.2 ms of CPU per call under load (a checkpoint, a
capacity limiter, a cancel scope and its own thread pool; ``bench/ws_bench.py`` runs two sync
nodes per round trip, and this module took about 0.4 ms off the server's CPU per round trip).
So on asyncio :func:`run_sync_node` hands the call to a thread of a pool of its own
(:class:`WorkerPool`) and claims that thread exactly as anyio claims its own: the
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
import os
import queue
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import anyio.to_thread
from anyio.lowlevel import EventLoopToken

from ._backend import current_backend

__all__ = ["WorkerPool", "NODE_THREADS", "run_sync_node", "fast_path", "MAX_WORKERS", "run_in_helper_thread", "waits_on_helper_thread"]

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
    commits, and the reverse.

    On asyncio the hand-over is as small as it can be: the caller's loop future goes through a
    queue to a pool thread, which sets it through ``loop.call_soon_threadsafe``; no
    ``concurrent.futures`` future, condition or semaphore per call. A thread that finishes a call
    takes the next queued one without sleeping. Threads are not bound to one loop: several loops
    (in threads of their own) share them. At interpreter exit, as with ``concurrent.futures``,
    idle threads stop and running calls end first."""

    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self.max_workers = max_workers
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a call, less the calls already promised to them
        self._started = 0
        self._closed = False
        _POOLS.append(self)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread (see the module's docstring for cancellation)."""
        if current_backend() != "asyncio" or not fast_path():
            return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
        assert _anyio_asyncio is not None and _anyio_eventloop is not None
        asyncio = sys.modules["asyncio"]  # running, so loaded; the core never imports it itself
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        state = _anyio_asyncio._task_states.get(task) if task is not None else None
        context = contextvars.copy_context()
        context.run(_anyio_eventloop.set_current_async_library, None)  # sniffio: none in the thread
        future = loop.create_future()
        self._submit(_Call(loop, future, _token(loop), state.cancel_scope if state is not None else None, context, fn, args))
        result: T = await future
        return result

    def _submit(self, call: _Call) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.name} threads are shut down (the interpreter is exiting)")
            if self._idle:
                self._idle -= 1  # a waiting thread (or one about to wait) takes it
                start = False
            else:  # a new thread, unless all are started: then the first to finish takes it
                start = self._started < self.max_workers
                self._started += start
            self._calls.put(call)
        if start:
            threading.Thread(target=self._work, name=f"{self.name}_{self._started}").start()

    def _work(self) -> None:
        """A pool thread: the calls queued, one after the other, until the pool shuts down."""
        calls, lock = self._calls, self._lock
        while True:
            call = calls.get()
            if call is None:
                calls.put(None)  # the next thread stops too
                return
            call.run()
            del call
            with lock:
                self._idle += 1

    def _reset_after_fork(self) -> None:
        """In a forked child: the parent's threads are not there; start afresh."""
        self._calls = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = self._started = 0

    def _shut_down(self) -> None:
        """At interpreter exit: idle threads stop; busy ones stop after their call."""
        with self._lock:
            self._closed = True
        self._calls.put(None)


class _Call:
    """One call handed to a worker thread, and where its outcome goes."""

    __slots__ = ("loop", "future", "token", "scope", "context", "fn", "args")

    def __init__(self, loop: Any, future: Any, token: EventLoopToken, scope: Any, context: contextvars.Context,
                 fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.loop, self.future, self.token, self.scope = loop, future, token, scope
        self.context, self.fn, self.args = context, fn, args

    def run(self) -> None:
        """In the worker: run the call unless its caller stopped waiting first; post the outcome
        to the caller's loop."""
        if self.future.cancelled():  # (read across threads: at worst the call runs and is dropped)
            return
        assert _anyio_eventloop is not None
        local = _anyio_eventloop.threadlocals
        local.current_token, local.current_cancel_scope = self.token, self.scope
        try:
            result = self.context.run(self.fn, *self.args)
        except BaseException as exc:
            self._post(_fail, exc)
        else:
            self._post(_succeed, result)
        finally:
            del local.current_token, local.current_cancel_scope

    def _post(self, settle: Callable[[Any, Any], None], outcome: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(settle, self.future, outcome)
        except RuntimeError:  # the loop closed meanwhile: nobody waits for the outcome
            pass


def _succeed(future: Any, result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: Any, exc: BaseException) -> None:
    if not future.cancelled():
        if isinstance(exc, StopIteration):  # a future cannot carry StopIteration
            error = RuntimeError("the function raised StopIteration")
            error.__cause__ = exc
            exc = error
        future.set_exception(exc)


_token_cache: tuple[Any, EventLoopToken] | None = None


def _token(loop: Any) -> EventLoopToken:
    """The loop's anyio token (the same object for every call on one loop)."""
    global _token_cache
    cached = _token_cache
    if cached is not None and cached[0] is loop:
        return cached[1]
    assert _anyio_asyncio is not None
    token = EventLoopToken(_anyio_asyncio.AsyncIOBackend, loop)
    _token_cache = (loop, token)
    return token


_POOLS: list[WorkerPool] = []


def _shut_down_pools() -> None:
    for pool in _POOLS:
        pool._shut_down()


def _reset_pools_after_fork() -> None:
    for pool in _POOLS:
        pool._reset_after_fork()


# Before the interpreter joins its threads at exit, as concurrent.futures does (idle workers
# would otherwise keep it waiting forever).
threading._register_atexit(_shut_down_pools)  # type: ignore[attr-defined]
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_after_fork)


NODE_THREADS = WorkerPool("streamhil-node", MAX_WORKERS)
"""Where sync nodes run."""


async def run_sync_node(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (a sync node) in a worker thread, in a copy of the caller's context."""
    return await NODE_THREADS.run(fn, *args)


_waiting: dict[int, int] = {}
"""Thread id -> how many :func:`run_in_helper_thread` calls it is blocked in."""
_waiting_lock = threading.Lock()


def waits_on_helper_thread(thread_id: int) -> bool:
    """Whether the thread ``thread_id`` is blocked in :func:`run_in_helper_thread` (so its event
    loop, if it runs one, cannot serve anything until the helper is done)."""
    return thread_id in _waiting


def run_in_helper_thread(fn: Callable[[], T], name: str = "streamhil-helper") -> T:
    """``fn()`` in a new thread with a fresh context (so no event loop counts as running there),
    waited for here; what it raises (interrupts included) is raised here. For sync calls made
    where an event loop runs and must not be re-entered."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = contextvars.Context().run(fn)
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name)
    caller = threading.get_ident()
    with _waiting_lock:
        _waiting[caller] = _waiting.get(caller, 0) + 1
    try:
        thread.start()
        thread.join()
    finally:
        with _waiting_lock:
            _waiting[caller] -= 1
            if not _waiting[caller]:
                del _waiting[caller]
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
