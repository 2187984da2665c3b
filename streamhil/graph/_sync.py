"""Run the async API from sync code: a fresh event loop per call in a plain script; inside a
running event loop (a Jupyter cell, a sync function called from async code) a fresh loop in a
helper thread, the caller blocking as it would on any sync call; the host loop when called from a
sync node's worker thread. Only an async node calling the sync API of a graph, on the loop the
running graph needs, gets an error, naming the async form to use."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread

from ..errors import SyncCallError
from .._backend import current_backend, in_worker_thread
from .._threads import run_in_helper_thread
from ..executor.context import current_task, set_current_task
from ..executor.scope import PRIVATE_LOOP

__all__ = ["call", "iterate"]

T = TypeVar("T")

_IN_ASYNC_NODE = (
    "graph.{name}() was called from an async node, on the event loop the running graph needs: "
    "blocking that loop would stall the run. In an async node use {fix}; or make the node a plain "
    "`def` (sync nodes run in worker threads, where graph.{name}() works)."
)
_ASYNC_FORMS = {
    "stream": "`async for part in graph.astream(...)`",
    "get_state_history": "`async for snapshot in graph.aget_state_history(...)`",
}


def _in_async_node_error(name: str) -> SyncCallError:
    return SyncCallError(_IN_ASYNC_NODE.format(name=name, fix=_ASYNC_FORMS.get(name, f"`await graph.a{name}(...)`")))


def _in_event_loop() -> bool:
    if in_worker_thread():
        return False
    return current_backend() is not None


def call(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, name: str | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` to completion, from sync code; ``name`` is the sync method's name
    (for the error message), by default ``fn``'s without its ``a``."""
    if _inline_node():
        # A node running inline on the sync API's private loop calls a graph's sync API: that
        # loop is blocked by the node, so run the call on a loop of its own in a helper thread.
        return _call_in_helper_thread(fn, *args, **kwargs)
    if in_worker_thread():
        # A sync node in an anyio worker thread: run on the loop that runs the graph.
        return anyio.from_thread.run(lambda: fn(*args, **kwargs))
    if _in_event_loop():
        if current_task() is not None:
            raise _in_async_node_error(name or getattr(fn, "__name__", "call").removeprefix("a"))
        # A running loop with no graph on it waiting for us (Jupyter, IPython, a sync helper
        # called from async code): block here, as LangGraph does, running on a loop of our own.
        return _call_in_helper_thread(fn, *args, **kwargs)

    async def on_private_loop() -> T:
        PRIVATE_LOOP.set(True)
        return await fn(*args, **kwargs)

    return anyio.run(on_private_loop)


def _inline_node() -> bool:
    """Whether this is a node running inline on the sync API's private loop."""
    return current_task() is not None and PRIVATE_LOOP.get() and not in_worker_thread()


def _call_in_helper_thread(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on a fresh loop in a thread of its own and wait for it here."""
    task = current_task()

    def run_fresh() -> T:
        # A fresh context (the copied one would name the blocked loop as running here),
        # carrying only what the nested run needs: the calling task.
        set_current_task(task)
        PRIVATE_LOOP.set(True)
        return anyio.run(lambda: fn(*args, **kwargs))

    return run_in_helper_thread(run_fresh, name="streamhil-nested-graph")


_DONE = object()


def iterate(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Items of the async iterator ``make()``, produced on a portal thread, consumed here."""
    if _inline_node() or in_worker_thread():
        # Inside a node: the graph's loop cannot hand items over one by one, so collect them.
        async def collect() -> list[T]:
            return [item async for item in make()]

        if in_worker_thread():
            yield from anyio.from_thread.run(collect)
        else:
            yield from _call_in_helper_thread(collect)
        return
    if _in_event_loop() and current_task() is not None:
        raise _in_async_node_error("stream")
    # Otherwise the items are produced on a loop of their own in a portal thread, whether or not
    # a loop runs here (in Jupyter this thread's loop waits, as on any blocking call).
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()

    async def pump() -> None:
        PRIVATE_LOOP.set(True)
        try:
            async with contextlib.aclosing(make()) as parts:  # type: ignore[type-var]
                while True:
                    await requested.acquire()  # one item per request of the consumer thread
                    try:
                        item = await parts.__anext__()
                    except StopAsyncIteration:
                        break
                    items.put(item)
        except BaseException as exc:  # handed to the consumer thread
            items.put(_Raise(exc))
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
        finally:
            items.put(_DONE)

    with anyio.from_thread.start_blocking_portal() as portal:
        requested: anyio.Semaphore = portal.call(lambda: anyio.Semaphore(0))
        future = portal.start_task_soon(pump)
        try:
            while True:
                portal.call(requested.release)
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
