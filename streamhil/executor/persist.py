"""CheckpointWriter: hands checkpoints to the saver according to the run's durability mode.

- ``sync``: every save completes before the run goes on.
- ``async``: saves go to one background task, strictly in order, overlapping the next step;
  the run waits for all of them before it returns (even when cancelled). Saves that queued up
  while earlier ones were being written are handed to the saver together
  (``BaseCheckpointSaver.asave_many``), so a saver on a server can send them in one round trip.
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

from ..checkpoint.base import BaseCheckpointSaver, Checkpoint, PendingWrite, PutCall, WritesCall
from ..types import Durability

__all__ = ["CheckpointWriter"]

_Op = PutCall | WritesCall


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
        await self._submit(PutCall(config, checkpoint, metadata, new_versions, writes))

    async def put_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> None:
        if self.saver is None:
            return
        await self._submit(WritesCall(config, writes, task_id))

    def hold_last_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str) -> bool:
        """Hand the saver pending writes after which the run saves nothing more, for it to commit
        with its host's next write of the thread (a server's write of the run's end) instead of
        in a transaction of their own. False when the saver cannot (no ``hold_last_writes``) or
        saves are not inline: save them with :meth:`put_writes` then."""
        hold = getattr(self.saver, "hold_last_writes", None)
        if hold is None or self.durability != "sync":
            return False
        self.raise_if_failed()
        return bool(hold(config, writes, task_id))

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
        if isinstance(op, PutCall):
            await self.saver.aput(op.config, op.checkpoint, op.metadata, op.new_versions, writes=op.writes)
        else:
            await self.saver.aput_writes(op.config, op.writes, op.task_id)

    async def _drain(self, receive: MemoryObjectReceiveStream[_Op]) -> None:
        # Shielded: a cancelled run still saves what it already handed over. Saves that queued
        # up while the previous ones were being written go to the saver together.
        assert self.saver is not None
        with anyio.CancelScope(shield=True), receive:
            async for op in receive:
                waiting = [op]
                while True:
                    try:
                        waiting.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                if self._failure is not None:
                    continue  # a save failed: later ones would build on it
                try:
                    if len(waiting) == 1:
                        await self._apply(op)
                    else:
                        await self.saver.asave_many(waiting)
                except Exception as exc:  # surfaced to the run by raise_if_failed()
                    self._failure = exc

    async def _flush_exit(self) -> None:
        """Save the last checkpoint (with every channel changed since the saved one) and its writes."""
        puts = [op for op in self._buffer if isinstance(op, PutCall)]
        last_id: str | None = None
        if puts:
            last = puts[-1]
            versions: dict[str, int] = {}
            for put in puts:
                versions.update(put.new_versions)
            # Its parent is the last checkpoint saved before the run (none of the run's others is).
            await self.saver.aput(puts[0].config, last.checkpoint, last.metadata, versions)  # type: ignore[union-attr]
            last_id = last.checkpoint.id
        for op in self._buffer:
            if isinstance(op, WritesCall):
                if last_id is None or op.config["configurable"].get("checkpoint_id") == last_id:
                    await self.saver.aput_writes(op.config, op.writes, op.task_id)  # type: ignore[union-attr]
        self._buffer.clear()
