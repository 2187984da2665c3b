"""InMemorySaver: checkpoints in dicts, for tests, notebooks and single-process servers.

Everything is stored serialised (as :mod:`streamhil.checkpoint.serde` bytes), exactly as
:class:`~streamhil.checkpoint.sqlite.SqliteSaver` stores it: user code that mutates its state
objects later cannot change history, and a value that cannot be stored fails here the same way
it would in SQLite. A channel's value is stored once per change and shared by later checkpoints.

No call waits for anything, so ``aget_tuple``, ``aput`` and ``aput_writes`` never yield to the
event loop (a yield per call was a loop iteration per step for nothing); ``alist`` yields every
few checkpoints, so listing a long history neither hogs the loop nor ignores cancellation.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from anyio.lowlevel import checkpoint as _yield_point

from ..errors import ConfigError
from ._records import (
    EncodedWrites,
    StoredCheckpoint,
    Address,
    Loaded,
    build_tuple,
    encode_changed,
    encode_metadata,
    encode_writes,
    list_addressed,
    list_scope,
    list_sort_key,
    listed_address,
    matches,
    plan_values,
    read_address,
)
from .base import BaseCheckpointSaver, Checkpoint, CheckpointTuple, PendingWrite, as_checkpoint, thread_config

__all__ = ["InMemorySaver", "MemorySaver"]

_Lane = tuple[str, str]  # (thread_id, checkpoint_ns)
_YIELD_EVERY = 32  # alist: checkpoints between yields to the event loop


class InMemorySaver(BaseCheckpointSaver):
    """Keeps every checkpoint in memory; safe to share between event loops and threads."""

    saves_instantly = True  # no I/O: the executor saves inline instead of through a background task

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checkpoints: dict[_Lane, dict[str, StoredCheckpoint]] = {}
        self._latest: dict[_Lane, str] = {}
        self._blobs: dict[tuple[str, str, str, str], bytes] = {}  # lane + (channel, origin id)
        self._writes: dict[tuple[str, str, str], EncodedWrites] = {}  # lane + checkpoint id

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        loaded = self._load(read_address(config))
        return None if loaded is None else build_tuple(*loaded)

    def _load(self, address: Address) -> Loaded | None:
        """The addressed checkpoint (the lane's latest without an id) as stored, or None."""
        lane = (address.thread_id, address.checkpoint_ns)
        with self._lock:
            checkpoint_id = address.checkpoint_id or self._latest.get(lane)
            stored = self._checkpoints.get(lane, {}).get(checkpoint_id or "")
            if stored is None:
                return None
            return (stored, *self._parts(stored))

    async def _aload(self, address: Address) -> Loaded | None:
        return self._load(address)

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if (address := listed_address(config)) is not None:  # that checkpoint alone, as LangGraph's
            async for loaded in list_addressed(address, self._aload, filter, before, limit):
                yield build_tuple(*loaded)
            return
        scope, start = list_scope(config, before)
        with self._lock:
            lanes = [
                lane
                for lane in self._checkpoints
                if (scope.thread_id is None or lane[0] == scope.thread_id)
                and (scope.checkpoint_ns is None or lane[1] == scope.checkpoint_ns)
            ]
            found = [
                stored
                for lane in lanes
                for stored in self._checkpoints[lane].values()
                if scope.admits(stored) and (start is None or list_sort_key(stored) < start)
            ]
        found.sort(key=list_sort_key, reverse=True)
        given = 0
        for position, stored in enumerate(found):
            if limit is not None and given >= limit:
                return
            if position % _YIELD_EVERY == _YIELD_EVERY - 1:
                await _yield_point()
            if not matches(stored, filter):
                continue
            with self._lock:
                lane = (stored.thread_id, stored.checkpoint_ns)
                if self._checkpoints.get(lane, {}).get(stored.checkpoint_id) is not stored:
                    continue  # deleted while we were iterating
                parts = self._parts(stored)
            given += 1
            yield build_tuple(stored, *parts)

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        checkpoint = as_checkpoint(checkpoint)
        address = read_address(config)
        lane = (address.thread_id, address.checkpoint_ns)
        encoded_metadata = encode_metadata(metadata)
        changed = encode_changed(checkpoint, new_versions)
        grouped = encode_writes(writes)
        if grouped and address.checkpoint_id is None:
            raise ConfigError("aput got writes but the config names no parent checkpoint_id")
        with self._lock:
            parent_id = address.checkpoint_id
            parent = self._checkpoints.get(lane, {}).get(parent_id) if parent_id else None
            values_from, blobs = plan_values(checkpoint, changed, parent)
            # Everything is serialised: from here on nothing can fail.
            for channel, data in blobs.items():
                self._blobs[(*lane, channel, checkpoint.id)] = data
            self._checkpoints.setdefault(lane, {})[checkpoint.id] = StoredCheckpoint(
                thread_id=address.thread_id,
                checkpoint_ns=address.checkpoint_ns,
                checkpoint_id=checkpoint.id,
                parent_id=parent_id,
                ts=checkpoint.ts,
                v=checkpoint.v,
                metadata=encoded_metadata,
                versions=dict(checkpoint.channel_versions),
                values_from=values_from,
            )
            if checkpoint.id > self._latest.get(lane, ""):
                self._latest[lane] = checkpoint.id
            if parent_id is not None:
                self._replace_writes((*lane, parent_id), grouped)
        return thread_config(address.thread_id, address.checkpoint_ns, checkpoint.id)

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
    ) -> None:
        address = read_address(config, need_id=True)
        grouped = encode_writes((task_id, channel, value) for channel, value in writes)
        with self._lock:
            key = (address.thread_id, address.checkpoint_ns, address.checkpoint_id or "")
            self._replace_writes(key, {task_id: grouped.get(task_id, [])})

    async def adelete_thread(self, thread_id: str) -> None:
        await _yield_point()
        thread_id = str(thread_id)
        with self._lock:
            for lane in [k for k in self._checkpoints if k[0] == thread_id]:
                del self._checkpoints[lane]
                self._latest.pop(lane, None)
            for blob in [k for k in self._blobs if k[0] == thread_id]:
                del self._blobs[blob]
            for writes in [k for k in self._writes if k[0] == thread_id]:
                del self._writes[writes]

    async def alist_threads(self) -> list[str]:
        """Every thread id with a checkpoint, most recently checkpointed first."""
        await _yield_point()
        with self._lock:
            newest: dict[str, str] = {}
            for (thread_id, _ns), checkpoint_id in self._latest.items():
                if checkpoint_id > newest.get(thread_id, ""):
                    newest[thread_id] = checkpoint_id
        return sorted(newest, key=lambda t: (newest[t], t), reverse=True)

    def _parts(self, stored: StoredCheckpoint) -> tuple[dict[str, bytes], list[tuple[str, str, bytes]]]:
        """The blobs and pending writes of ``stored``; call with the lock held."""
        lane = (stored.thread_id, stored.checkpoint_ns)
        blobs = {
            channel: self._blobs[(*lane, channel, origin)]
            for channel, origin in stored.values_from.items()
        }
        by_task = self._writes.get((*lane, stored.checkpoint_id), {})
        writes = [(task_id, ch, data) for task_id, ws in by_task.items() for ch, data in ws]
        return blobs, writes

    def _replace_writes(self, key: tuple[str, str, str], grouped: EncodedWrites) -> None:
        """Each task's writes replace its earlier ones, keeping the task's first position."""
        by_task = self._writes.setdefault(key, {})
        for task_id, task_writes in grouped.items():
            if task_writes:
                by_task[task_id] = task_writes
            else:
                by_task.pop(task_id, None)


MemorySaver = InMemorySaver
"""LangGraph's older name for :class:`InMemorySaver`."""
