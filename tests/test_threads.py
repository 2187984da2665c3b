"""streamhil._threads: sync nodes run in worker threads that keep anyio's worker-thread contract
(reach the loop with anyio.from_thread, see the run's cancellation), on asyncio's cheaper path
and on trio's."""

from __future__ import annotations

import contextvars
import subprocess
import sys
import threading
from typing import Any, TypedDict

import anyio
import anyio.from_thread
import pytest
import sniffio

from streamhil import END, START, StateGraph
from streamhil._threads import WorkerPool, fast_path, run_sync_node

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


# --- the pool itself (asyncio's path; trio uses its own threads) ---------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_calls_beyond_the_pools_size_wait_their_turn() -> None:
    pool = WorkerPool("test-small", 2)
    running = 0
    most = 0
    guard = threading.Lock()
    two_in = threading.Barrier(2, timeout=10)

    def call(i: int) -> int:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        if i < 2:
            two_in.wait()  # the first two run at once (two threads)
        with guard:
            running -= 1
        return i * 10

    results: dict[int, int] = {}

    async def one(i: int) -> None:
        results[i] = await pool.run(call, i)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(one, i)
    assert results == {i: i * 10 for i in range(8)}
    assert most == 2  # never more threads than the pool's size
    assert pool._started == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_call_cancelled_while_queued_never_runs() -> None:
    pool = WorkerPool("test-one", 1)
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def blocker() -> None:
        started.set()
        release.wait(10)

    def queued() -> None:
        ran.append("queued")

    async with anyio.create_task_group() as tg:
        tg.start_soon(pool.run, blocker)
        await anyio.to_thread.run_sync(started.wait, 10)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await pool.run(queued)  # queued behind the blocker, then cancelled
        release.set()
    assert await pool.run(lambda: "after") == "after"  # the thread goes on with the next call
    assert ran == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_function_raising_stop_iteration_fails_with_runtime_error() -> None:
    def stop() -> None:
        raise StopIteration

    with pytest.raises(RuntimeError, match="StopIteration"):
        await run_sync_node(stop)


def test_the_interpreter_exits_at_once_with_idle_threads_and_waits_for_a_running_call(tmp_path: Any) -> None:
    # Idle pool threads must not keep the interpreter waiting; a call still running when the
    # loop ends finishes its work before the process exits (as with concurrent.futures).
    done = tmp_path / "done"
    script = f"""
import asyncio, threading, time
from streamhil._threads import run_sync_node

started = threading.Event()

def slow():
    started.set()
    time.sleep(0.3)
    open({str(done)!r}, "w").write("finished")

async def main():
    for _ in range(5):
        await run_sync_node(int, "1")  # leaves idle threads behind
    task = asyncio.ensure_future(run_sync_node(slow))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()  # abandoned: the loop ends while the call runs

asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert done.read_text() == "finished"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_threads() -> None:
    # The parent's pool threads do not exist in a forked child: its sync nodes must still run.
    script = """
import asyncio, os, sys
from streamhil._threads import run_sync_node

async def main():
    return await run_sync_node(int, "7")

assert asyncio.run(main()) == 7  # the parent now has an idle pool thread
pid = os.fork()
if pid == 0:
    try:
        ok = asyncio.run(asyncio.wait_for(main(), 10)) == 7
    except BaseException:
        ok = False
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
