"""Starting up (or taking a thread over from a process that died): every unfinished run found in
storage is run again (queued) or closed and continued from its last checkpoint (running)."""

from __future__ import annotations

from dataclasses import replace

import anyio
from anyio.abc import TaskGroup, TaskStatus

from streamhil.protocol import EventKind
from ..storage.records import RunRecord, now_iso
from ..task_pool import TaskPool
from ..threads import RunRequest, ThreadRuntime
from .core import _new_id
from .execution import RunExecution

_IDLE_RUN_TASKS = 256
"""Tasks kept waiting for the next run (a run's task would otherwise start and end per run)."""

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
                self._workers = TaskPool(tg, max_idle=_IDLE_RUN_TASKS)
                if not self.storage.shared:  # a shared storage's threads are taken over one by one
                    await self._recover()
                await self._start_background(tg)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tg = None
            if self._workers is not None:
                self._workers.close()
                self._workers = None
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
                request = await self._continue(run, request)
            self.shares.add(request.origin)
            thread.queue.append(request)
        if thread is not None and thread.queue:
            self._spawn(thread)
        return thread

    async def _continue(self, run: RunRecord, cut: RunRequest) -> RunRequest:
        """The process died (or stopped) during ``run``: close it, and continue the thread from
        its last checkpoint in a new run, in one write. The cut run's ``run_cancelled`` names the
        continuation (``continued_by``) and the continuation's ``run_started`` names the cut run
        and the first run of the chain (``continues``, ``retry_of``), so a client that knows
        only the first id can follow the run to its end (the LangGraph API does). The
        continuation keeps the cut run's place in the queue (its ``created_at``): runs queued
        behind it still run after it, after any number of restarts."""
        continuation = RunRequest(
            run_id=_new_id("r"),
            thread_id=run.thread_id,
            kind="resume",
            stream_modes=cut.stream_modes,
            subgraphs=cut.subgraphs,
            config=cut.config,
            metadata=cut.metadata,
            origin=cut.origin,
            continuation=True,
            continues=run.run_id,
            retry_of=cut.retry_of or run.run_id,
        )
        self.hub.publish(
            run.thread_id, EventKind.RUN_CANCELLED, run.run_id, {"reason": "shutdown", "continued_by": continuation.run_id}
        )
        write = self.hub.take(run.thread_id)
        write.runs += [
            replace(run, status="cancelled", ended_at=now_iso()),
            replace(self._run_record(continuation, "queued"), created_at=run.created_at),
        ]
        await self.storage.write(write)
        self._finished += 1
        return continuation
