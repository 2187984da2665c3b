"""A watcher too slow to keep up is closed with 4008; the run and a fast watcher go on, and the
slow one catches up by reconnecting with its last seq."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import orjson
import pytest
from streamhil_client import open_client
from streamhil_server import ServerSettings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import TIMEOUT, serve
from .graphs import Credit, Gate, streaming

pytestmark = pytest.mark.anyio

COUNT, SIZE = 800, 16_000  # ~13 MB of events: more than the socket buffers hold
QUEUE, WINDOW = 64, 32  # the fast watcher keeps up: the producer runs at most WINDOW events ahead of it


def small_window_socket(url: str) -> socket.socket:
    """A connected socket whose receive buffer stays small (no autotuning to tens of MB)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])))
    sock.setblocking(False)
    return sock


async def hello(ws: Any, *, batch: bool = False) -> dict[str, Any]:
    frame = {"type": "hello", "protocol_version": 1, "token": "alice-token", **({"batch": True} if batch else {})}
    await ws.send(orjson.dumps(frame).decode())
    welcome: dict[str, Any] = orjson.loads(await ws.recv())
    assert welcome.get("batch", False) is batch
    return welcome


async def receive(ws: Any, batched: bool, sizes: list[int] | None = None) -> list[dict[str, Any]]:
    """The frames of the next message: one, or (batched) the array's elements; ``sizes`` gets
    how many."""
    message = orjson.loads(await ws.recv())
    if not isinstance(message, list):
        message = [message]
    else:
        assert batched and len(message) > 1, "an array only when batching was negotiated, never of one frame"
    if sizes is not None:
        sizes.append(len(message))
    return message


@pytest.mark.parametrize("batch", [False, True], ids=["one-frame-messages", "batched"])
async def test_slow_watcher_is_closed_while_the_run_and_a_fast_watcher_go_on(batch: bool) -> None:
    gate, credit = Gate(), Credit(WINDOW)
    settings = ServerSettings(max_send_queue=QUEUE)
    async with serve({"streaming": streaming(gate, COUNT, SIZE, credit)}, settings=settings) as (url, app):
        async with open_client(url, token="alice-token") as fast:
            with anyio.fail_after(TIMEOUT * 2):
                run = await fast.start_run("streaming", {}, stream_modes=["custom"])
                async with connect(url, sock=small_window_socket(url), max_queue=1, max_size=None, compression=None) as slow:
                    welcome = await hello(slow, batch=batch)
                    await slow.send(orjson.dumps({"type": "subscribe", "id": "1", "thread_id": run.thread_id, "after": 0}).decode())
                    seen = await receive(slow, batch)  # the reply, and events batched with it
                    reply = seen.pop(0)
                    assert reply["type"] == "reply" and reply["result"]["resync"] is False
                    gate.open()  # the slow watcher now reads nothing until the run is over

                    events = []
                    async for event in run:
                        events.append(event)
                        if event.event == "custom":
                            credit.grant(event.data["i"] + 1 + WINDOW)
                    assert events[-1].event == "run_interrupted"
                    custom = [e.data["i"] for e in events if e.event == "custom"]
                    assert custom == list(range(-1, COUNT))
                    seqs = [e.seq for e in events]
                    assert seqs == list(range(1, len(seqs) + 1))
                    assert app.state.runtime.statistics().slow_consumers_closed == 1

                    # the slow watcher finds what was sent before the overflow, then the close
                    sizes: list[int] = []
                    with pytest.raises(ConnectionClosed) as closed:
                        while True:
                            seen.extend(await receive(slow, batch, sizes))
                    assert (max(sizes) > 1) is batch  # the backlog left in batches when negotiated
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
                    got = [f["seq"] for f in seen if f["type"] == "event"]
                    assert got == list(range(1, len(got) + 1)) and len(got) < len(seqs)
                    assert seen[-1]["type"] == "error" and seen[-1]["code"] == "slow_consumer"

                # it reconnects with its last seq and gets exactly the rest
                async with connect(url, max_size=None) as again:
                    assert (await hello(again, batch=batch))["epoch"] == welcome["epoch"]
                    await again.send(orjson.dumps(
                        {"type": "subscribe", "id": "1", "thread_id": run.thread_id, "after": got[-1], "epoch": welcome["epoch"]}
                    ).decode())
                    frames = await receive(again, batch)
                    reply = frames.pop(0)
                    assert reply["result"]["replayed"] == seqs[-1] - got[-1]
                    while len(frames) < reply["result"]["replayed"]:
                        frames.extend(await receive(again, batch))
                    assert got + [f["seq"] for f in frames] == seqs
