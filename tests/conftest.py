"""Shared fixtures: every async test runs on asyncio and on trio unless its module pins a backend."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param
