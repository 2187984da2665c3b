"""TaskPool: jobs reuse waiting tasks, fail and cancel as in a task group, and never see a
context variable an earlier job left changed."""

from __future__ import annotations

from contextvars import ContextVar

import anyio
import pytest
from streamhil_server.task_pool import TaskPool

pytestmark = pytest.mark.anyio

_request: ContextVar[str] = ContextVar("request", default="none")


async def test_a_finished_jobs_task_takes_the_next_job() -> None:
    done: list[int] = []
    async with anyio.create_task_group() as tg:
        pool = TaskPool(tg, max_idle=4)
        for n in range(10):
            finished = anyio.Event()

            async def job(n: int = n, finished: anyio.Event = finished) -> None:
                done.append(n)
                finished.set()

            pool.start_soon(job)
            await finished.wait()
            await anyio.wait_all_tasks_blocked()  # the task waits for the next job
        assert pool.started == 1 and pool.idle == 1
        pool.close()
    assert done == list(range(10))


async def test_jobs_run_at_once_and_at_most_max_idle_tasks_wait() -> None:
    release = anyio.Event()
    running = 0
    async with anyio.create_task_group() as tg:
        pool = TaskPool(tg, max_idle=2)

        async def job() -> None:
            nonlocal running
            running += 1
            await release.wait()

        for _ in range(5):
            pool.start_soon(job)
        await anyio.wait_all_tasks_blocked()
        assert running == 5 and pool.started == 5  # none waited for another
        release.set()
        await anyio.wait_all_tasks_blocked()
        assert pool.idle == 2
        pool.close()
        await anyio.wait_all_tasks_blocked()
        assert pool.idle == 0
        with pytest.raises(RuntimeError):
            pool.start_soon(job)


async def test_a_job_that_changes_a_context_variable_retires_its_task() -> None:
    seen: list[str] = []
    async with anyio.create_task_group() as tg:
        pool = TaskPool(tg)

        async def leaks() -> None:
            _request.set("leaked")

        async def looks() -> None:
            seen.append(_request.get())

        async def sets_and_resets() -> None:
            token = _request.set("mine")
            _request.reset(token)

        for job in (sets_and_resets, looks, leaks, looks):
            pool.start_soon(job)
            await anyio.wait_all_tasks_blocked()
        assert seen == ["none", "none"]
        assert pool.started == 2  # a new task after the leak only
        pool.close()


async def test_a_failing_job_fails_the_task_group() -> None:
    with pytest.raises(ExceptionGroup) as caught:
        async with anyio.create_task_group() as tg:
            pool = TaskPool(tg)

            async def fails() -> None:
                raise ValueError("boom")

            pool.start_soon(fails)
            await anyio.sleep_forever()
    assert [type(e) for e in caught.value.exceptions] == [ValueError]


async def test_every_task_starts_in_the_pools_context_not_its_callers() -> None:
    seen: list[str] = []

    async def looks() -> None:
        seen.append(_request.get())

    async with anyio.create_task_group() as tg:
        pool = TaskPool(tg)  # made where no request is set
        token = _request.set("a caller's request")
        try:
            pool.start_soon(looks)  # a new task
            await anyio.wait_all_tasks_blocked()
            pool.start_soon(looks)  # the waiting one
            await anyio.wait_all_tasks_blocked()
        finally:
            _request.reset(token)
        pool.close()
    assert seen == ["none", "none"]
