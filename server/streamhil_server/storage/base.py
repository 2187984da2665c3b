"""The storage interface: every durable fact of the server, behind one small set of operations.

A backend stores checkpoints (the same rows and blobs as the library's savers), each thread's
event log, thread records, run records and answered interrupt ids. It has exactly one way to
change anything, :meth:`Storage.write`, which commits a :class:`~.records.Write` in one
transaction; the named operations below (:meth:`append_step`, :meth:`record_answer`,
:meth:`finish_run`...) only build such writes. Everything else reads.

The contract a backend must keep (``tests/server/storage_conformance.py`` checks it):

- ``write`` is atomic: after it returns every part is stored; if it raises none is. An event's
  ``(thread_id, seq)`` is stored at most once: a write repeating one fails.
- Writes are committed in the order ``write`` was called, and a write's ``after_commit``
  callbacks run on the event loop after its commit, in that same order, before ``write``
  returns. A write that fails calls its ``after_failure`` callbacks instead.
- Concurrent writes may share a commit (group commit), but one failing write fails only its
  own caller, and no caller returns before the commit that holds its write.
- A write's checkpoint becomes the thread namespace's latest when its id is the greatest
  (ids are time-ordered); its ``writes`` go to the parent, each task's writes replacing that
  task's earlier ones there (keeping the task's first position).
- Reads never wait behind writes that are not committed yet, and see every committed write.
- An operation that fails because the storage cannot be used now (its database cannot be
  reached, its disk is full) raises :class:`~.health.StorageUnavailableError`; a backend whose
  database can go away says so in :attr:`Storage.health` and probes it in :meth:`Storage.monitor`.

Backends: :mod:`.memory` (dicts, nothing survives the process) and :mod:`.sqlite` (one file, a
writer connection with group commit and a separate reader connection, WAL). A PostgreSQL backend
is one more module implementing the abstract methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio
from anyio.abc import TaskStatus

from streamhil.checkpoint._records import Address, ListScope, StoredCheckpoint

from .health import StorageHealth, StorageUnavailableError
from .records import OPEN_RUN_STATUSES, EventRow, RunRecord, RunStatus, ThreadRecord, Write, WritesPut

__all__ = [
    "Storage", "Loaded", "ThreadCounts", "StorageClosedError", "LeaseGrant", "LeaseLostError", "AnswerConflictError",
    "written_threads", "CommandInbox", "StorageHealth", "StorageUnavailableError",
]

T = TypeVar("T")

Loaded = tuple[StoredCheckpoint, dict[str, bytes], list[tuple[str, str, bytes]]]
"""A checkpoint row, the blobs of all its channels, and its pending writes (task, channel,
value) in saved order; values still serialised."""


class StorageClosedError(RuntimeError):
    """The storage was used before ``open()`` or after ``aclose()``."""


class LeaseLostError(RuntimeError):
    """A write changed threads whose lease this process does not hold (any more): another
    process took them over. Nothing of the write was stored."""

    def __init__(self, thread_ids: Iterable[str]) -> None:
        self.thread_ids = sorted(set(thread_ids))
        super().__init__(f"this process no longer holds the lease of thread {', '.join(self.thread_ids)}")


class AnswerConflictError(RuntimeError):
    """A write recorded an interrupt id as answered that an earlier write had recorded (the
    unique key on answered ids, the last line of defence): nothing of the write was stored."""


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """The outcome of :meth:`Storage.acquire_lease`.

    ``token`` is the fencing token (None: ``holder`` holds the lease for ``expires_in`` more
    seconds). ``fresh`` is True when no other process held the lease since this process last
    did: what this process remembers of the thread is still right."""

    token: int | None
    holder: str | None = None
    expires_in: float = 0.0
    fresh: bool = True

    @property
    def held(self) -> bool:
        return self.token is not None


class CommandInbox(Protocol):
    """Commands one process hands to another (the holder of a thread's lease), and replies.
    ``on_note(kind, command_id)`` is told of a command for this process (``"q"``) and of a
    reply to one of its own (``"a"``) as they arrive."""

    on_note: Callable[[str, str], None] | None

    async def post(self, command_id: str, target: str, thread_id: str, request: str) -> None: ...

    async def claim(self, command_id: str) -> tuple[str, str] | None: ...

    async def unclaimed(self) -> list[str]: ...

    async def reply(self, command_id: str, reply: str) -> None: ...

    async def withdraw(self, command_id: str) -> bool: ...

    async def collect(self, command_id: str) -> str | None: ...

    async def settle(self, command_id: str) -> tuple[bool, str | None]: ...

    def outcome_statement(
        self, command_id: str, reply: str, *, checkpoint_of: str | None = None
    ) -> Callable[[Any], None]: ...

    async def prune(self, max_age: float) -> None: ...


@dataclass(frozen=True, slots=True)
class ThreadCounts:
    """Totals over every stored thread (for metrics)."""

    threads: int
    interrupts_pending: int


class Storage(ABC):
    """The server's durable state; open with ``async with storage:``."""

    durable: bool = False
    """Whether committed writes survive the process."""

    epoch: str = ""
    """An id made once per database: event ``seq`` cursors are valid within one epoch."""

    sql_dialect: str = "sqlite"
    """Which SQL the connection given to ``Write.sql`` statements speaks: ``"sqlite"`` (the SQLite
    and memory backends) or ``"postgres"``; modules with tables of their own pick their statements by it."""

    async def __aenter__(self) -> Storage:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @abstractmethod
    async def open(self) -> None:
        """Create what is missing and read (or make) the epoch."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections; the storage cannot be used afterwards."""

    @property
    def health(self) -> StorageHealth:
        """Whether the storage can be used now (see :mod:`.health`); a backend without a database
        server of its own is always available."""
        health: StorageHealth | None = self.__dict__.get("_health")
        if health is None:
            health = self.__dict__["_health"] = StorageHealth(repr(self))
        return health

    async def monitor(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """While the storage is unavailable, probe it and mark it restored once it answers; run
        in a task group. A backend without a database server of its own returns once started."""
        task_status.started()

    async def follow(
        self, notify: Callable[[str | None, int], None], *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Tell ``notify(thread_id, seq)`` when another process stored events of a thread up to
        ``seq``, and ``notify(None, 0)`` when any thread may have some (after a lost wake-up);
        run in a task group. A backend that one process owns has nothing to follow: it returns
        once started."""
        task_status.started()

    # --- leases: one process changes a thread at a time ----------------------------------------

    shared: bool = False
    """Whether several processes may use this storage at once (then a process changes a thread
    only while it holds the thread's lease; see :mod:`streamhil_server.runs.leases`). A storage
    that one process owns holds every lease: the methods below are trivial."""

    lease_owner: str = "local"
    """This process's name in the lease table."""

    lease_ttl: float = 6.0
    """Seconds a lease lasts unless renewed."""

    inbox: CommandInbox | None = None
    """How commands reach the process holding a thread (a shared storage only)."""

    on_lease_lost: Callable[[list[str]], None] | None = None
    """Told of leases this process lost (a write found them taken over, or a renewal did)."""

    def holds(self, thread_id: str) -> bool:
        """Whether this process holds the thread's lease (as far as it knows)."""
        return True

    def held_leases(self) -> list[str]:
        """The threads whose lease this process holds."""
        return []

    async def acquire_lease(self, thread_id: str) -> LeaseGrant:
        """Take the thread's lease if it is free or expired (one statement), or say who holds it.
        A write that changes the thread must then carry its token (the backend checks it)."""
        return LeaseGrant(0)

    async def renew_leases(self) -> list[str]:
        """Extend every lease this process holds; returns the threads whose lease was lost."""
        return []

    async def release_leases(self, thread_ids: Sequence[str]) -> None:
        """Give up these leases (another process may take them at once)."""

    async def announce(self, *, prune: bool = False) -> None:
        """Say that this process is alive for another lease time (each round of its keeper);
        ``prune``: forget processes gone for an hour."""

    async def leave(self) -> None:
        """This process stops: it is no longer listed among the live ones."""

    async def cluster(self) -> dict[str, Any] | None:
        """What operators see of every process on the database (None: one process owns it)."""
        return None

    async def orphaned_threads(self) -> list[str]:
        """Threads with queued or running runs whose lease is free or expired (their process
        died): another process takes them over."""
        return []

    # --- the one way to change anything ------------------------------------------------------

    @abstractmethod
    async def write(self, write: Write) -> None:
        """Commit ``write`` in one transaction (see the module's contract)."""

    # --- named writes ------------------------------------------------------------------------

    async def append_step(self, write: Write) -> None:
        """A superstep's checkpoint (or a task's pending writes), the run's status change and
        the events the step produced. Same as :meth:`write`; named for the reader."""
        await self.write(write)

    async def record_answer(
        self,
        thread_id: str,
        writes: WritesPut | None,
        interrupt_ids: Iterable[str],
        run: RunRecord,
        thread: ThreadRecord | None = None,
    ) -> None:
        """An acknowledged answer: its command writes on the thread's head checkpoint (None when
        it is queued, recorded when its turn comes), the interrupt ids it answers, and the run
        that will deliver it."""
        await self.write(
            Write(
                thread_id=thread_id,
                task_writes=[writes] if writes is not None else [],
                answered=[(thread_id, i) for i in interrupt_ids],
                runs=[run],
                threads=[thread] if thread is not None else [],
            )
        )

    async def append_events(self, rows: Sequence[EventRow]) -> None:
        await self.write(Write(events=list(rows)))

    async def save_thread(self, record: ThreadRecord) -> None:
        await self.write(Write(thread_id=record.thread_id, threads=[record]))

    async def save_run(self, run: RunRecord) -> None:
        await self.write(Write(thread_id=run.thread_id, runs=[run]))

    async def finish_run(self, run: RunRecord, thread: ThreadRecord | None = None, events: Sequence[EventRow] = ()) -> None:
        """A run's end: its record (terminal status), its thread's record and its last events."""
        await self.write(
            Write(thread_id=run.thread_id, runs=[run], threads=[thread] if thread else [], events=list(events))
        )

    async def run_sql(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(connection)`` in the next write's transaction and return its result: for
        modules that keep tables of their own (thread metadata, run records), in the backend's
        :attr:`sql_dialect`. The memory backend gives them an in-memory SQLite database; on
        PostgreSQL their tables are created by the server's migrations."""
        results: list[T] = []
        await self.write(Write(sql=[lambda db: results.append(fn(db))]))
        return results[0]

    # --- checkpoints -------------------------------------------------------------------------

    @abstractmethod
    async def get_checkpoint(self, address: Address) -> Loaded | None:
        """The addressed checkpoint (the lane's latest when it names no id), or None."""

    @abstractmethod
    def list_checkpoints(
        self,
        scope: ListScope,
        *,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Loaded]:
        """Checkpoints in ``scope`` (a thread, a namespace, an id, or any of them), newest first
        (by id, then thread, then namespace), ids below ``before``, metadata matching ``filter``."""

    async def delete_thread(self, thread_id: str) -> None:
        """Forget a thread: checkpoints, writes, events, answers, runs and its record."""
        await self.write(Write(thread_id=thread_id, forget_threads=[thread_id]))

    # --- threads, runs, answers, events ------------------------------------------------------

    @abstractmethod
    async def load_thread(self, thread_id: str) -> ThreadRecord | None:
        """One thread record (with ``head_seq``), or None."""

    @abstractmethod
    async def load_threads(self, thread_ids: Sequence[str]) -> list[ThreadRecord]:
        """The records (with ``head_seq``) of those of ``thread_ids`` that exist, in one read, in
        no particular order (what :meth:`list_threads` gives for them)."""

    @abstractmethod
    async def list_threads(
        self,
        *,
        owner: str | None = None,
        statuses: Sequence[str] | None = None,
        graph: str | None = None,
        exclude: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
    ) -> list[ThreadRecord]:
        """Thread records, most recently updated first, filtered; ``exclude`` drops ids."""

    @abstractmethod
    async def count_threads(self) -> ThreadCounts:
        """How many threads, and how many pending interrupts they list."""

    @abstractmethod
    async def read_events(self, thread_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        """``(seq, frame)`` of the events with ``after < seq <= upto``, in order."""

    @abstractmethod
    async def event_bounds(self, thread_id: str) -> tuple[int, int] | None:
        """``(first_seq, last_seq)`` still stored for the thread, or None if it has none."""

    @abstractmethod
    async def load_runs(
        self, statuses: Sequence[RunStatus] = OPEN_RUN_STATUSES, thread_id: str | None = None
    ) -> list[RunRecord]:
        """Run records in these statuses (of one thread, or all), oldest first."""

    @abstractmethod
    async def answered_among(self, thread_id: str, interrupt_ids: Sequence[str]) -> list[str]:
        """Which of ``interrupt_ids`` an acknowledged answer answered, in the given order."""


def event_rows(rows: Iterable[EventRow]) -> list[tuple[str, int, str | None, str]]:
    """Event rows as plain tuples (for SQL drivers)."""
    return [(r.thread_id, r.seq, r.run_id, r.frame) for r in rows]


def written_threads(write: Write) -> set[str]:
    """The threads a write changes (trimming old events changes nothing a lease protects)."""
    ids: set[str] = {r.thread_id for r in write.events}
    if write.checkpoint is not None:
        ids.add(write.checkpoint.parent.thread_id)
    ids.update(w.address.thread_id for w in write.task_writes)
    ids.update(t.thread_id for t in write.threads)
    ids.update(r.thread_id for r in write.runs)
    ids.update(t for t, _ in write.answered)
    ids.update(write.forget_threads)
    return ids
