"""The SDK is asyncio-only (websockets.asyncio), so its tests pin the asyncio backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
