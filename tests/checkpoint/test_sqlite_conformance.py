"""SqliteSaver passes the conformance suite, on asyncio (aiosqlite) and trio (sqlite3 in a thread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamhil.checkpoint.sqlite import SqliteSaver

from .conformance import CHECKS, Check

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance(check: Check, tmp_path: Path) -> None:
    async with SqliteSaver.from_path(tmp_path / "checkpoints.sqlite") as saver:
        await check(saver)
