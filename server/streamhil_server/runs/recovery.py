"""Starting up: every unfinished run found in storage is run again (queued) or closed and
continued from its last checkpoint (running)."""

from __future__ import annotations

from dataclasses import replace

import anyio
from anyio.abc import TaskStatus

from streamhil.protocol import EventKind
from ..storage.records import now_iso
from ..threads import RunRequest, ThreadRuntime
from .core import _new_id
from .execution import RunExecution

__all__ = ["RunRecovery"]


class RunRecovery(RunExecution):
    """Startup: the run loop, and what storage says was unfinished."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Recover unfinished runs, then run thread workers until cancelled."""
        counts = await self.storage.count_threads()
        self._thread_count, self._pending_count = counts.threads, counts.interrupts_pending
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                await self._recover()
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self._tg = None

    async def _recover(self) -> None:
        recovered: list[ThreadRuntime] = []
        for run in await self.storage.load_runs():
            thread = await self._load(run.thread_id)
            request = RunRequest.from_params(run.run_id, run.thread_id, run.params)
            if thread is not None:
                request.origin = request.origin or thread.record.owner
            if thread is None:  # its thread is gone: nothing to run, nowhere to tell
                await self.storage.save_run(replace(run, status="error", ended_at=now_iso()))
                continue
            if run.status == "running":
                # The process died (or stopped) during this run: close it, and continue the
                # thread from its last checkpoint in a new run, in one write.
                self.hub.publish(run.thread_id, EventKind.RUN_CANCELLED, run.run_id, {"reason": "shutdown"})
                request = RunRequest(
                    run_id=_new_id("r"),
                    thread_id=run.thread_id,
                    kind="resume",
                    stream_modes=request.stream_modes,
                    subgraphs=request.subgraphs,
                    config=request.config,
                    metadata=request.metadata,
                    origin=request.origin,
                )
                write = self.hub.take(run.thread_id)
                write.runs += [replace(run, status="cancelled", ended_at=now_iso()), self._run_record(request, "queued")]
                await self.storage.write(write)
                self._finished += 1
            self.shares.add(request.origin)
            thread.queue.append(request)
            recovered.append(thread)
        for thread in recovered:
            if thread.queue:
                self._spawn(thread)
