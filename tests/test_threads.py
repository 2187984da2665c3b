"""streamhil._threads: sync nodes run in worker threads that keep anyio's worker-thread contract
(reach the loop with anyio.from_thread, see the run's cancellation), on asyncio's cheaper path
and on trio's."""

from __future__ import annotations

import contextvars
import threading
from typing import Any, TypedDict

import anyio
import anyio.from_thread
import pytest
import sniffio

from streamhil import END, START, StateGraph
from streamhil._threads import fast_path, run_sync_node

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_the_fast_path_is_available_with_the_installed_anyio() -> None:
    # If this fails, anyio moved the names the asyncio path claims threads with: the module
    # still works (on anyio.to_thread), but slower; update _threads.py.
    assert fast_path()


async def test_runs_in_another_thread_with_the_callers_context() -> None:
    request_id.set("r-1")
    here = threading.get_ident()

    def probe(extra: int) -> tuple[int, str, int]:
        return threading.get_ident(), request_id.get(), extra

    ident, seen, extra = await run_sync_node(probe, 7)
    assert ident != here and seen == "r-1" and extra == 7


async def test_the_thread_is_an_anyio_worker_thread() -> None:
    loop_thread = threading.get_ident()

    async def on_loop() -> int:
        await anyio.sleep(0)
        return threading.get_ident()

    def node() -> tuple[int, int, str | None]:
        anyio.from_thread.check_cancelled()  # would raise outside a worker thread
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = None
        return anyio.from_thread.run(on_loop), anyio.from_thread.run_sync(threading.get_ident), library

    via_run, via_run_sync, library = await run_sync_node(node)
    assert via_run == loop_thread and via_run_sync == loop_thread
    assert library is None  # no async library runs in the worker thread


async def test_exceptions_reach_the_caller() -> None:
    def fail() -> None:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        await run_sync_node(fail)


async def test_cancelling_stops_waiting_and_the_node_sees_it(anyio_backend: str) -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[str] = []
    finished = threading.Event()

    def node() -> None:
        started.set()
        release.wait(10)
        try:
            anyio.from_thread.check_cancelled()
        except BaseException as exc:  # the loop's cancellation exception
            seen.append(type(exc).__name__)
            raise
        finally:
            finished.set()
        seen.append("not cancelled")

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_sync_node, node)
            await anyio.to_thread.run_sync(started.wait, 10)
            scope.cancel()
    assert scope.cancelled_caught  # the caller stopped waiting while the node still ran
    release.set()
    assert await anyio.to_thread.run_sync(finished.wait, 10)
    assert seen == ["Cancelled" if anyio_backend == "trio" else "CancelledError"]


async def test_parallel_sync_nodes_run_at_once() -> None:
    # Two sync nodes of one superstep each wait for the other: only true parallelism ends it.
    barrier = threading.Barrier(2, timeout=10)

    class State(TypedDict, total=False):
        seen: list[str]

    def left(state: State) -> dict[str, Any]:
        barrier.wait()
        return {}

    def right(state: State) -> dict[str, Any]:
        barrier.wait()
        return {}

    g = StateGraph(State)
    g.add_node("left", left)
    g.add_node("right", right)
    g.add_edge(START, "left")
    g.add_edge(START, "right")
    g.add_edge("left", END)
    g.add_edge("right", END)
    with anyio.fail_after(20):
        await g.compile().ainvoke({})
