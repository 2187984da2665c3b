"""StorageSaver: the checkpointer the server gives its graphs, writing through the storage.

Each ``aput``/``aput_writes`` of a thread becomes one :meth:`Storage.write` that also carries
what the thread's journal holds: the events published since the thread's last write and the
records the run manager staged (a run's status change, an answer's run and ids). So a superstep's
checkpoint, its pending writes, its run status change and its events commit together.

Reads of a thread namespace's latest checkpoint are served from a write-through head cache
(bounded, least recently used first out): no read-back on the hot path. Older checkpoints, and
heads not in the cache, are read through the storage's reader.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streamhil.checkpoint._records import (
    Address,
    EncodedWrites,
    StoredCheckpoint,
    build_tuple,
    encode_changed,
    encode_metadata,
    encode_writes,
    list_addressed,
    list_scope,
    listed_address,
    plan_values,
    read_address,
)
from streamhil.checkpoint.base import BaseCheckpointSaver, Checkpoint, CheckpointTuple, PendingWrite, as_checkpoint, thread_config
from streamhil.errors import ConfigError

from .base import Loaded, Storage
from .records import CheckpointPut, Write, WritesPut

__all__ = ["StorageSaver", "HeadCache"]

_Lane = tuple[str, str]
TakeWrite = Callable[[str], Write]
_MAX_OFFERED = 1_000
StageWrite = Callable[[str, Write], bool]


@dataclass(slots=True)
class _Head:
    stored: StoredCheckpoint
    blobs: dict[str, bytes]
    writes: dict[str, list[tuple[str, bytes]]]
    version: int

    def loaded(self) -> Loaded:
        return self.stored, self.blobs, [(t, ch, v) for t, ws in self.writes.items() for ch, v in ws]


class HeadCache:
    """The latest checkpoint (with all its blobs and pending writes) of recently used lanes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heads: OrderedDict[_Lane, _Head] = OrderedDict()
        self._versions: dict[_Lane, int] = {}  # bumped by every write of a lane
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._heads)

    def get(self, lane: _Lane) -> _Head | None:
        head = self._heads.get(lane)
        if head is not None:
            self._heads.move_to_end(lane)
        return head

    def version(self, lane: _Lane) -> int:
        return self._versions.get(lane, 0)

    def put(self, lane: _Lane, head: _Head) -> None:
        if self.size <= 0:
            return
        self._heads[lane] = head
        self._heads.move_to_end(lane)
        while len(self._heads) > self.size:
            old, _ = self._heads.popitem(last=False)
            self._versions.pop(old, None)

    def bump(self, lane: _Lane) -> int:
        version = self._versions.get(lane, 0) + 1
        self._versions[lane] = version
        return version

    def drop_lane(self, lane: _Lane) -> None:
        self._heads.pop(lane, None)

    def drop(self, thread_id: str) -> None:
        for lane in [k for k in self._heads if k[0] == thread_id]:
            del self._heads[lane]
            self._versions.pop(lane, None)


def _no_journal(thread_id: str) -> Write:
    return Write(thread_id=thread_id)


