"""The run manager's state and lookups: threads loaded on demand, graph entries, the refusals
every command can meet, and the records a run writes."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

import orjson

from anyio.abc import TaskGroup

from streamhil.protocol import ErrorCode, EventKind

from ..errors import CommandError, not_found
from ..hub import EventHub
from ..limits import RunShares
from ..registry import GraphEntry, GraphRegistry
from ..storage.base import Storage
from ..storage.records import RunRecord, RunStatus, ThreadRecord, Write, now_iso
from ..task_pool import TaskPool
from ..threads import Accepted, RunRequest, ThreadCache, ThreadRuntime

logger = logging.getLogger("streamhil_server.runs")

__all__ = ["RunCore", "OnAccepted", "ReservedBy", "logger"]


T = TypeVar("T")
OnAccepted = Callable[["Accepted"], None]
ReservedBy = Callable[[str], Awaitable[str | None]]
"""Who holds a thread id the run manager has no thread of yet (the HTTP surface's ``POST
/threads`` makes a thread before its first run); None if nobody."""
_TERMINAL_STATUS: dict[str, RunStatus] = {
    EventKind.RUN_DONE: "done", EventKind.RUN_ERROR: "error", EventKind.RUN_CANCELLED: "cancelled", EventKind.RUN_INTERRUPTED: "interrupted",
}


def _new_id(prefix: str) -> str:
    """A new thread, run or command id: 128 bits from the system's generator. Not Python's
    ``random``: a thread id must not be predictable from the ids a client has seen, or it could
    create another client's next thread before it does."""
    return f"{prefix}-{secrets.token_hex(16)}"


