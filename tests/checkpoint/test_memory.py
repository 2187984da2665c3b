"""InMemorySaver: the conformance suite, plus what only memory can show (its blob table)."""

from __future__ import annotations

import anyio
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


async def test_only_alist_yields_to_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in memory waits: saving and loading never give the loop a turn; listing does,
    every few checkpoints, so a long listing stays cancellable."""
    yields = 0

    async def counting() -> None:
        nonlocal yields
        yields += 1

    monkeypatch.setattr("streamhil.checkpoint.memory._yield_point", counting)
    saver = InMemorySaver()
    config = thread_config("t")
    for step in range(100):
        config = await saver.aput(config, make_checkpoint({"n": step}, {"n": step + 1}), {"step": step}, {"n": step + 1})
        await saver.aput_writes(config, [("n", step)], "task")
        assert await saver.aget_tuple(config) is not None
    assert yields == 0
    assert len([t async for t in saver.alist(thread_config("t"))]) == 100
    assert 3 <= yields <= 4


async def test_long_listing_can_be_cancelled() -> None:
    saver = InMemorySaver()
    config = thread_config("t")
    for step in range(100):
        config = await saver.aput(config, make_checkpoint({"n": step}, {"n": step + 1}), {}, {"n": step + 1})
    seen = 0
    with anyio.CancelScope() as scope:
        scope.cancel()
        async for _ in saver.alist(thread_config("t")):
            seen += 1
    assert scope.cancelled_caught and seen < 100
