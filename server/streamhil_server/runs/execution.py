"""Running a thread's queue: one worker per thread, one run at a time, each step committed with
its events, and exactly one terminal event per run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import anyio

from streamhil.constants import INTERRUPT
from streamhil.executor.loop import RunOutcome
from streamhil.executor.node_events import EVENTS, graph_event
from streamhil.protocol import ErrorCode, EventKind, ThreadStatus
from streamhil.types import Interrupt

from ..encoding import interrupt_wire, jsonable, stream_payload
from ..errors import CommandError
from ..registry import GraphEntry
from ..storage.base import LeaseLostError, StorageClosedError
from ..storage.health import unavailable_cause
from ..storage.records import ThreadRecord, Write, now_iso
from ..threads import ActiveRun, RunRequest, ThreadRuntime
from .answers import RunAnswers
from .core import _TERMINAL_STATUS, logger
from .run_end import FIRST_PAUSE, LAST_PAUSE, StagedEnd, patiently

__all__ = ["RunExecution"]

_END_WRITE_ATTEMPTS = 4
"""Tries to store a run's end when the write fails for another reason than the storage being
unavailable (0.05, 0.1, 0.2 s apart); while it is unavailable, the end waits for it."""


def _only_interrupts(payload: Any, ids: frozenset[str]) -> bool:
    """Whether ``payload`` is an ``updates`` part announcing only interrupts among ``ids``."""
    if not isinstance(payload, dict) or set(payload) != {INTERRUPT} or not payload[INTERRUPT]:
        return False  # (an empty one marks a static breakpoint: never announced before)
    return all(getattr(i, "id", None) in ids for i in payload[INTERRUPT])


class RunExecution(RunAnswers):
    """Workers and runs: a thread's queue, one run at a time."""

    def _spawn(self, thread: ThreadRuntime) -> None:
        if thread.worker:
            return
        if self._workers is None:
            raise RuntimeError("the run manager is not running")
        thread.worker = True
        self._workers.start_soon(self._work, thread)

    async def _work(self, thread: ThreadRuntime) -> None:
        try:
            while True:
                async with thread.lock:
                    if not thread.queue:
                        return
                    request = thread.queue.popleft()
                    thread.active = ActiveRun(request)
                try:
                    health = self.storage.health
                    while not health.available:  # a run does not start while the storage is away
                        await health.wait_changed()
                    if self.fair_share:
                        async with self.shares.slot(request.origin):  # the identity's fair share
                            await self._execute(thread, request)
                    else:
                        await self._execute(thread, request)
                except LeaseLostError:
                    self._lost_run(thread, request)  # another process took the thread over: it goes on there
                    return
                except Exception as exc:  # a bug on our side ends this run, never the server
                    try:
                        await self._fail_run(thread, request, exc)
                    except LeaseLostError:
                        self._lost_run(thread, request)
                        return
                    except StorageClosedError:
                        return  # shutting down: the next start continues the run
                    except Exception:  # nor does failing to store that end (it goes with the thread's next write)
                        logger.exception("could not end run %s on thread %s", request.run_id, thread.thread_id)
                finally:
                    if thread.active is not None:
                        thread.active.over.set()
                    thread.active = None
        finally:
            thread.worker = False
            self.threads.shrink()

    def _lost_run(self, thread: ThreadRuntime, request: RunRequest) -> None:
        """The run's writes were fenced: its thread is another process's now."""
        if not request.ended:
            request.ended = True
            self.shares.remove(request.origin)
        self._lost_thread(thread)

    def _lost_thread(self, thread: ThreadRuntime) -> None:
        """This process lost the thread's lease: stop its run, forget its queue (stored: the new
        holder runs it) and what this process knew of it."""
        if self.storage.holds(thread.thread_id):
            return  # taken back meanwhile (and reloaded): the thread goes on here
        self._cancel_active(thread, "lease_lost")
        for request in thread.queue:
            self.shares.remove(request.origin)
        thread.queue.clear()
        if self.threads.get(thread.thread_id) is thread:
            self.threads.discard(thread.thread_id)
        self.hub.abandon(thread.thread_id)

    async def _execute(self, thread: ThreadRuntime, request: RunRequest) -> None:
        tid, run_id = thread.thread_id, request.run_id
        entry = self.registry.get(thread.record.graph)
        self._started += 1
        # (what a run reads or records before it starts waits while the storage is unavailable)
        discarded = await patiently(self.storage, lambda: self._discarded_by(thread, entry, request)) if entry is not None else []
        self.hub.publish(tid, EventKind.RUN_STARTED, run_id, self._started_data(thread, request, discarded))
        if entry is not None and request.cancelled:
            # its claim on the interrupts it answered is gone: list them as pending again; it
            # ran nothing, so the thread is otherwise as the run before it left it
            record = await self._settle(thread, entry.graph, error=None, patient=True)
            if not record.interrupts:
                record = replace(record, status=thread.record.status, error=thread.record.error)
            await self._finish(thread, request, EventKind.RUN_CANCELLED, {"reason": request.cancel_reason}, record)
            return
        if entry is None:
            await self._finish(thread, request, EventKind.RUN_ERROR, {"error": {"type": "GraphNotFound", "message": f"graph {thread.record.graph!r} is not served"}, "code": ErrorCode.NOT_FOUND.value}, None)
            return
        graph = entry.graph
        problem = await patiently(self.storage, lambda: self._precheck(thread, entry, request))
        if problem is not None:
            await self._finish(thread, request, EventKind.RUN_ERROR, {"error": {"type": "CommandError", "message": problem.message}, "code": problem.code.value}, None)
            return
        # stored with the run's first write (its first step, or its first events)
        self.hub.stage(tid, Write(thread_id=tid, runs=[self._run_record(request, "running")]))
        config: dict[str, Any] = dict(request.config or {})
        configurable = dict(config.get("configurable") or {})
        configurable["thread_id"] = tid
        if request.checkpoint_id is not None:
            configurable["checkpoint_id"] = request.checkpoint_id
        config["configurable"] = configurable
        config["run_id"] = run_id
        if request.metadata:
            config["metadata"] = dict(request.metadata)
        wanted = frozenset(request.stream_modes)
        subgraphs = request.subgraphs
        publish = self.hub.publish
        announced = (
            await patiently(self.storage, lambda: self._announced(graph, tid))
            if request.continuation and self.one_transaction else frozenset()
        )

        def forward(ns: tuple[str, ...], mode: str, payload: Any) -> None:
            # Parts of every namespace come; `subgraphs: false` keeps the root's (astream_events'
            # events too: their parent chain already says where they ran).
            if mode in wanted and (subgraphs or not ns or mode == EVENTS):
                if announced and mode == "updates" and _only_interrupts(payload, announced):
                    return
                publish(tid, mode, run_id, stream_payload(mode, payload), ns)

        events = EVENTS in wanted
        if events:  # the graph's own start; its nodes' events come from the run
            publish(tid, EVENTS, run_id, graph_event("on_chain_start", graph.name, run_id, config, {"input": jsonable(
                request.input if request.kind == "start" else {"resume": request.resume, "update": request.update})}))
        active = thread.active
        error: BaseException | None = None
        outcome: RunOutcome | None = None
        with anyio.CancelScope() as scope:
            if active is not None:
                active.scope = scope
                if active.cancel_requested:
                    scope.cancel()
            try:
                outcome = await graph.arun(  # on this task: each part is published as it comes
                    request.input if request.kind == "start" else None,
                    config,
                    sink=forward,
                    stream_mode=list(wanted),
                    interrupt_before=request.interrupt_before,
                    interrupt_after=request.interrupt_after,
                    context=request.context,
                )
            except Exception as exc:  # the graph failed: the run ends with run_error
                error = exc
        if scope.cancelled_caught:
            record = await self._settle(thread, graph, error=None, cancelled=True, patient=True)
            await self._finish(thread, request, EventKind.RUN_CANCELLED, {"reason": active.cancel_reason if active else "cancelled"}, record)
            return
        if error is not None:
            # A step the storage could not take ends the run with run_error, code
            # storage_unavailable, once the storage is back: the thread keeps its last stored
            # checkpoint, and start_run with input null goes on from there.
            unavailable = unavailable_cause(error)
            code = None if unavailable is None else ErrorCode.STORAGE_UNAVAILABLE.value
            record = await self._settle(thread, graph, error=f"{type(error).__name__}: {error}", patient=True)
            await self._finish(thread, request, EventKind.RUN_ERROR, {"error": {"type": type(error).__name__, "message": str(error)}, "code": code}, record)
            return
        assert outcome is not None
        if events:
            output = {k: v for k, v in outcome.values.items() if k != INTERRUPT} if isinstance(outcome.values, dict) else outcome.values
            publish(tid, EVENTS, run_id, graph_event("on_chain_end", graph.name, run_id, config, {"output": output}))
        # How the run ended is what the thread's latest checkpoint says: no read back.
        record = self._settled_record(thread, outcome.interrupts, outcome.next, error=None)
        if outcome.interrupts:
            interrupts = [interrupt_wire(i) for i in outcome.interrupts]
            self.hub.publish(tid, EventKind.INTERRUPT, run_id, {"interrupts": interrupts})
            await self._finish(thread, request, EventKind.RUN_INTERRUPTED, {"interrupt_ids": [i["id"] for i in interrupts], "next": list(outcome.next)}, record)
        elif outcome.next:
            await self._finish(thread, request, EventKind.RUN_INTERRUPTED, {"interrupt_ids": [], "next": list(outcome.next)}, record)
        else:
            await self._finish(thread, request, EventKind.RUN_DONE, {"checkpoint_id": outcome.checkpoint_id}, record)

    def hold_for_run_end(self, thread_id: str, write: Write) -> bool:
        """Stage ``write`` (an interrupt's writes after which the run saves nothing more) to
        commit with the end of the run now active on the thread; False if it must be stored now
        (no run of this process is active there)."""
        thread = self.threads.get(thread_id)
        if thread is None or thread.active is None:
            return False
        return self.hub.stage_for_next(thread_id, write)

    async def _announced(self, graph: Any, thread_id: str) -> frozenset[str]:
        """Interrupts pending when a continuation starts. Their ``updates`` part is in the log
        already: a part is published before the writes that save the interrupt, and with the
        server's own checkpointer they commit together. The graph shows them again as waiting;
        the continuation does not repeat it. (With a checkpointer of the graph's own, the two
        commit apart, and a repeat is kept rather than risk a loss.) An interrupt left waiting
        by an older run that did not stream ``updates`` is not re-announced in this run's
        ``updates`` either; its ``interrupt`` event lists it as always."""
        snapshot = await graph.aget_state(self._config(thread_id))
        return frozenset(i.id for i in snapshot.interrupts)

    async def _fail_run(self, thread: ThreadRuntime, request: RunRequest, exc: Exception) -> None:
        """End a run whose execution raised unexpectedly with ``run_error``, once: code
        ``storage_unavailable`` if the storage was (its end is stored once the storage is back),
        else ``internal_error``."""
        unavailable = unavailable_cause(exc)
        if unavailable is None:
            logger.exception("run %s on thread %s failed unexpectedly", request.run_id, thread.thread_id)
            code = ErrorCode.INTERNAL_ERROR
        else:
            logger.warning("run %s on thread %s failed: %s", request.run_id, thread.thread_id, unavailable)
            code, exc = ErrorCode.STORAGE_UNAVAILABLE, unavailable
        if thread.active is None or thread.active.request is not request or request.ended:
            return  # its terminal event is out already (its end staged, stored by the next write)
        error = {"type": type(exc).__name__, "message": str(exc)}
        message = f"{error['type']}: {error['message']}"
        entry = self.registry.get(thread.record.graph)
        try:
            if entry is None:
                raise LookupError(thread.record.graph)
            record = await self._settle(thread, entry.graph, error=message, patient=True)
        except Exception:
            logger.exception("could not read thread %s after the failure", thread.thread_id)
            record = replace(thread.record, status="error", error=message, updated_at=now_iso())
        await self._finish(thread, request, EventKind.RUN_ERROR, {"error": error, "code": code.value}, record)

    async def _precheck(self, thread: ThreadRuntime, entry: GraphEntry, request: RunRequest) -> CommandError | None:
        """Checks a queued run could only make when its turn came."""
        if not request.check_pending and request.recorded:
            return None  # nothing to check (an answer recorded when it was accepted)
        async with thread.lock:
            if request.check_pending and thread.record.interrupts and not await self._forks(thread, request):
                return self._interrupt_pending(thread)
            if not request.recorded:
                try:
                    await self._record(thread, entry, request)
                except CommandError as exc:
                    return exc
        return None

    async def _forks(self, thread: ThreadRuntime, request: RunRequest) -> bool:
        """Whether ``request`` starts from an older checkpoint than the thread's latest (time
        travel: a fork, LangGraph's ``checkpoint_id``), which may start while interrupts are
        pending; naming the latest checkpoint is the same as naming none."""
        if request.kind != "start" or request.checkpoint_id is None:
            return False
        entry = self.registry.get(thread.record.graph)
        if entry is None:
            return False
        head = await entry.graph.aget_state(self._config(thread.thread_id))
        return (head.config or {}).get("configurable", {}).get("checkpoint_id") != request.checkpoint_id

    async def _discarded_by(self, thread: ThreadRuntime, entry: GraphEntry, request: RunRequest) -> list[str]:
        """The pending interrupts a fork leaves behind (its ``run_started`` lists them): all of
        them, unless it replays a finished checkpoint with no input (that runs nothing)."""
        if request.cancelled or not thread.record.interrupts or not await self._forks(thread, request):
            return []
        if request.input is None:
            target = await entry.graph.aget_state(self._config(thread.thread_id, request.checkpoint_id))
            if not target.next:
                return []
        return thread.pending_ids

    async def _settle(
        self, thread: ThreadRuntime, graph: Any, *, error: str | None, cancelled: bool = False, patient: bool = False
    ) -> ThreadRecord:
        """The thread's record after a run (or an update): its status and pending interrupts,
        read from its latest checkpoint (the head cache holds it). Not stored here. ``patient``:
        read it once the storage is back if it is unavailable (a run's end waits for it anyway)."""
        config = self._config(thread.thread_id)
        if patient:
            snapshot = await patiently(self.storage, lambda: graph.aget_state(config))
        else:
            snapshot = await graph.aget_state(config)
        return self._settled_record(thread, snapshot.interrupts, snapshot.next, error=error, cancelled=cancelled)

    def _settled_record(
        self, thread: ThreadRuntime, pending: Sequence[Interrupt], next: Sequence[str], *, error: str | None,
        cancelled: bool = False,
    ) -> ThreadRecord:
        """``interrupted`` when interrupts are pending, or the run paused at a static breakpoint
        (nodes left to run and not ``cancelled``); a run cancelled midway leaves the thread
        ``idle`` (``start_run`` with input null goes on from where it stopped)."""
        claimed = self._claimed(thread)  # answered by a queued resume: not listed as pending
        interrupts = [jsonable(interrupt_wire(i)) for i in pending if i.id not in claimed]
        status: ThreadStatus
        if error is not None:
            status = "error"
        elif pending or (next and not cancelled):
            status = "interrupted"
        else:
            status = "idle"
        return thread.record.settled(status, error, interrupts, now_iso())

    async def _finish(
        self, thread: ThreadRuntime, request: RunRequest, event: EventKind, data: dict[str, Any], record: ThreadRecord | None
    ) -> None:
        """Publish the run's terminal event and store it with the run's end and the thread's
        record, in one write; while the storage is unavailable, wait for it (the thread stays
        busy, nothing is lost, and the event is delivered once stored)."""
        # Once the end is stored, and before its terminal event is delivered, the thread stops
        # being busy and takes its new record: a client that answers as soon as it sees
        # run_interrupted must not get thread_busy, nor a list_threads that shows the old state.
        tid = thread.thread_id
        self.hub.publish(tid, event, request.run_id, data)
        self._finished += 1
        if not request.ended:
            request.ended = True
            self.shares.remove(request.origin)

        def ended() -> None:
            active = thread.active
            if active is not None and active.request is request:
                thread.active = None
            if record is not None:
                self._adopt(thread, record)
            if active is not None and active.request is request:
                active.over.set()

        end = StagedEnd(self.hub, tid, self._run_record(request, _TERMINAL_STATUS[event], ended=True), record, ended)
        end.stage()  # whichever write stores the terminal event stores the end with it
        failures, pause, waited = 0, FIRST_PAUSE, False
        while not end.stored:
            if end.lost is not None:
                raise end.lost
            # What failed goes back to the journal (events, an interrupt's held writes, the end):
            # each attempt takes it again, so no event is told twice or lost.
            write = self.hub.take(tid, checkpoint=False)
            if write.empty:  # the hub's own write carries the end right now: its outcome decides
                await end.wait()
                continue
            try:
                with anyio.CancelScope(shield=True):
                    await self.storage.write(write)
            except (LeaseLostError, StorageClosedError):
                raise
            except Exception as exc:
                if unavailable_cause(exc) is not None:
                    if not waited:
                        logger.warning("the end of run %s waits for the storage: %s", request.run_id, exc)
                    waited = True
                else:
                    failures += 1
                    if failures == _END_WRITE_ATTEMPTS:
                        raise  # (still staged: the thread's next write stores it)
                    logger.warning("storing the end of run %s failed; retrying", request.run_id, exc_info=True)
                await self.storage.health.pause(pause)  # woken early when the storage is back
                pause = min(LAST_PAUSE, pause * 2)
        if waited:
            logger.warning("stored the end of run %s on thread %s", request.run_id, tid)
