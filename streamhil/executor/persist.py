"""CheckpointWriter: hands checkpoints to the saver according to the run's durability mode.

- ``sync``: every save completes before the run goes on.
- ``async``: saves go to one background task, strictly in order, overlapping the next step;
  the run waits for all of them before it returns (even when cancelled).
- ``exit``: nothing is saved until the run ends; then only its last checkpoint and the
  writes attached to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..checkpoint.base import BaseCheckpointSaver, Checkpoint, PendingWrite
from ..types import Durability

__all__ = ["CheckpointWriter"]

_Op = tuple[str, tuple[Any, ...]]


class CheckpointWriter:
    """Saves a run's checkpoints and pending writes; ``async with`` it around the run."""

    def __init__(self, saver: BaseCheckpointSaver | None, durability: Durability = "async") -> None:
        if durability not in ("sync", "async", "exit"):
            raise ValueError(f"durability must be 'sync', 'async' or 'exit', got {durability!r}.")
        self.saver = saver
        self.durability = durability if saver is not None else "sync"
        if self.durability == "async" and getattr(saver, "saves_instantly", False):
            self.durability = "sync"  # nothing to overlap: a background task would only add hops
        elif self.durability == "async" and getattr(saver, "inline_saves", False):
            self.durability = "sync"  # the saver commits each step with what the step produced
        self._failure: BaseException | None = None
        self._buffer: list[_Op] = []
        self._send: MemoryObjectSendStream[_Op] | None = None
        self._tg: TaskGroup | None = None

    async def __aenter__(self) -> CheckpointWriter:
        if self.saver is not None and self.durability == "async":
            send, receive = anyio.create_memory_object_stream[_Op](math.inf)
            self._send = send
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
            self._tg.start_soon(self._drain, receive)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._tg is not None and self._send is not None:
            self._send.close()  # the shielded drain finishes what is queued, then ends
            await self._tg.__aexit__(*exc_info)
        if self.durability == "exit" and self.saver is not None and self._buffer:
            with anyio.CancelScope(shield=True):
                await self._flush_exit()
        if exc_info[0] is None:
            self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    async def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, int],
        writes: Sequence[PendingWrite] = (),
    ) -> None:
        if self.saver is None:
            return
        await self._submit(("put", (config, checkpoint, metadata, new_versions, writes)))

    async def put_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> None:
        if self.saver is None:
            return
        await self._submit(("writes", (config, writes, task_id)))

    async def _submit(self, op: _Op) -> None:
        self.raise_if_failed()
        if self.durability == "sync":
            await self._apply(op)
        elif self.durability == "async":
            assert self._send is not None
            self._send.send_nowait(op)
        else:
            self._buffer.append(op)

    async def _apply(self, op: _Op) -> None:
        assert self.saver is not None
        kind, args = op
        if kind == "put":
            config, checkpoint, metadata, new_versions, writes = args
            await self.saver.aput(config, checkpoint, metadata, new_versions, writes=writes)
        else:
            await self.saver.aput_writes(*args)

    async def _drain(self, receive: MemoryObjectReceiveStream[_Op]) -> None:
        # Shielded: a cancelled run still saves what it already handed over.
        with anyio.CancelScope(shield=True), receive:
            async for op in receive:
                if self._failure is not None:
                    continue  # a save failed: later ones would build on it
                try:
                    await self._apply(op)
                except Exception as exc:  # surfaced to the run by raise_if_failed()
                    self._failure = exc

    async def _flush_exit(self) -> None:
        """Save the last checkpoint (with every channel changed since the saved one) and its writes."""
        puts = [args for kind, args in self._buffer if kind == "put"]
        last_id: str | None = None
        if puts:
            config, checkpoint, metadata, _, _ = puts[-1]
            versions: dict[str, int] = {}
            for args in puts:
                versions.update(args[3])
            await self.saver.aput(config, checkpoint, metadata, versions)  # type: ignore[union-attr]
            last_id = checkpoint.id
        for kind, args in self._buffer:
            if kind == "writes":
                config, writes, task_id = args
                if last_id is None or config["configurable"].get("checkpoint_id") == last_id:
                    await self.saver.aput_writes(config, writes, task_id)  # type: ignore[union-attr]
        self._buffer.clear()
