"""The values the server stores: thread and run records, event rows, and one durable write.

A :class:`Write` is everything one transaction commits: a checkpoint (with the pending writes of
its parent), more pending writes, event rows, thread and run records, answered interrupt ids.
The server builds one per superstep, per answer and per run end, so what a client was told and
what a restarted server finds always agree (see ``docs/server.md``, "The durable path").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from streamhil._clock import now_iso
from streamhil.checkpoint._records import Address, EncodedWrites, StoredCheckpoint
from streamhil.checkpoint.base import Checkpoint
from streamhil.protocol.objects import ThreadStatus

__all__ = [
    "ThreadRecord",
    "RunRecord",
    "RunStatus",
    "EventRow",
    "CheckpointPut",
    "WritesPut",
    "Write",
    "now_iso",
    "OPEN_RUN_STATUSES",
]

RunStatus = Literal["queued", "running", "interrupted", "done", "error", "cancelled"]
OPEN_RUN_STATUSES: tuple[RunStatus, ...] = ("queued", "running")
"""A run in one of these has no terminal event yet; a restarted server recovers it."""




@dataclass(slots=True)
class ThreadRecord:
    """What the server keeps about a thread beside its checkpoints.

    ``status`` is the last settled status (``idle``, ``interrupted`` or ``error``); ``running``
    comes from the run manager. ``interrupts`` are the pending ones as wire dicts. ``metadata``
    is free-form JSON for layers above the server (compat APIs). ``head_seq`` is filled by reads
    (the seq of the thread's latest stored event); writes ignore it. So is ``open_run`` on a
    storage several processes share: a queued or running run of the thread, whichever process
    runs it.
    """

    thread_id: str
    graph: str
    owner: str
    status: ThreadStatus = "idle"
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    metadata: dict[str, Any] = field(default_factory=dict)
    head_seq: int = 0
    open_run: str | None = None

    def settled(
        self, status: ThreadStatus, error: str | None, interrupts: list[dict[str, Any]], updated_at: str
    ) -> ThreadRecord:
        """A copy with a new status, error and pending interrupts (``dataclasses.replace`` costs
        three times as much, and this is made on every run's end and answer)."""
        return ThreadRecord(
            thread_id=self.thread_id, graph=self.graph, owner=self.owner, status=status, interrupts=interrupts,
            error=error, created_at=self.created_at, updated_at=updated_at, metadata=self.metadata,
            head_seq=self.head_seq, open_run=self.open_run,
        )

    def copy(self, head_seq: int | None = None) -> ThreadRecord:
        """A copy with lists and dicts of its own (``head_seq`` replaced if given)."""
        return ThreadRecord(
            thread_id=self.thread_id, graph=self.graph, owner=self.owner, status=self.status,
            interrupts=list(self.interrupts), error=self.error, created_at=self.created_at,
            updated_at=self.updated_at, metadata=dict(self.metadata),
            head_seq=self.head_seq if head_seq is None else head_seq, open_run=self.open_run,
        )


@dataclass(slots=True)
class RunRecord:
    """A run the server accepted. ``queued``/``running`` runs are recovered at startup; the
    others are kept as the record of a finished run (``ended_at`` set)."""

    run_id: str
    thread_id: str
    kind: str
    status: RunStatus
    params: dict[str, Any]
    created_at: str = field(default_factory=now_iso)
    ended_at: str | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event frame exactly as sent, at ``seq`` of its thread's log."""

    thread_id: str
    seq: int
    run_id: str | None
    frame: str


@dataclass(slots=True)
class CheckpointPut:
    """A checkpoint to save as a child of ``parent`` (an address with the parent's id, or none),
    with ``writes`` saved as pending writes of that parent. Values are already serialised."""

    parent: Address
    checkpoint: Checkpoint
    metadata: bytes
    changed: dict[str, bytes]
    writes: EncodedWrites
    parent_stored: StoredCheckpoint | None = None
    """The parent as stored, when the caller knows it (its head cache): a backend may then save
    without reading it first (checkpoints never change once stored)."""


@dataclass(slots=True)
class WritesPut:
    """Pending writes of the checkpoint at ``address`` (which names its id): each task's writes
    replace that task's earlier ones."""

    address: Address
    writes: EncodedWrites


@dataclass(slots=True)
class Write:
    """One transaction: all of it is stored, or (when it fails) none of it.

    ``thread_id`` names the thread the write is for (None: several or none); it only labels
    errors. ``after_commit`` is called on the event loop once the transaction is committed,
    in commit order across writes (the hub delivers the write's events there).
    """

    thread_id: str | None = None
    checkpoint: CheckpointPut | None = None
    task_writes: list[WritesPut] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    threads: list[ThreadRecord] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    answered: list[tuple[str, str]] = field(default_factory=list)
    trim_events: list[tuple[str, int]] = field(default_factory=list)
    """``(thread_id, keep_after)``: discard that thread's events with ``seq <= keep_after``."""
    sql: list[Callable[[Any], None]] = field(default_factory=list)
    """Statements of modules that keep tables of their own (given the backend's SQL connection,
    run in this write's transaction): see :meth:`~.base.Storage.run_sql`."""
    forget_threads: list[str] = field(default_factory=list)
    """Threads to delete entirely (checkpoints, writes, events, answers, runs, record), first."""
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    after_failure: list[Callable[[BaseException], None]] = field(default_factory=list)

    def merge(self, other: Write) -> None:
        """Add ``other``'s parts to this write (records of ``other`` come later, so they win)."""
        if other.checkpoint is not None:
            if self.checkpoint is not None:
                raise ValueError("a write holds at most one checkpoint")
            self.checkpoint = other.checkpoint
        # (most parts are empty: skipping them halves the cost of a merge, made several times a step)
        if other.task_writes:
            self.task_writes += other.task_writes
        if other.events:
            self.events += other.events
        if other.threads:
            self.threads += other.threads
        if other.runs:
            self.runs += other.runs
        if other.answered:
            self.answered += other.answered
        if other.trim_events:
            self.trim_events += other.trim_events
        if other.forget_threads:
            self.forget_threads += other.forget_threads
        if other.sql:
            self.sql += other.sql
        if other.after_commit:
            self.after_commit += other.after_commit
        if other.after_failure:
            self.after_failure += other.after_failure

    @property
    def empty(self) -> bool:
        return not (
            self.checkpoint or self.task_writes or self.events or self.threads or self.runs
            or self.answered or self.trim_events or self.forget_threads or self.sql
        )
