"""Call a saver's async methods from sync code (its ``get_tuple``, ``list``, ``put``...).

Where the call comes from decides where it runs:

- a worker thread of a running graph (a sync node): on that graph's event loop, so the saver
  uses the connection it already has there;
- a thread with no event loop (a plain script): on a fresh event loop of its own;
- a thread whose event loop is running (async code, a Jupyter cell): on a fresh loop in a helper
  thread, the caller blocking as on any sync I/O. It does not wait for the blocked loop: the
  savers whose connections belong to one loop (aiosqlite, psycopg's async pool) open another for
  the helper's loop, so each such call pays for opening one (a few milliseconds); the sync
  methods are for scripts and notebooks, the async ones for code on a loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread

from .._backend import current_backend, in_worker_thread
from .._threads import run_in_helper_thread

__all__ = ["run_blocking", "collect_blocking", "run_in_helper_thread"]

T = TypeVar("T")


def run_blocking(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``await fn()`` to completion from sync code, on the loop the module docstring names."""
    if in_worker_thread():
        return anyio.from_thread.run(fn)
    if current_backend() is not None:
        return run_in_helper_thread(lambda: anyio.run(fn), name="streamhil-saver-sync-call")
    return anyio.run(fn)


def collect_blocking(make: Callable[[], AsyncIterator[T]]) -> list[T]:
    """Every item of the async iterator ``make()``, read from sync code as :func:`run_blocking`."""

    async def collect() -> list[T]:
        return [item async for item in make()]

    return run_blocking(collect)
