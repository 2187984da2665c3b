"""PostgresSaver passes the conformance suite, on asyncio (psycopg's async pool) and trio (its
sync pool in worker threads)."""

from __future__ import annotations

import pytest

from .conformance import CHECKS, Check

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance(check: Check, postgres_url: str) -> None:
    from streamhil.checkpoint.postgres import PostgresSaver

    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        await check(saver)
