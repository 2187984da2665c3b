"""Run the async API from sync code: a fresh event loop per call in a plain script, the host
loop when called from a sync node's worker thread, and a clear error inside a running loop."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import sniffio

from ..errors import SyncCallError
from ..executor.context import current_task
from ..executor.scope import PRIVATE_LOOP

__all__ = ["call", "iterate"]

T = TypeVar("T")

_IN_LOOP = (
    "{name}() was called from inside a running event loop, where it would block the loop. "
    "Use the async twin instead: await graph.a{name}(...)."
)


def in_worker_thread() -> bool:
    """Whether this is an anyio worker thread (a sync node) that can call into the host loop."""
    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:
        return False
    except BaseException:  # cancelled: still a worker thread
        return True
    return True


def _in_event_loop() -> bool:
    if in_worker_thread():
        return False
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def call(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` to completion, from sync code."""
    if current_task() is not None and PRIVATE_LOOP.get() and not in_worker_thread():
        # A node running inline on the sync API's private loop calls a graph's sync API: that
        # loop is blocked by the node, so run the call on a loop of its own in a helper thread.
        return _call_in_helper_thread(fn, *args, **kwargs)
    if _in_event_loop():
        raise SyncCallError(_IN_LOOP.format(name=getattr(fn, "__name__", "call").lstrip("a")))
    if in_worker_thread():
        # A sync node in an anyio worker thread: run on the loop that runs the graph.
        return anyio.from_thread.run(lambda: fn(*args, **kwargs))
    async def on_private_loop() -> T:
        PRIVATE_LOOP.set(True)
        return await fn(*args, **kwargs)

    return anyio.run(on_private_loop)


def _call_in_helper_thread(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}

    def run_fresh() -> T:
        sniffio.current_async_library_cvar.set(None)  # the copied context names the blocked loop
        return anyio.run(lambda: fn(*args, **kwargs))

    def target() -> None:
        try:
            outcome["value"] = context.run(run_fresh)
        except BaseException as exc:  # re-raised in the calling node, interrupts included
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="streamhil-nested-graph")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_DONE = object()


def iterate(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Items of the async iterator ``make()``, produced on a portal thread, consumed here."""
    if _in_event_loop():
        raise SyncCallError(_IN_LOOP.format(name="stream"))
    if in_worker_thread():
        async def collect() -> list[T]:
            return [item async for item in make()]

        yield from anyio.from_thread.run(collect)
        return
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()

    async def pump() -> None:
        PRIVATE_LOOP.set(True)
        try:
            async for item in make():
                items.put(item)
        except BaseException as exc:  # handed to the consumer thread
            items.put(_Raise(exc))
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
        finally:
            items.put(_DONE)

    with anyio.from_thread.start_blocking_portal() as portal:
        future = portal.start_task_soon(pump)
        try:
            while True:
                item = items.get()
                if item is _DONE:
                    break
                if isinstance(item, _Raise):
                    raise item.exc
                yield item
        finally:
            if not future.done():
                future.cancel()


class _Raise:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
