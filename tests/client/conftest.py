"""The SDK is asyncio-only (websockets.asyncio), so its tests pin the asyncio backend; ``server``
is a fake server of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .fake_server import FakeServer, run_fake_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with run_fake_server() as fake:
        yield fake
