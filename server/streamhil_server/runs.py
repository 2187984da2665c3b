"""RunManager: one active run per thread; start, resume, cancel, queue, and recovery at startup.

Every thread has a lock that serialises the decisions about it (validate, record, enqueue), and
at most one worker task, started in the manager's task group, that runs the thread's queue one
run at a time. Every acknowledged fact is one storage write (see ``docs/server.md``, "The
durable path"):

- ``start_run``: the thread's record and the run (with its input, ``queued``), before the reply;
- ``resume``: the answer's command writes, the answered ids, the run and the thread's record,
  in one transaction, before the reply (a queued answer: its run and ids; its command writes
  when its turn comes);
- a superstep: its checkpoint, its events and the run's change to ``running``;
- a run's end: its terminal event, its record and the thread's record.

A restarted server finds each run either ``queued`` (nothing of it ran: it is run again, input
and all) or ``running`` (it is closed with ``run_cancelled``, reason ``shutdown``, and the thread
goes on from its last checkpoint in a new run). Only live threads are kept in memory
(:class:`~.threads.ThreadCache`); others are loaded when a command names them.
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any

import anyio
import orjson
from anyio.abc import TaskGroup, TaskStatus
from streamhil.errors import (
    AlreadyAnsweredError,
    AmbiguousResumeError,
    CheckpointError,
    InvalidUpdateError,
    NothingPendingError,
    ResumeError,
    UnknownInterruptError,
)
from streamhil.protocol import ErrorCode, Resume, StartRun
from streamhil.types import Command

from .encoding import interrupt_wire, jsonable, state_wire, stream_payload
from .errors import CommandError, not_found
from .hub import EventHub
from .limits import RunShares
from .registry import GraphEntry, GraphRegistry
from .storage.base import Storage
from .storage.records import RunRecord, RunStatus, ThreadRecord, Write, now_iso
from .threads import Accepted, ActiveRun, RunRequest, RunStatistics, ThreadCache, ThreadRuntime

logger = logging.getLogger("streamhil_server.runs")

__all__ = ["RunManager", "OnAccepted"]


OnAccepted = Callable[["Accepted"], None]
_TERMINAL_STATUS: dict[str, RunStatus] = {
    "run_done": "done", "run_error": "error", "run_cancelled": "cancelled", "run_interrupted": "interrupted",
}


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class RunManager:
    """Owns the runs of every thread; :meth:`run` must be running in a task group."""

    def __init__(
        self, registry: GraphRegistry, storage: Storage, hub: EventHub, *, shares: RunShares | None = None,
        fair_share: bool = False, max_idle_threads: int = 1000, one_transaction: bool = True,
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.hub = hub
        self.shares = shares or RunShares(max_runs=1_000_000, max_concurrent=1_000_000)
        self.fair_share = fair_share  # hold runs to their identity's execution slots
        self.threads = ThreadCache(max_idle_threads, hub.forget)
        # True when the graphs save through the storage (StorageSaver): an answer's command
        # writes then commit with its run and ids. False with a checkpointer of the caller's.
        self.one_transaction = one_transaction
        self._tg: TaskGroup | None = None
        self._started = 0
        self._finished = 0
        self._thread_count = 0
        self._pending_count = 0

    # --- lifecycle -----------------------------------------------------------------------------

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
                self.hub.publish(run.thread_id, "run_cancelled", run.run_id, {"reason": "shutdown"})
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

    def _spawn(self, thread: ThreadRuntime) -> None:
        if thread.worker:
            return
        if self._tg is None:
            raise RuntimeError("the run manager is not running")
        thread.worker = True
        self._tg.start_soon(self._work, thread, name=f"streamhil thread {thread.thread_id}")

    # --- lookups -------------------------------------------------------------------------------

    async def _load(self, thread_id: str) -> ThreadRuntime | None:
        """The thread from memory, or loaded from the storage (None if there is no such thread)."""
        thread = self.threads.get(thread_id)
        if thread is not None:
            return thread
        record = await self.storage.load_thread(thread_id)
        if record is None:
            return None
        await self.hub.ensure(thread_id)
        thread = self.threads.get(thread_id)  # loaded meanwhile by another command?
        return thread if thread is not None else self.threads.add(ThreadRuntime(record))

    @contextlib.asynccontextmanager
    async def using(self, identity: str, thread_id: str, *, path: str | None = "thread_id") -> AsyncIterator[ThreadRuntime]:
        """The caller's thread, held in memory while the block runs; ``not_found`` if it does not
        exist or belongs to another identity (which is not revealed)."""
        thread = await self._load(thread_id)
        if thread is None or thread.record.owner != identity:
            raise not_found("thread", thread_id, path=path)
        thread.users += 1
        try:
            yield thread
        finally:
            thread.users -= 1
            self.threads.shrink()

    async def require_thread(self, identity: str, thread_id: str, *, path: str | None = "thread_id") -> ThreadRuntime:
        """The caller's thread (loaded if needed), or ``not_found``."""
        async with self.using(identity, thread_id, path=path) as thread:
            return thread

    def visible(self, identity: str, thread_id: str, *, path: str | None = "thread_id") -> ThreadRuntime:
        """The caller's thread if it is in memory (hold it with :meth:`holding` first), or
        ``not_found``."""
        thread = self.threads.get(thread_id)
        if thread is None or thread.record.owner != identity:
            raise not_found("thread", thread_id, path=path)
        return thread

    async def load_thread(self, thread_id: str) -> ThreadRuntime | None:
        """The thread, loaded into memory if it exists (None if it does not)."""
        return await self._load(thread_id)

    @contextlib.asynccontextmanager
    async def holding(self, thread_id: str) -> AsyncIterator[ThreadRuntime | None]:
        """Load the thread (if it exists) and keep it in memory while the block runs, so sync
        lookups (``threads.get``, :meth:`visible`) find it; for surfaces written that way."""
        thread = await self._load(thread_id)
        if thread is None:
            yield None
            return
        thread.users += 1
        try:
            yield thread
        finally:
            thread.users -= 1
            self.threads.shrink()

    def entry(self, thread: ThreadRuntime) -> GraphEntry:
        entry = self.registry.get(thread.record.graph)
        if entry is None:
            raise CommandError(
                ErrorCode.INVALID_ARGUMENT,
                f"thread {thread.thread_id!r} runs graph {thread.record.graph!r}, which this server no longer serves",
            )
        return entry

    @staticmethod
    def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id is not None:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    # --- start_run -----------------------------------------------------------------------------

    async def start_run(
        self, identity: str, cmd: StartRun, on_accepted: OnAccepted | None = None, *, origin: str | None = None
    ) -> Accepted:
        """Validate and accept a ``start_run``; see spec 5.2.

        ``on_accepted`` is called once the run is accepted and before it can emit any event
        (the connection replies and subscribes there). ``origin`` is whose run limits it counts
        against (default: the identity).
        """
        origin = identity if origin is None else origin
        self._check_share(origin)
        entry = self.registry.get(cmd.graph)
        if entry is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"graph {cmd.graph!r} not found; this server serves: {', '.join(self.registry.names()) or 'none'}",
                path="graph",
                details={"resource": "graph"},
            )
        for key in ("interrupt_before", "interrupt_after"):
            nodes = getattr(cmd, key)
            if nodes is not None and nodes != "*":
                for i, node in enumerate(nodes):
                    if node not in entry.graph.nodes:
                        raise CommandError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"graph {cmd.graph!r} has no node {node!r}; nodes: {', '.join(entry.graph.nodes)}",
                            path=f"{key}[{i}]",
                        )
        self._check_config(cmd.config)
        thread_id = cmd.thread_id or _new_id("t")
        thread = await self._load(thread_id) if cmd.thread_id else None
        if thread is not None:
            if thread.record.owner != identity:
                raise CommandError(
                    ErrorCode.FORBIDDEN, f"thread {thread_id!r} belongs to another identity", path="thread_id"
                )
            if thread.record.graph != cmd.graph:
                raise CommandError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"thread {thread_id!r} runs graph {thread.record.graph!r}, not {cmd.graph!r}",
                    path="graph",
                )
            thread.users += 1
        try:
            if cmd.checkpoint_id is not None:
                saver = entry.graph.saver
                saved = None if saver is None or thread is None else await saver.aget_tuple(
                    {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": cmd.checkpoint_id}}
                )
                if saved is None:
                    raise CommandError(
                        ErrorCode.NOT_FOUND,
                        f"thread {thread_id!r} has no checkpoint {cmd.checkpoint_id!r}",
                        path="checkpoint_id",
                        details={"resource": "checkpoint"},
                    )
            if thread is None:
                thread = self.threads.get(thread_id)  # created meanwhile by the same identity?
                if thread is None:
                    self.hub.create(thread_id)
                    record = ThreadRecord(thread_id=thread_id, graph=cmd.graph, owner=identity)
                    thread = self.threads.add(ThreadRuntime(record, stored=False))
                elif thread.record.owner != identity:
                    raise CommandError(ErrorCode.FORBIDDEN, f"thread {thread_id!r} belongs to another identity", path="thread_id")
                thread.users += 1
            request = RunRequest(
                run_id=_new_id("r"),
                thread_id=thread_id,
                kind="start",
                input=cmd.input,
                stream_modes=tuple(cmd.stream_modes),
                subgraphs=cmd.subgraphs,
                config=cmd.config,
                interrupt_before=cmd.interrupt_before if cmd.interrupt_before is None or cmd.interrupt_before == "*" else list(cmd.interrupt_before),
                interrupt_after=cmd.interrupt_after if cmd.interrupt_after is None or cmd.interrupt_after == "*" else list(cmd.interrupt_after),
                checkpoint_id=cmd.checkpoint_id,
                metadata=cmd.metadata,
                origin=origin,
            )
            with anyio.CancelScope(shield=True):  # a client leaving must not cut an acceptance in half
                accepted = await self._accept_start(thread, cmd, request, on_accepted)
            return accepted
        finally:
            if thread is not None:
                thread.users -= 1

    async def _accept_start(
        self, thread: ThreadRuntime, cmd: StartRun, request: RunRequest, on_accepted: OnAccepted | None
    ) -> Accepted:
        async with thread.lock:
            queued = False
            if thread.busy:
                if cmd.if_busy == "reject":
                    raise self._busy(thread)
                queued = True
                request.check_pending = cmd.checkpoint_id is None
            elif cmd.checkpoint_id is None and thread.record.interrupts:
                raise self._interrupt_pending(thread)
            # the run with its input (and a new thread's record) are stored before the reply
            write = Write(thread_id=thread.thread_id, runs=[self._run_record(request, "queued")])
            if not thread.stored:
                write.threads.append(replace(thread.record))
            await self.storage.write(write)
            if not thread.stored:
                thread.stored = True
                self._thread_count += 1
            self.shares.add(request.origin)  # checked before the thread was created
            if cmd.if_busy == "interrupt" and thread.active is not None:
                thread.queue.appendleft(request)
                self._cancel_active(thread, "superseded")
            else:
                thread.queue.append(request)
            accepted = Accepted(request.run_id, thread.thread_id, self.hub.head(thread.thread_id), queued)
            if on_accepted is not None:
                on_accepted(accepted)
            self._spawn(thread)
            return accepted

    def _check_share(self, origin: str) -> None:
        if self.shares.full(origin):
            limit = self.shares.max_runs
            raise CommandError(
                ErrorCode.TOO_MANY_RUNS,
                f"{limit} runs are already queued or active for this identity; retry when some have ended",
                details={"max_runs_per_identity": limit},
            )

    def _check_config(self, config: Mapping[str, Any] | None) -> None:
        if not config:
            return
        limit = config.get("recursion_limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise CommandError(
                ErrorCode.INVALID_FIELD, f"recursion_limit must be an integer >= 1, got {limit!r}",
                path="config.recursion_limit",
            )

    @staticmethod
    def _busy(thread: ThreadRuntime) -> CommandError:
        return CommandError(
            ErrorCode.THREAD_BUSY,
            f"thread {thread.thread_id!r} has an active run ({thread.run_id}); retry when it ends, "
            "or pass if_busy='enqueue'",
            details={"run_id": thread.run_id},
        )

    @staticmethod
    def _interrupt_pending(thread: ThreadRuntime) -> CommandError:
        ids = thread.pending_ids
        return CommandError(
            ErrorCode.INTERRUPT_PENDING,
            f"thread {thread.thread_id} has {len(ids)} pending interrupt{'s' if len(ids) != 1 else ''} "
            f"({', '.join(ids)}); answer {'them' if len(ids) != 1 else 'it'} with resume instead of starting a run",
            details={"interrupt_ids": ids},
        )

    # --- resume --------------------------------------------------------------------------------

    async def resume(
        self, identity: str, cmd: Resume, on_accepted: OnAccepted | None = None, *, origin: str | None = None
    ) -> Accepted:
        """Validate, record durably, and accept a ``resume``; see spec 5.2 (and ``start_run``)."""
        origin = identity if origin is None else origin
        self._check_share(origin)
        async with self.using(identity, cmd.thread_id) as thread:
            entry = self.entry(thread)
            if cmd.goto is not None:
                targets = [cmd.goto] if isinstance(cmd.goto, str) else list(cmd.goto)
                for i, target in enumerate(targets):
                    if target not in entry.graph.nodes:
                        raise CommandError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"graph {thread.record.graph!r} has no node {target!r}",
                            path="goto" if isinstance(cmd.goto, str) else f"goto[{i}]",
                        )
            named = list(cmd.answers) if cmd.answers is not None else ([cmd.interrupt_id] if cmd.interrupt_id else None)
            with anyio.CancelScope(shield=True):  # a client leaving must not cut an acceptance in half
                accepted = await self._accept_resume(thread, entry, cmd, named, on_accepted, origin)
            return accepted

    async def _accept_resume(
        self, thread: ThreadRuntime, entry: GraphEntry, cmd: Resume, named: list[str] | None,
        on_accepted: OnAccepted | None, origin: str,
    ) -> Accepted:
        path = "answers" if cmd.answers is not None else "interrupt_id"
        async with thread.lock:
            if named is not None:
                await self._check_not_answered(thread, named, path if cmd.answers is None else "answers")
            pending = thread.pending_ids
            if named is not None:
                unknown = [i for i in named if i not in pending]
                if unknown:
                    raise CommandError(
                        ErrorCode.NOT_FOUND,
                        f"thread {thread.thread_id} has no pending interrupt {', '.join(unknown)}; "
                        f"pending: {', '.join(pending) or 'none'}",
                        path=path if cmd.answers is None else f"answers.{unknown[0]}",
                        details={"resource": "interrupt", "interrupt_ids": unknown},
                    )
                resume_map: dict[str, Any] = (
                    dict(cmd.answers) if cmd.answers is not None else {str(cmd.interrupt_id): cmd.value}
                )
            else:
                if not pending:
                    raise self._nothing_pending(thread)
                if len(pending) > 1:
                    raise CommandError(
                        ErrorCode.AMBIGUOUS_RESUME,
                        f"thread {thread.thread_id} has {len(pending)} pending interrupts ({', '.join(pending)}); "
                        "name the one you answer with interrupt_id or answers",
                        path="value",
                        details={"interrupt_ids": pending},
                    )
                resume_map = {pending[0]: cmd.value}
            request = RunRequest(
                run_id=_new_id("r"),
                thread_id=thread.thread_id,
                kind="resume",
                resume=resume_map,
                update=cmd.update,
                goto=list(cmd.goto) if isinstance(cmd.goto, tuple) else cmd.goto,
                recorded=False,
                stream_modes=tuple(cmd.stream_modes),
                origin=origin,
            )
            queued = thread.busy
            if queued and cmd.if_busy == "reject":
                raise self._busy(thread)
            self._check_share(origin)
            if not queued:
                answered = await self._record(thread, entry, request)
            else:
                # The first acknowledged answer wins: the queued run claims its ids (stored with
                # it), so a second answer to them is refused now, never after its reply.
                answered = list(resume_map)
                request.claimed = True
                request.claimed_interrupts = [i for i in thread.record.interrupts if i["id"] in resume_map]
                record = self._without_answered(thread, answered)
                await self.storage.write(
                    Write(thread_id=thread.thread_id, runs=[self._run_record(request, "queued")], threads=[record])
                )
                self._adopt(thread, record)
            self.shares.add(origin)
            thread.queue.append(request)
            accepted = Accepted(request.run_id, thread.thread_id, self.hub.head(thread.thread_id), queued, tuple(answered))
            if on_accepted is not None:
                on_accepted(accepted)
            self._spawn(thread)
            return accepted

    @staticmethod
    def _nothing_pending(thread: ThreadRuntime) -> CommandError:
        hint = ""
        if thread.record.status == "interrupted" and not thread.busy:
            hint = "; it is paused at a breakpoint: continue it with start_run and input null"
        return CommandError(
            ErrorCode.NOTHING_PENDING, f"thread {thread.thread_id} has no pending interrupt to resume{hint}"
        )

    async def _check_not_answered(
        self, thread: ThreadRuntime, ids: list[str], path: str, mine: frozenset[str] = frozenset()
    ) -> None:
        """``already_answered`` if an acknowledged resume answered any of ``ids`` (remembered
        in the storage, so this holds after a restart too); ``mine`` are ids the caller's own
        queued answer claimed."""
        ids = [i for i in ids if i not in mine]
        claimed = self._claimed(thread)
        already = [i for i in ids if i in thread.answered or i in claimed]
        # A listed interrupt is not answered (an answer and its removal from the list are one
        # write): only ids the thread does not list can have been answered before, so only
        # those cost a read (no read on the hot path of a valid answer).
        pending = set(thread.pending_ids)
        missing = [i for i in ids if i not in thread.answered and i not in claimed and i not in pending]
        if missing:
            found = await self.storage.answered_among(thread.thread_id, missing)
            thread.answered.update(found)
            already += found
        if already:
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED,
                f"interrupt {', '.join(already)} of thread {thread.thread_id} was already answered",
                path=path if path != "answers" else f"answers.{already[0]}",
                details={"interrupt_ids": already},
            )

    def _without_answered(self, thread: ThreadRuntime, ids: list[str]) -> ThreadRecord:
        """A copy of the thread's record without the interrupts answered so far and ``ids``
        (to store; :meth:`_adopt` makes it the in-memory record once stored)."""
        gone = thread.answered | set(ids) | self._claimed(thread)
        record = thread.record
        return replace(record, interrupts=[i for i in record.interrupts if i["id"] not in gone], updated_at=now_iso())

    @staticmethod
    def _claimed(thread: ThreadRuntime) -> set[str]:
        """Interrupt ids answered by the thread's queued (not cancelled) resumes, and by its active
        run while it has not recorded them yet."""
        requests = list(thread.queue)
        if thread.active is not None and not thread.active.request.recorded:
            requests.append(thread.active.request)
        return {i for r in requests if r.claimed and not r.cancelled for i in (r.resume or ())}

    def _adopt(self, thread: ThreadRuntime, record: ThreadRecord) -> None:
        """``record`` (just stored) is now the thread's record."""
        self._pending_count += len(record.interrupts) - len(thread.record.interrupts)
        thread.record.interrupts = list(record.interrupts)
        thread.record.status, thread.record.error = record.status, record.error
        thread.record.updated_at = record.updated_at

    async def _record(self, thread: ThreadRuntime, entry: GraphEntry, request: RunRequest) -> list[str]:
        """Store the request's answers as command writes on the thread's head checkpoint, with
        the answered ids, the run and the thread's record, in one write.

        Must be called with ``thread.lock`` held and no run active on the thread.
        """
        queued_claim = frozenset(request.resume or ()) if request.claimed else frozenset()
        if request.resume:
            await self._check_not_answered(thread, list(request.resume), "interrupt_id", queued_claim)
        command: Command[Any] = Command(resume=request.resume, update=request.update, goto=request.goto or ())
        ids = list(request.resume or ())
        before = set(thread.answered)
        request.recorded = True
        record = self._without_answered(thread, ids)
        extras = Write(
            thread_id=thread.thread_id,
            runs=[self._run_record(request, "queued")],
            answered=[(thread.thread_id, i) for i in ids],
            threads=[record],
        )
        try:
            if self.one_transaction:
                # staged: the command's own write (its checkpoint writes) takes them along
                self.hub.stage(thread.thread_id, extras, with_checkpoint=True)
                try:
                    answered = await entry.graph.arecord_command(self._config(thread.thread_id), command)
                except BaseException:
                    self.hub.unstage(thread.thread_id)
                    raise
                left = self.hub.unstage(thread.thread_id)
                if left is not None and not left.empty:  # the graph saved elsewhere: store them now
                    await self.storage.write(left)
            else:  # a checkpointer of the caller's: a second write
                answered = await entry.graph.arecord_command(self._config(thread.thread_id), command)
                await self.storage.write(extras)
        except AlreadyAnsweredError as exc:
            self._undo_answer(thread, request, before)
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED, str(exc), path="interrupt_id", details={"interrupt_ids": list(exc.unknown_ids)}
            ) from None
        except UnknownInterruptError as exc:
            self._undo_answer(thread, request, before)
            raise CommandError(
                ErrorCode.NOT_FOUND, str(exc), path="interrupt_id",
                details={"resource": "interrupt", "interrupt_ids": list(exc.unknown_ids)},
            ) from None
        except NothingPendingError:
            self._undo_answer(thread, request, before)
            raise self._nothing_pending(thread) from None
        except AmbiguousResumeError as exc:
            self._undo_answer(thread, request, before)
            raise CommandError(ErrorCode.AMBIGUOUS_RESUME, str(exc), path="value", details={"interrupt_ids": thread.pending_ids}) from None
        except (InvalidUpdateError, ResumeError) as exc:
            self._undo_answer(thread, request, before)
            raise CommandError(ErrorCode.INVALID_ARGUMENT, str(exc), path="update") from None
        except BaseException:
            self._undo_answer(thread, request, before)
            raise
        thread.answered.update(ids)
        self._adopt(thread, record)
        return [i.id for i in answered]

    def _undo_answer(self, thread: ThreadRuntime, request: RunRequest, before: set[str]) -> None:
        """An answer that was not stored: forget what :meth:`_record` assumed in memory."""
        request.recorded = False

    # --- cancel --------------------------------------------------------------------------------

    async def cancel(self, identity: str, thread_id: str, run_id: str | None) -> str:
        """Cancel the active run (or drop a queued one named by ``run_id``); returns its id."""
        async with self.using(identity, thread_id) as thread, thread.lock:
            if run_id is not None:
                for request in thread.queue:
                    if request.run_id == run_id:
                        # Its run_started and run_cancelled come when its turn comes, after the
                        # active run's events: runs of a thread never interleave (spec 9.4).
                        request.cancelled = True
                        write = Write(thread_id=thread_id, runs=[self._run_record(request, "queued")])
                        if request.claimed_interrupts:  # its answers are withdrawn: pending again
                            back = [i for i in request.claimed_interrupts if i not in thread.record.interrupts]
                            record = replace(thread.record, interrupts=thread.record.interrupts + back, updated_at=now_iso())
                            write.threads.append(record)
                            write.after_commit.append(partial(self._adopt, thread, record))
                        with anyio.CancelScope(shield=True):
                            await self.storage.write(write)
                        return run_id
                if thread.active is None or thread.active.request.run_id != run_id:
                    raise not_found("run", run_id, path="run_id")
            if thread.active is None:
                raise CommandError(ErrorCode.NO_ACTIVE_RUN, f"thread {thread_id} has no active run to cancel")
            active_id = thread.active.request.run_id
            self._cancel_active(thread, "cancelled")
            return active_id

    @staticmethod
    def _cancel_active(thread: ThreadRuntime, reason: str) -> None:
        active = thread.active
        if active is not None:
            active.cancel_reason = reason
            active.cancel_requested = True
            if active.scope is not None:
                active.scope.cancel()

    # --- state ---------------------------------------------------------------------------------

    async def get_state(self, identity: str, thread_id: str, checkpoint_id: str | None) -> dict[str, Any]:
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            if checkpoint_id is not None:
                await self._require_checkpoint(thread, graph, checkpoint_id)
            snapshot = await graph.aget_state(self._config(thread_id, checkpoint_id))
            return state_wire(snapshot)

    async def _require_checkpoint(self, thread: ThreadRuntime, graph: Any, checkpoint_id: str, path: str = "checkpoint_id") -> None:
        saver = graph.saver
        saved = None if saver is None else await saver.aget_tuple(
            {"configurable": {"thread_id": thread.thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
        )
        if saved is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"thread {thread.thread_id!r} has no checkpoint {checkpoint_id!r}",
                path=path,
                details={"resource": "checkpoint"},
            )

    async def get_history(
        self, identity: str, thread_id: str, limit: int, before: str | None, *, max_bytes: int | None = None
    ) -> tuple[list[Any], str | None]:
        """A page of the thread's checkpoints, newest first, of at most ``limit`` items and about
        ``max_bytes`` of JSON (at least one item); and the ``before`` of the next page, if any."""
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            before_config = None
            if before is not None:
                await self._require_checkpoint(thread, graph, before, "before")
                before_config = self._config(thread_id, before)
            history: list[Any] = []
            size = 0
            next_before: str | None = None
            async for snapshot in graph.aget_state_history(self._config(thread_id), before=before_config, limit=limit + 1):
                item = state_wire(snapshot)
                item_size = len(orjson.dumps(item, default=str)) if max_bytes is not None else 0
                if len(history) == limit or (history and max_bytes is not None and size + item_size > max_bytes):
                    next_before = history[-1]["checkpoint_id"]
                    break
                history.append(item)
                size += item_size
            return history, next_before

    async def update_state(
        self, identity: str, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None
    ) -> tuple[str, int]:
        """``update_state``; returns the new checkpoint id and the ``state_updated`` event's seq."""
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            if as_node is not None and as_node not in graph.nodes and as_node not in ("__start__", "__end__", "__input__", "__copy__"):
                raise CommandError(ErrorCode.INVALID_ARGUMENT, f"graph {thread.record.graph!r} has no node {as_node!r}", path="as_node")
            async with thread.lock:
                if thread.busy:
                    raise self._busy(thread)
                if checkpoint_id is not None:
                    await self._require_checkpoint(thread, graph, checkpoint_id)
                try:
                    config = await graph.aupdate_state(self._config(thread_id, checkpoint_id), values, as_node=as_node)
                except (InvalidUpdateError, CheckpointError, ValueError) as exc:
                    raise CommandError(ErrorCode.INVALID_ARGUMENT, str(exc), path="values") from None
                except Exception as exc:  # a reducer refused the values (user code): nothing was saved
                    raise CommandError(
                        ErrorCode.INVALID_ARGUMENT, f"the graph refused the update: {type(exc).__name__}: {exc}", path="values"
                    ) from None
                new_id = str(config["configurable"]["checkpoint_id"])
                record = await self._settle(thread, graph, error=None)
                seq = self.hub.publish(thread_id, "state_updated", None, {"checkpoint_id": new_id, "as_node": as_node})
                write = self.hub.take(thread_id, checkpoint=False)
                write.threads.append(record)
                with anyio.CancelScope(shield=True):
                    await self.storage.write(write)
                self._adopt(thread, record)
                return new_id, seq

    async def list_threads(
        self, identity: str, status: tuple[str, ...] | None, graph: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """The caller's threads, most recently updated first: busy ones from memory (their
        stored status is the one before the run), the others from the storage."""
        busy = [t for t in self.threads if t.busy and t.record.owner == identity and (graph is None or t.record.graph == graph)]
        listed: list[tuple[ThreadRecord, ThreadRuntime | None]] = []
        if status is None or "running" in status:
            listed += [(t.record, t) for t in busy]
        settled = None if status is None else [s for s in status if s != "running"]
        if settled is None or settled:
            stored = await self.storage.list_threads(
                owner=identity, statuses=settled, graph=graph, exclude=[t.thread_id for t in busy], limit=offset + limit,
            )
            held_ids = {t.thread_id for t in self.threads}
            for record in stored:
                held = self.threads.get(record.thread_id) if record.thread_id in held_ids else None
                if held is not None and held.busy:
                    continue  # became busy meanwhile: listed above (or filtered out)
                listed.append((held.record if held is not None else record, held))
        listed.sort(key=lambda item: (item[0].updated_at, item[0].thread_id), reverse=True)
        return [self._info(record, held) for record, held in listed[offset : offset + limit]]

    def _info(self, record: ThreadRecord, held: ThreadRuntime | None) -> dict[str, Any]:
        loaded = held is not None and self.hub.loaded(record.thread_id)
        return {
            "thread_id": record.thread_id,
            "graph": record.graph,
            "status": held.status if held is not None else record.status,
            "run_id": held.run_id if held is not None else None,
            "head_seq": self.hub.head(record.thread_id) if loaded else record.head_seq,
            "interrupts": list(record.interrupts),
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }

    def thread_info(self, thread: ThreadRuntime) -> dict[str, Any]:
        return self._info(thread.record, thread)

    async def current_state(self, thread: ThreadRuntime) -> dict[str, Any]:
        """The thread's current State as wire JSON (for resync)."""
        snapshot = await self.entry(thread).graph.aget_state(self._config(thread.thread_id))
        return state_wire(snapshot)

    def statistics(self) -> RunStatistics:
        threads = list(self.threads)
        return RunStatistics(
            threads=self._thread_count,
            active_runs=sum(1 for t in threads if t.active is not None),
            queued_runs=sum(len(t.queue) for t in threads),
            runs_started=self._started,
            runs_finished=self._finished,
            interrupts_pending=self._pending_count,
        )

    # --- running -------------------------------------------------------------------------------

    @staticmethod
    def _run_record(request: RunRequest, status: RunStatus, *, ended: bool = False) -> RunRecord:
        return RunRecord(
            request.run_id, request.thread_id, request.kind, status, request.params(), ended_at=now_iso() if ended else None
        )

    def _started_data(self, thread: ThreadRuntime, request: RunRequest) -> dict[str, Any]:
        data: dict[str, Any] = {"graph": thread.record.graph, "kind": request.kind, "checkpoint_id": request.checkpoint_id}
        if request.resume:
            data["answers"] = dict(request.resume)  # so every watcher sees what was answered
        return data

    async def _work(self, thread: ThreadRuntime) -> None:
        try:
            while True:
                async with thread.lock:
                    if not thread.queue:
                        return
                    request = thread.queue.popleft()
                    thread.active = ActiveRun(request)
                try:
                    if self.fair_share:
                        async with self.shares.slot(request.origin):  # the identity's fair share
                            await self._execute(thread, request)
                    else:
                        await self._execute(thread, request)
                except Exception as exc:  # a bug on our side ends this run, never the server
                    await self._fail_run(thread, request, exc)
                finally:
                    thread.active = None
        finally:
            thread.worker = False
            self.threads.shrink()

    async def _execute(self, thread: ThreadRuntime, request: RunRequest) -> None:
        tid, run_id = thread.thread_id, request.run_id
        entry = self.registry.get(thread.record.graph)
        self._started += 1
        self.hub.publish(tid, "run_started", run_id, self._started_data(thread, request))
        if entry is not None and request.cancelled:
            # its claim on the interrupts it answered is gone: list them as pending again
            record = await self._settle(thread, entry.graph, error=None)
            await self._finish(thread, request, "run_cancelled", {"reason": "cancelled"}, record)
            return
        if entry is None:
            await self._finish(thread, request, "run_error", {"error": {"type": "GraphNotFound", "message": f"graph {thread.record.graph!r} is not served"}, "code": ErrorCode.NOT_FOUND.value}, None)
            return
        graph = entry.graph
        problem = await self._precheck(thread, entry, request)
        if problem is not None:
            await self._finish(thread, request, "run_error", {"error": {"type": "CommandError", "message": problem.message}, "code": problem.code.value}, None)
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
        modes = [m for m in request.stream_modes]
        wanted = set(modes)
        active = thread.active
        error: BaseException | None = None
        with anyio.CancelScope() as scope:
            if active is not None:
                active.scope = scope
                if active.cancel_requested:
                    scope.cancel()
            try:
                # Always ask for (ns, mode, payload) triples; `subgraphs: false` keeps the root's.
                async for ns, mode, payload in graph.astream(
                    request.input if request.kind == "start" else None,
                    config,
                    stream_mode=modes,
                    subgraphs=True,
                    interrupt_before=request.interrupt_before,
                    interrupt_after=request.interrupt_after,
                ):
                    if ns and not request.subgraphs:
                        continue
                    if mode in wanted:
                        self.hub.publish(tid, mode, run_id, stream_payload(mode, payload), tuple(ns))
            except Exception as exc:  # the graph failed: the run ends with run_error
                error = exc
        if scope.cancelled_caught:
            record = await self._settle(thread, graph, error=None)
            await self._finish(thread, request, "run_cancelled", {"reason": active.cancel_reason if active else "cancelled"}, record)
            return
        if error is not None:
            record = await self._settle(thread, graph, error=f"{type(error).__name__}: {error}")
            await self._finish(thread, request, "run_error", {"error": {"type": type(error).__name__, "message": str(error)}, "code": None}, record)
            return
        snapshot = await graph.aget_state(self._config(tid))
        record = self._settled_record(thread, snapshot, error=None)
        if snapshot.interrupts:
            interrupts = [interrupt_wire(i) for i in snapshot.interrupts]
            self.hub.publish(tid, "interrupt", run_id, {"interrupts": interrupts})
            await self._finish(thread, request, "run_interrupted", {"interrupt_ids": [i["id"] for i in interrupts], "next": list(snapshot.next)}, record)
        elif snapshot.next:
            await self._finish(thread, request, "run_interrupted", {"interrupt_ids": [], "next": list(snapshot.next)}, record)
        else:
            checkpoint_id = snapshot.config.get("configurable", {}).get("checkpoint_id")
            await self._finish(thread, request, "run_done", {"checkpoint_id": checkpoint_id}, record)

    async def _fail_run(self, thread: ThreadRuntime, request: RunRequest, exc: Exception) -> None:
        """End a run whose execution raised unexpectedly with ``run_error``, once."""
        logger.exception("run %s on thread %s failed unexpectedly", request.run_id, thread.thread_id)
        if thread.active is None or thread.active.request is not request:
            return  # its terminal event is out already
        error = {"type": type(exc).__name__, "message": str(exc)}
        message = f"{error['type']}: {error['message']}"
        entry = self.registry.get(thread.record.graph)
        try:
            if entry is None:
                raise LookupError(thread.record.graph)
            record = await self._settle(thread, entry.graph, error=message)
        except Exception:
            logger.exception("could not read thread %s after the failure", thread.thread_id)
            record = replace(thread.record, status="error", error=message, updated_at=now_iso())
        await self._finish(thread, request, "run_error", {"error": error, "code": ErrorCode.INTERNAL_ERROR.value}, record)

    async def _precheck(self, thread: ThreadRuntime, entry: GraphEntry, request: RunRequest) -> CommandError | None:
        """Checks a queued run could only make when its turn came."""
        async with thread.lock:
            if request.check_pending and thread.record.interrupts:
                return self._interrupt_pending(thread)
            if not request.recorded:
                try:
                    await self._record(thread, entry, request)
                except CommandError as exc:
                    return exc
        return None

    async def _settle(self, thread: ThreadRuntime, graph: Any, *, error: str | None) -> ThreadRecord:
        """The thread's record after a run (or an update): its status and pending interrupts,
        read from its latest checkpoint (the head cache holds it). Not stored here."""
        snapshot = await graph.aget_state(self._config(thread.thread_id))
        return self._settled_record(thread, snapshot, error=error)

    def _settled_record(self, thread: ThreadRuntime, snapshot: Any, *, error: str | None) -> ThreadRecord:
        claimed = self._claimed(thread)  # answered by a queued resume: not listed as pending
        interrupts = [jsonable(interrupt_wire(i)) for i in snapshot.interrupts if i.id not in claimed]
        if error is not None:
            status = "error"
        elif snapshot.interrupts or snapshot.next:
            status = "interrupted"
        else:
            status = "idle"
        return replace(thread.record, status=status, error=error, interrupts=interrupts, updated_at=now_iso())

    async def _finish(
        self, thread: ThreadRuntime, request: RunRequest, event: str, data: dict[str, Any], record: ThreadRecord | None
    ) -> None:
        """Publish the run's terminal event and store it with the run's end and the thread's
        record, in one write."""
        # Once the end is stored, and before its terminal event is delivered, the thread stops
        # being busy and takes its new record: a client that answers as soon as it sees
        # run_interrupted must not get thread_busy, nor a list_threads that shows the old state.
        self.hub.publish(thread.thread_id, event, request.run_id, data)
        self._finished += 1
        self.shares.remove(request.origin)
        write = self.hub.take(thread.thread_id, checkpoint=False)
        write.runs.append(self._run_record(request, _TERMINAL_STATUS[event], ended=True))
        if record is not None:
            write.threads.append(record)

        def ended() -> None:
            if thread.active is not None and thread.active.request is request:
                thread.active = None
            if record is not None:
                self._adopt(thread, record)

        write.after_commit.insert(0, ended)
        with anyio.CancelScope(shield=True):
            await self.storage.write(write)
