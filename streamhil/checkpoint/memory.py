"""InMemorySaver: checkpoints in a dict, for tests, notebooks and single-process servers.

(Temporary minimal version; the checkpoint work replaces it with the serialising one.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .base import BaseCheckpointSaver, Checkpoint, CheckpointTuple, PendingWrite, thread_config

__all__ = ["InMemorySaver", "MemorySaver"]


class InMemorySaver(BaseCheckpointSaver):
    def __init__(self) -> None:
        self._checkpoints: dict[tuple[str, str], dict[str, tuple[Checkpoint, dict[str, Any], str | None]]] = {}
        self._writes: dict[tuple[str, str, str], dict[str, list[tuple[str, Any]]]] = {}

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        conf = config["configurable"]
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        saved = self._checkpoints.get((thread_id, ns))
        if not saved:
            return None
        checkpoint_id = conf.get("checkpoint_id") or max(saved)
        if checkpoint_id not in saved:
            return None
        return self._tuple(thread_id, ns, checkpoint_id, saved[checkpoint_id])

    def _tuple(self, thread_id: str, ns: str, checkpoint_id: str, saved: tuple[Checkpoint, dict[str, Any], str | None]) -> CheckpointTuple:
        checkpoint, metadata, parent_id = saved
        writes = self._writes.get((thread_id, ns, checkpoint_id), {})
        return CheckpointTuple(
            config=thread_config(thread_id, ns, checkpoint_id),
            checkpoint=Checkpoint(checkpoint.id, checkpoint.ts, dict(checkpoint.channel_values), dict(checkpoint.channel_versions)),
            metadata=dict(metadata),
            parent_config=thread_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=[(task_id, ch, v) for task_id, ws in writes.items() for ch, v in ws],
        )

    async def alist(self, config, *, filter=None, before=None, limit=None) -> AsyncIterator[CheckpointTuple]:  # type: ignore[override]
        keys = [k for k in self._checkpoints if config is None or (k[0] == str(config["configurable"]["thread_id"]) and k[1] == config["configurable"].get("checkpoint_ns", ""))]
        out = []
        for thread_id, ns in keys:
            for checkpoint_id, saved in self._checkpoints[(thread_id, ns)].items():
                if before and checkpoint_id >= before["configurable"]["checkpoint_id"]:
                    continue
                if filter and any(saved[1].get(k) != v for k, v in filter.items()):
                    continue
                out.append((checkpoint_id, thread_id, ns, saved))
        out.sort(key=lambda item: item[0], reverse=True)
        for n, (checkpoint_id, thread_id, ns, saved) in enumerate(out):
            if limit is not None and n >= limit:
                break
            yield self._tuple(thread_id, ns, checkpoint_id, saved)

    async def aput(self, config, checkpoint, metadata, new_versions, *, writes: Sequence[PendingWrite] = ()) -> dict[str, Any]:  # type: ignore[override]
        conf = config["configurable"]
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        parent_id = conf.get("checkpoint_id")
        if parent_id and writes:
            per_task: dict[str, list[tuple[str, Any]]] = {}
            for task_id, ch, v in writes:
                per_task.setdefault(task_id, []).append((ch, v))
            self._writes.setdefault((thread_id, ns, parent_id), {}).update(per_task)
        self._checkpoints.setdefault((thread_id, ns), {})[checkpoint.id] = (
            Checkpoint(checkpoint.id, checkpoint.ts, dict(checkpoint.channel_values), dict(checkpoint.channel_versions)),
            dict(metadata),
            parent_id,
        )
        return thread_config(thread_id, ns, checkpoint.id)

    async def aput_writes(self, config, writes, task_id) -> None:  # type: ignore[override]
        conf = config["configurable"]
        key = (str(conf["thread_id"]), conf.get("checkpoint_ns", ""), conf["checkpoint_id"])
        self._writes.setdefault(key, {})[task_id] = list(writes)

    async def adelete_thread(self, thread_id: str) -> None:
        for key in [k for k in self._checkpoints if k[0] == thread_id]:
            del self._checkpoints[key]
        for key in [k for k in self._writes if k[0] == thread_id]:
            del self._writes[key]


MemorySaver = InMemorySaver
