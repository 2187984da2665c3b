"""CheckpointWriter on its own: what reaches the saver, when, and in which order, for each
durability mode (executor/persist.py). A recording saver stands in for storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import pytest

from streamhil.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointTuple,
    PendingWrite,
    PutCall,
    WritesCall,
    thread_config,
)
from streamhil.executor.persist import CheckpointWriter


class RecordingSaver(BaseCheckpointSaver):
    """Records every save as ``("put", checkpoint id, new_versions)`` / ``("writes", task id,
    checkpoint id)``, and batches as ``("batch", n)``. ``gate``, when set, holds each save until
    it is set; ``fail_on`` makes the save of that checkpoint id raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()
        self.fail_on: str | None = None
        self.failed = anyio.Event()

    async def _wait(self) -> None:
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        return None

    async def alist(self, config: Mapping[str, Any] | None, **kwargs: Any) -> AsyncIterator[CheckpointTuple]:
        for _ in ():
            yield _

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, int],
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        await self._wait()
        if checkpoint.id == self.fail_on:
            self.failed.set()  # the writer records the error before it next yields
            raise OSError(f"disk full at {checkpoint.id}")
        self.calls.append(("put", checkpoint.id, dict(new_versions), [w[0] for w in writes]))
        return thread_config("t", "", checkpoint.id)

    async def aput_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> None:
        await self._wait()
        self.calls.append(("writes", task_id, config["configurable"].get("checkpoint_id")))

    async def asave_many(self, calls: Sequence[PutCall | WritesCall]) -> None:
        self.calls.append(("batch", len(calls)))
        await super().asave_many(calls)

    async def adelete_thread(self, thread_id: str) -> None:
        return None


def cp(cid: str, **versions: int) -> Checkpoint:
    return Checkpoint(cid, "2026-01-01T00:00:00+00:00", {}, dict(versions))


def at(cid: str | None) -> dict[str, Any]:
    return thread_config("t", "", cid)


def saved(saver: RecordingSaver) -> list[tuple[Any, ...]]:
    return [c for c in saver.calls if c[0] != "batch"]


@pytest.mark.anyio
async def test_sync_saves_each_checkpoint_before_the_call_returns() -> None:
    saver = RecordingSaver()
    async with CheckpointWriter(saver, "sync") as writer:
        await writer.put(at(None), cp("c1", a=1), {"step": 0}, {"a": 1})
        assert saver.calls == [("put", "c1", {"a": 1}, [])]
        await writer.put_writes(at("c1"), [("a", 2)], "task-1")
        assert saver.calls[-1] == ("writes", "task-1", "c1")


@pytest.mark.anyio
async def test_async_returns_before_the_save_and_keeps_the_order() -> None:
    saver = RecordingSaver()
    saver.gate = anyio.Event()
    with anyio.fail_after(5):
        async with CheckpointWriter(saver, "async") as writer:
            await writer.put(at(None), cp("c1", a=1), {"step": 0}, {"a": 1})
            await saver.started.wait()  # the first save is being written...
            await writer.put_writes(at("c1"), [("a", 2)], "task-1")
            await writer.put(at("c1"), cp("c2", a=2), {"step": 1}, {"a": 2}, [("task-1", "a", 2)])
            assert saver.calls == []  # ...and nothing has reached storage yet
            saver.gate.set()
        # Leaving the block waits for every queued save.
    assert saved(saver) == [
        ("put", "c1", {"a": 1}, []),
        ("writes", "task-1", "c1"),
        ("put", "c2", {"a": 2}, ["task-1"]),
    ]
    # The two queued while the first was written went to the saver as one batch.
    assert ("batch", 2) in saver.calls


@pytest.mark.anyio
async def test_async_failure_surfaces_on_the_next_call_and_stops_later_saves() -> None:
    saver = RecordingSaver()
    saver.fail_on = "c1"
    saver.gate = anyio.Event()
    failure: BaseException | None = None
    with anyio.fail_after(5):
        async with CheckpointWriter(saver, "async") as writer:
            await writer.put(at(None), cp("c1"), {}, {})
            await writer.put(at("c1"), cp("c2"), {}, {})  # queued behind the failing save
            saver.gate.set()
            await saver.failed.wait()
            try:
                await writer.put(at("c2"), cp("c3"), {}, {})  # the next call raises it
            except OSError as exc:  # caught inside the block, as execute() does
                failure = exc
    assert str(failure) == "disk full at c1"
    assert saved(saver) == []  # c2 and c3 build on c1: not saved either


@pytest.mark.anyio
async def test_async_saves_what_it_holds_when_the_run_is_cancelled() -> None:
    saver = RecordingSaver()
    saver.gate = anyio.Event()
    with anyio.fail_after(5):
        with anyio.CancelScope() as scope:
            async with CheckpointWriter(saver, "async") as writer:
                await writer.put(at(None), cp("c1"), {}, {})
                await writer.put_writes(at("c1"), [("a", 1)], "task-1")
                await saver.started.wait()
                scope.cancel()
                saver.gate.set()
                await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert saved(saver) == [("put", "c1", {}, []), ("writes", "task-1", "c1")]


@pytest.mark.anyio
async def test_exit_saves_only_the_last_checkpoint_with_every_changed_channel() -> None:
    saver = RecordingSaver()
    async with CheckpointWriter(saver, "exit") as writer:
        await writer.put(at(None), cp("c1", a=1), {"step": -1}, {"a": 1, "__tasks__": 1})
        await writer.put_writes(at("c1"), [("a", 2)], "task-1")  # on a checkpoint that is dropped
        await writer.put(at("c1"), cp("c2", a=2, b=2), {"step": 0}, {"a": 2, "b": 2})
        await writer.put_writes(at("c2"), [("__interrupt__", [])], "task-2")
        assert saver.calls == []  # nothing until the run ends
    assert saver.calls == [
        ("put", "c2", {"a": 2, "__tasks__": 1, "b": 2}, []),
        ("writes", "task-2", "c2"),
    ]


@pytest.mark.anyio
async def test_exit_still_saves_when_the_run_raises() -> None:
    saver = RecordingSaver()
    with pytest.raises(ValueError, match="node failed"):
        async with CheckpointWriter(saver, "exit") as writer:
            await writer.put(at(None), cp("c1"), {}, {})
            raise ValueError("node failed")
    assert saved(saver) == [("put", "c1", {}, [])]


@pytest.mark.anyio
async def test_without_a_saver_everything_is_a_no_op() -> None:
    writer = CheckpointWriter(None, "async")
    assert writer.durability == "sync"
    async with writer:
        await writer.put(at(None), cp("c1"), {}, {})
        await writer.put_writes(at("c1"), [("a", 1)], "task-1")


@pytest.mark.parametrize("flag", ["saves_instantly", "inline_saves"])
def test_async_becomes_sync_for_savers_with_nothing_to_overlap(flag: str) -> None:
    saver = RecordingSaver()
    setattr(saver, flag, True)
    assert CheckpointWriter(saver, "async").durability == "sync"
    assert CheckpointWriter(saver, "exit").durability == "exit"


def test_an_unknown_durability_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="durability must be 'sync', 'async' or 'exit', got 'later'"):
        CheckpointWriter(RecordingSaver(), "later")  # type: ignore[arg-type]
