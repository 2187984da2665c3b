"""InMemorySaver: the conformance suite, plus what only memory can show (its blob table)."""

from __future__ import annotations

import pytest

from streamhil.checkpoint.base import BaseCheckpointSaver, thread_config
from streamhil.checkpoint.memory import InMemorySaver, MemorySaver

from .conformance import CHECKS, Check, make_checkpoint

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
async def test_conformance(check: Check) -> None:
    async with InMemorySaver() as saver:
        await check(saver)


async def test_alias() -> None:
    assert MemorySaver is InMemorySaver
    assert isinstance(InMemorySaver(), BaseCheckpointSaver)


async def test_blobs_grow_with_changes_not_with_graph_size() -> None:
    saver = InMemorySaver()
    values = {f"channel{i}": list(range(100)) for i in range(20)}
    versions = {key: 1 for key in values}
    first = make_checkpoint(dict(values), dict(versions))
    config = await saver.aput(thread_config("t"), first, {}, versions)
    assert len(saver._blobs) == 20
    for step in range(2, 12):
        versions = {**versions, "channel0": step}
        values = {**values, "channel0": [step]}
        checkpoint = make_checkpoint(dict(values), dict(versions))
        config = await saver.aput(config, checkpoint, {}, {"channel0": step})
    assert len(saver._blobs) == 30  # one new blob per step, not twenty
