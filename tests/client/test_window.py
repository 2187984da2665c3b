"""The in-flight window on its own: room, FIFO order, the priority lane, hold, close, cancel."""

from __future__ import annotations

import anyio
import pytest

from streamhil_client.window import InFlightWindow, WindowClosed, window_size

pytestmark = pytest.mark.anyio


def test_window_size_is_a_sixteenth_of_the_send_queue_between_1_and_64() -> None:
    assert [window_size(n) for n in (1, 16, 64, 1000, 1024, 100_000)] == [1, 1, 4, 62, 64, 64]
    with pytest.raises(ValueError):
        InFlightWindow(0)


async def test_waiters_get_room_in_order_priority_first_and_not_while_held() -> None:
    window = InFlightWindow(1, held=True)
    order: list[str] = []

    async def take(name: str, priority: bool) -> None:
        await window.acquire(priority=priority)
        order.append(name)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(take, "n1", False)
            tg.start_soon(take, "p1", True)
            tg.start_soon(take, "p2", True)
            await anyio.wait_all_tasks_blocked()
            assert order == ["p1"] and window.queued == 2  # the held window shuts out n1
            window.release()
            await anyio.wait_all_tasks_blocked()
            assert order == ["p1", "p2"]
            window.open()
            window.release()
    assert order == ["p1", "p2", "n1"] and window.in_flight == 1 and window.peak == 1


async def test_close_wakes_waiters_and_refuses_new_ones() -> None:
    window = InFlightWindow(1)
    await window.acquire()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def wait() -> None:
                with pytest.raises(WindowClosed):
                    await window.acquire()

            tg.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            window.close()
    with pytest.raises(WindowClosed):
        await window.acquire()


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    window = InFlightWindow(1)
    await window.acquire()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(window.acquire)
            await anyio.wait_all_tasks_blocked()
            assert window.queued == 1
            tg.cancel_scope.cancel()
        assert window.queued == 0
        window.release()
        await window.acquire()  # the room was not taken by the cancelled waiter
    window.release()
    with pytest.raises(RuntimeError):
        window.release()
