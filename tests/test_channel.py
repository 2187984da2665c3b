"""streamhil._channel.Channel: one reader, senders that never wait."""

from __future__ import annotations

import anyio
import pytest

from streamhil._channel import Channel

pytestmark = pytest.mark.anyio


async def test_items_come_out_in_order_and_a_waiting_reader_wakes() -> None:
    channel: Channel[int] = Channel()
    got: list[int] = []

    async def read() -> None:
        while True:
            try:
                got.append(await channel.get())
            except anyio.EndOfStream:
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()  # the reader waits on an empty channel
        for i in range(5):
            channel.put_nowait(i)
        await anyio.wait_all_tasks_blocked()
        assert got == [0, 1, 2, 3, 4]
        channel.put_nowait(5)
        channel.close()
    assert got == [0, 1, 2, 3, 4, 5]


async def test_a_full_channel_refuses_and_a_closed_one_ends_after_its_last_item() -> None:
    channel: Channel[str] = Channel(max_items=2)
    channel.put_nowait("a")
    channel.put_nowait("b")
    with pytest.raises(anyio.WouldBlock):
        channel.put_nowait("c")
    assert len(channel) == 2
    channel.close()
    with pytest.raises(anyio.ClosedResourceError):
        channel.put_nowait("d")
    assert [channel.get_nowait(), await channel.get()] == ["a", "b"]
    with pytest.raises(anyio.EndOfStream):
        channel.get_nowait()
    with pytest.raises(anyio.EndOfStream):
        await channel.get()


async def test_once_the_reader_left_puts_fail_and_waiting_items_are_dropped() -> None:
    channel: Channel[int] = Channel()
    channel.put_nowait(1)
    with pytest.raises(anyio.WouldBlock):
        Channel[int]().get_nowait()
    channel.close_reader()
    assert len(channel) == 0
    with pytest.raises(anyio.BrokenResourceError):
        channel.put_nowait(2)


async def test_a_reader_cancelled_while_waiting_leaves_the_channel_usable() -> None:
    channel: Channel[int] = Channel()
    with anyio.move_on_after(0.01):
        await channel.get()
    channel.put_nowait(7)
    assert await channel.get() == 7