class RunCore:
    """The state every part of the run manager shares."""

    def __init__(
        self, registry: GraphRegistry, storage: Storage, hub: EventHub, *, shares: RunShares | None = None,
        fair_share: bool = False, max_idle_threads: int = 1000, one_transaction: bool = True,
        reserved_by: ReservedBy | None = None,
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
        self.reserved_by = reserved_by
        self.dropped_from_queue: list[Callable[[Write, str], None]] = []
        """Called with the write that cancels a queued run and its id (before it is stored):
        the run is over for its callers now, although its events come when its turn comes."""
        self._tg: TaskGroup | None = None
        self._workers: TaskPool | None = None  # runs' tasks, kept for the next run (see task_pool)
        self._started = 0
        self._finished = 0
        self._thread_count = 0
        self._pending_count = 0

    async def _load(self, thread_id: str) -> ThreadRuntime | None:
        """The thread from memory, or loaded from the storage (None if there is no such thread)."""
        thread = self.threads.get(thread_id)
        if thread is not None:
            if not self.storage.holds(thread_id) and not thread.busy:
                await self._refresh(thread)  # another process may run it: its record is the table's
            return thread
        record = await self.storage.load_thread(thread_id)
        if record is None:
            return None
        await self.hub.ensure(thread_id)
        thread = self.threads.get(thread_id)  # loaded meanwhile by another command?
        return thread if thread is not None else self.threads.add(ThreadRuntime(record))

    async def _refresh(self, thread: ThreadRuntime) -> None:
        """Read the record of a thread this process does not hold the lease of (several
        processes on one database): status, interrupts and its open run as stored."""
        record = await self.storage.load_thread(thread.thread_id)
        if record is not None:
            for name in ("status", "interrupts", "error", "updated_at", "metadata", "open_run"):
                setattr(thread.record, name, getattr(record, name))

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

    async def check_reservation(self, identity: str, thread_id: str) -> None:
        """``forbidden`` if another identity holds ``thread_id`` although it has no thread here
        yet (made by ``POST /threads``, not run yet): a new thread must not take it over."""
        owner = None if self.reserved_by is None else await self.reserved_by(thread_id)
        if owner is not None and owner != identity:
            raise CommandError(ErrorCode.FORBIDDEN, f"thread {thread_id!r} belongs to another identity", path="thread_id")

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

    @staticmethod
    def _busy(thread: ThreadRuntime, *, queueable: bool = True) -> CommandError:
        """``thread_busy``. ``queueable``: the refused command takes ``if_busy`` (``start_run``,
        ``resume``), so the message offers to queue it; otherwise (``update_state``) it says to
        retry once the run has ended."""
        if queueable:
            advice = "retry when it ends, or pass if_busy='enqueue'"
        else:
            advice = "retry once it has ended (update_state cannot be queued behind a run)"
        return CommandError(
            ErrorCode.THREAD_BUSY,
            f"thread {thread.thread_id!r} has an active run ({thread.run_id}); {advice}",
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

    @staticmethod
    def _nothing_pending(thread: ThreadRuntime, next: Sequence[str] = ()) -> CommandError:
        """``nothing_pending``, saying how the thread can go on: ``next`` are the nodes its
        latest checkpoint would run (a run stopped before it finished, e.g. cancelled)."""
        hint = ""
        if thread.busy:
            hint = ""
        elif thread.record.status == "interrupted":
            hint = "; it is paused at a breakpoint: continue it with start_run and input null"
        elif next:
            hint = (
                f"; its last run stopped before it finished (next: {', '.join(next)}): "
                "continue it with start_run and input null, or start a run with a new input"
            )
        return CommandError(
            ErrorCode.NOTHING_PENDING, f"thread {thread.thread_id} has no pending interrupt to resume{hint}"
        )

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
        thread.record.open_run = None  # this process runs it: its queue says what is open

    @staticmethod
    def _cancel_active(thread: ThreadRuntime, reason: str) -> None:
        active = thread.active
        if active is not None:
            active.cancel_reason = reason
            active.cancel_requested = True
            if active.scope is not None:
                active.scope.cancel()

    def _outcome(
        self, command_id: str | None, result: Accepted | str | list[Any], *, checkpoint_of: str | None = None
    ) -> Callable[[Any], None] | None:
        """The statement that stores a forwarded command's reply with its effect, in the same
        transaction (None when the command was not forwarded); see :mod:`.forwarding`."""
        inbox = self.storage.inbox
        if command_id is None or inbox is None:
            return None
        payload = asdict(result) if isinstance(result, Accepted) else result
        return inbox.outcome_statement(command_id, orjson.dumps({"result": payload}).decode(), checkpoint_of=checkpoint_of)

    async def _with_checkpoint_write(self, thread_id: str, statement: Callable[[Any], None] | None, work: Awaitable[T]) -> T:
        """Await ``work``, which saves a checkpoint of the thread, with ``statement`` in that
        checkpoint's write (stored right after it if the graph saves through a checkpointer of
        the caller's)."""
        if statement is None:
            return await work
        extras = Write(thread_id=thread_id, sql=[statement])
        if not self.one_transaction:
            result = await work
            await self.storage.write(extras)
            return result
        self.hub.stage(thread_id, extras, with_checkpoint=True)
        try:
            result = await work
        finally:
            left = self.hub.unstage(thread_id)
        if left is not None and not left.empty:  # the graph saved elsewhere: store it now
            await self.storage.write(left)
        return result

    def _store_outcome(self, write: Write, command_id: str | None, result: Accepted | str | list[Any]) -> None:
        statement = self._outcome(command_id, result)
        if statement is not None:
            write.sql.append(statement)

    @staticmethod
    def _run_record(request: RunRequest, status: RunStatus, *, ended: bool = False) -> RunRecord:
        return RunRecord(
            request.run_id, request.thread_id, request.kind, status, request.params(), ended_at=now_iso() if ended else None
        )

    def _started_data(self, thread: ThreadRuntime, request: RunRequest, discarded: Sequence[str] = ()) -> dict[str, Any]:
        data: dict[str, Any] = {"graph": thread.record.graph, "kind": request.kind, "checkpoint_id": request.checkpoint_id}
        if request.resume:
            data["answers"] = dict(request.resume)  # so every watcher sees what was answered
        if discarded:
            data["discarded_interrupts"] = list(discarded)  # a fork: these can no longer be answered
        if request.continues is not None:  # continues a run a restart cut short (see .recovery)
            data["continues"], data["retry_of"] = request.continues, request.retry_of
        return data