class StorageSaver(BaseCheckpointSaver):
    """A LangGraph-style checkpointer over a :class:`~.base.Storage`.

    ``take_write(thread_id)`` returns what must be stored with the thread's next checkpoint
    write (its journal); the saver adds the checkpoint or writes to it and commits the whole.
    ``stage_write(thread_id, write)`` puts ``write`` in the journal for the thread's next write
    (False if the thread has none here): the writes of an interrupt that ends a run wait there
    for the run's end rather than take a transaction of their own.
    """

    inline_saves = True  # saves go in step order, inline: events of a step commit with its checkpoint

    def __init__(
        self,
        storage: Storage,
        *,
        take_write: TakeWrite = _no_journal,
        stage_write: StageWrite | None = None,
        head_cache_size: int = 10_000,
    ) -> None:
        self.storage = storage
        self.take_write = take_write
        self.stage_write = stage_write
        self.saves_instantly = not storage.durable
        self.heads = HeadCache(head_cache_size if storage.durable else 0)
        self._offered: dict[_Lane, tuple[int, CheckpointTuple]] = {}
        self.trusted: Callable[[str], bool] = storage.holds
        """Whether the cached head of a thread may be served: on a storage several processes
        share, only while this process holds the thread's lease (no other can write it)."""

    def __repr__(self) -> str:
        return f"StorageSaver({self.storage!r})"

    # --- reads ---------------------------------------------------------------------------------

    def offer_head(self, head: CheckpointTuple) -> None:
        """A lane's head just built and written by its reader (an answer recorded on it), for the
        next read of that head to take instead of building it again: once, and only while no
        write of the lane came in between."""
        address = read_address(head.config)
        lane = (address.thread_id, address.checkpoint_ns)
        self._offered.pop(lane, None)
        self._offered[lane] = (self.heads.version(lane), head)
        while len(self._offered) > _MAX_OFFERED:
            del self._offered[next(iter(self._offered))]

    def forget(self, thread_id: str) -> None:
        """Drop what is kept of the thread in memory (its storage may have changed)."""
        self.heads.drop(thread_id)
        for lane in [k for k in self._offered if k[0] == thread_id]:
            del self._offered[lane]

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        address = read_address(config)
        lane = (address.thread_id, address.checkpoint_ns)
        trusted = self.trusted(address.thread_id)
        if self._offered and (offered := self._offered.pop(lane, None)) is not None:
            version, built = offered
            if trusted and version == self.heads.version(lane) and address.checkpoint_id in (None, built.checkpoint.id):
                return built
        head = self.heads.get(lane) if trusted else None
        if head is not None and (address.checkpoint_id is None or address.checkpoint_id == head.stored.checkpoint_id):
            self.heads.hits += 1
            return build_tuple(*head.loaded())
        self.heads.misses += 1
        version = self.heads.version(lane)
        loaded = await self.storage.get_checkpoint(address)
        if loaded is None:
            return None
        if address.checkpoint_id is None and self.heads.version(lane) == version and self.heads.size > 0 and trusted:
            stored, blobs, writes = loaded
            by_task: dict[str, list[tuple[str, bytes]]] = {}
            for task, channel, value in writes:
                by_task.setdefault(task, []).append((channel, value))
            self.heads.put(lane, _Head(stored, dict(blobs), by_task, version))
        return build_tuple(*loaded)

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if (address := listed_address(config)) is not None:  # that checkpoint alone, as LangGraph's
            async for loaded in list_addressed(address, self.storage.get_checkpoint, filter, before, limit):
                yield build_tuple(*loaded)
            return
        scope, start = list_scope(config, before)
        bound = start[0] if start is not None else None
        async for loaded in self.storage.list_checkpoints(scope, before=bound, filter=filter, limit=limit):
            yield build_tuple(*loaded)

    # --- writes --------------------------------------------------------------------------------

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        checkpoint = as_checkpoint(checkpoint)  # (a LangGraph-style dict, as every saver takes)
        address = read_address(config)
        encoded_metadata = encode_metadata(metadata)
        changed = encode_changed(checkpoint, new_versions)
        grouped = encode_writes(writes)
        if grouped and address.checkpoint_id is None:
            raise ConfigError("aput got writes but the config names no parent checkpoint_id")
        lane = (address.thread_id, address.checkpoint_ns)
        head = self.heads.get(lane) if address.checkpoint_id is not None and self.trusted(address.thread_id) else None
        parent_stored = head.stored if head is not None and head.stored.checkpoint_id == address.checkpoint_id else None
        put = CheckpointPut(address, checkpoint, encoded_metadata, changed, grouped, parent_stored)
        write = self.take_write(address.thread_id)
        write.checkpoint = put
        write.after_commit.insert(0, lambda: self._new_head(lane, put))
        await self.storage.write(write)
        return thread_config(address.thread_id, address.checkpoint_ns, checkpoint.id)

    async def aput_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> None:
        address = read_address(config, need_id=True)
        grouped = encode_writes((task_id, channel, value) for channel, value in writes)
        grouped = {task_id: grouped.get(task_id, [])}
        write = self.take_write(address.thread_id)
        write.task_writes.append(WritesPut(address, grouped))
        write.after_commit.insert(0, lambda: self._new_writes(address, grouped))
        await self.storage.write(write)

    def hold_last_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> bool:
        """Pending writes after which the run saves nothing more (an interrupt ending it): staged
        to commit with the thread's next write, the run's end, instead of a transaction of their
        own. False (save them with :meth:`aput_writes`) without a journal to stage them in."""
        if self.stage_write is None:
            return False
        address = read_address(config, need_id=True)
        grouped = encode_writes((task_id, channel, value) for channel, value in writes)
        return self._stage_held(address, {task_id: grouped.get(task_id, [])})

    def _stage_held(self, address: Address, grouped: EncodedWrites) -> bool:
        """Stage held writes; if the write that takes them fails, the next one takes them. A new
        :class:`Write` each time: its hooks never reach back to it, so once taken it is freed at
        once rather than left as a cycle for the garbage collector."""
        if self.stage_write is None:
            return False
        held = Write(thread_id=address.thread_id, task_writes=[WritesPut(address, grouped)])
        held.after_commit.append(lambda: self._new_writes(address, grouped))
        held.after_failure.append(lambda exc: self._restage_held(address, grouped))
        return self.stage_write(address.thread_id, held)

    def _restage_held(self, address: Address, grouped: EncodedWrites) -> None:
        self._stage_held(address, grouped)

    async def adelete_thread(self, thread_id: str) -> None:
        self.forget(str(thread_id))
        await self.storage.delete_thread(str(thread_id))
        self.forget(str(thread_id))

    # --- the head cache, written through after each commit -------------------------------------

    def _new_head(self, lane: _Lane, put: CheckpointPut) -> None:
        version = self.heads.bump(lane)
        parent = self.heads.get(lane)
        cp = put.checkpoint
        if put.parent.checkpoint_id is None:
            parent = None  # a new lane: every value is in this checkpoint
        elif parent is None or parent.stored.checkpoint_id != put.parent.checkpoint_id:
            self.heads.drop_lane(lane)  # not the cached head's child (a fork): read it when needed
            return
        values_from, new_blobs = plan_values(cp, put.changed, None if parent is None else parent.stored)
        blobs = {
            ch: new_blobs[ch] if origin == cp.id else parent.blobs[ch]  # type: ignore[union-attr]
            for ch, origin in values_from.items()
        }
        stored = StoredCheckpoint(
            thread_id=lane[0], checkpoint_ns=lane[1], checkpoint_id=cp.id, parent_id=put.parent.checkpoint_id,
            ts=cp.ts, v=cp.v, metadata=put.metadata, versions=dict(cp.channel_versions), values_from=values_from,
        )
        self.heads.put(lane, _Head(stored, blobs, {}, version))

    def _new_writes(self, address: Address, grouped: EncodedWrites) -> None:
        lane = (address.thread_id, address.checkpoint_ns)
        version = self.heads.bump(lane)
        head = self.heads.get(lane)
        if head is None:
            return
        if head.stored.checkpoint_id != address.checkpoint_id:
            return  # writes of an older checkpoint: the head is unchanged
        for task_id, task_writes in grouped.items():
            if task_writes:
                head.writes[task_id] = list(task_writes)
            else:
                head.writes.pop(task_id, None)
        head.version = version
