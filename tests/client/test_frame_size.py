"""A command larger than the server's ``max_frame_bytes`` fails at once and frees its window slot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from streamhil.protocol import codec
from streamhil_client import BadRequestError, Client, open_client

from .fake_server import FAST, FakeServer, run_fake_server

pytestmark = pytest.mark.anyio

@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with run_fake_server() as fake:
        fake.max_frame_bytes = 2_000
        yield fake


async def test_an_oversize_command_is_refused_before_it_is_sent_and_frees_its_slot(server: FakeServer) -> None:
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", max_in_flight=1, **FAST) as client:
            for _ in range(3):  # with a window of 1, a leaked slot would hang the next command
                with pytest.raises(BadRequestError) as info:
                    await client.start_run("publish", {"topic": "é" * 1_500})  # 3 000 bytes of UTF-8
                error = info.value
                assert error.code == "frame_too_large"
                assert error.details["max_frame_bytes"] == 2_000 and error.details["frame_bytes"] > 3_000
                assert client.statistics().in_flight == 0
            assert await client.ping("still here") == "still here"
            assert ("start_run", None) not in server.sessions[0].commands  # nothing reached the server


async def test_a_frame_exactly_at_the_limit_is_sent(server: FakeServer) -> None:
    server.max_frame_bytes = 200
    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", **FAST) as client:
            payload = "a" * (200 - len('{"type":"ping","id":"1","payload":""}'))
            assert await client.ping(payload) == payload
            with pytest.raises(BadRequestError, match="max_frame_bytes=200"):
                await client.ping(payload + "a")


@pytest.mark.parametrize("server_reads_the_id", [True, False])
async def test_the_servers_refusal_of_an_oversize_frame_ends_the_command(
    server: FakeServer, server_reads_the_id: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that takes less than its welcome says: its frame_too_large ends the command,
    also when it cannot read the frame's id (the error then has none)."""
    server.announced_max_frame_bytes = 100_000
    if not server_reads_the_id:
        monkeypatch.setattr(codec, "_leading_id", lambda text: None)
    answers: list[str] = []

    async def ping(client: Client) -> None:
        answers.append(await client.ping("small"))

    with anyio.fail_after(5):
        async with open_client(server.url, token="alice-token", max_in_flight=2, **FAST) as client:
            async with anyio.create_task_group() as tg:
                server.hold = True
                tg.start_soon(ping, client)
                await server.wait_held(1)  # a smaller command waits for its answer meanwhile
                with pytest.raises(BadRequestError) as info:
                    await client.start_run("publish", {"topic": "x" * 5_000})
                assert info.value.code == "frame_too_large"
                assert client.statistics().in_flight == 1
                server.hold = False
                await server.release()
            assert answers == ["small"]
            assert client.statistics().in_flight == 0
            assert await client.ping("still here") == "still here"
