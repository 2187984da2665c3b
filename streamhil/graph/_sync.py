"""Run the async API from sync code: a fresh event loop per call in a plain script, the host
loop when called from a sync node's worker thread, and a clear error inside a running loop."""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import sniffio

from ..errors import SyncCallError

__all__ = ["call", "iterate"]

T = TypeVar("T")

_IN_LOOP = (
    "{name}() was called from inside a running event loop, where it would block the loop. "
    "Use the async twin instead: await graph.a{name}(...)."
)


def _in_worker_thread() -> bool:
    """Whether this is an anyio worker thread (a sync node) that can call into the host loop."""
    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:
        return False
    except BaseException:  # cancelled: still a worker thread
        return True
    return True


def _in_event_loop() -> bool:
    if _in_worker_thread():
        return False
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def call(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` to completion, from sync code."""
    if _in_event_loop():
        raise SyncCallError(_IN_LOOP.format(name=getattr(fn, "__name__", "call").lstrip("a")))
    if _in_worker_thread():
        # A sync node in an anyio worker thread: run on the loop that runs the graph.
        return anyio.from_thread.run(lambda: fn(*args, **kwargs))
    return anyio.run(lambda: fn(*args, **kwargs))


_DONE = object()


def iterate(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Items of the async iterator ``make()``, produced on a portal thread, consumed here."""
    if _in_event_loop():
        raise SyncCallError(_IN_LOOP.format(name="stream"))
    if _in_worker_thread():
        async def collect() -> list[T]:
            return [item async for item in make()]

        yield from anyio.from_thread.run(collect)
        return
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()

    async def pump() -> None:
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
