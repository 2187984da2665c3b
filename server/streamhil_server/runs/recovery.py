"""Starting up (or taking a thread over from a process that died): every unfinished run found in
storage is run again (queued) or closed and continued from its last checkpoint (running)."""

from __future__ import annotations

from dataclasses import replace

import anyio
from anyio.abc import TaskGroup, TaskStatus

from streamhil.protocol import EventKind
from ..storage.records import RunRecord, now_iso
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
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if not self.storage.shared:  # a shared storage's threads are taken over one by one
                    await self._recover()
                await self._start_background(tg)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                await self._stop_background()

    async def _start_background(self, tg: TaskGroup) -> None:
        """Tasks beside the workers (none here; see :mod:`.shared`)."""

    async def _stop_background(self) -> None:
        """After the workers stopped (see :mod:`.shared`)."""

    async def _recover(self) -> None:
        by_thread: dict[str, list[RunRecord]] = {}
        for run in await self.storage.load_runs():
            by_thread.setdefault(run.thread_id, []).append(run)
        for thread_id, runs in by_thread.items():
            await self._recover_thread(thread_id, runs)

    async def _recover_thread(self, thread_id: str, runs: list[RunRecord]) -> ThreadRuntime | None:
        """Queue the thread's unfinished ``runs`` (oldest first) and start its worker."""
        thread = await self._load(thread_id)
        for run in runs:
            request = RunRequest.from_params(run.run_id, run.thread_id, run.params)
            if thread is None:  # its thread is gone: nothing to run, nowhere to tell
                await self.storage.save_run(replace(run, status="error", ended_at=now_iso()))
                continue
            request.origin = request.origin or thread.record.owner
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
                    continuation=True,
                )
                write = self.hub.take(run.thread_id)
                write.runs += [replace(run, status="cancelled", ended_at=now_iso()), self._run_record(request, "queued")]
                await self.storage.write(write)
                self._finished += 1
            self.shares.add(request.origin)
            thread.queue.append(request)
        if thread is not None and thread.queue:
            self._spawn(thread)
        return thread
