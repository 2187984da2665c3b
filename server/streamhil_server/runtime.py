"""The server's long-lived parts and their lifetime: storage, checkpointer, event hub, run manager
(plus thread metadata and run records, which the HTTP surfaces need).

``async with Runtime(...)`` opens the storage (SQLite file or memory), gives every graph the
:class:`~.storage.saver.StorageSaver` over it (unless a checkpointer was given), starts the hub
and the run manager (which resumes runs a previous process left unfinished) in one task group,
and on exit cancels them and closes everything. A Starlette lifespan owns it (see :mod:`.app`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from collections.abc import Collection
from typing import Any, Protocol

import anyio
from starlette.requests import HTTPConnection
from streamhil.checkpoint.base import BaseCheckpointSaver
from streamhil.protocol import Counters

from .activity import ActivityByOwner
from .auth import Authenticator, origin_allowed
from .hub import EventHub, HubStatistics
from .limits import FailedAttempts, RunShares
from .notices import ThreadNotifier
from .registry import GraphRegistry
from .run_records import RunRecords
from .runs import RunManager
from .threads import RunStatistics
from .settings import ServerSettings
from .storage import StorageSaver, storage_for
from .thread_metadata import ThreadMetadata

__all__ = ["Runtime", "ServerStatistics", "ServedConnection"]


class ServedConnection(Protocol):
    """What the runtime needs of an open connection (``connection.Connection``)."""

    async def drain(self) -> None:
        """Answer what was accepted, refuse the rest with ``shutting_down``, close with 4000."""


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    """Everything the metrics endpoint reports."""

    connections: int
    slow_consumers_closed: int
    runs: RunStatistics
    events: HubStatistics
    graphs: int
    epoch: str
    leases: dict[str, Any] | None = None
    """Several processes on one database: this process's leases, takeovers and forwarded commands."""
    cluster: dict[str, Any] | None = None
    """Several processes on one database: every process, as the database sees them (the same on
    every process; see :func:`~.storage.postgres_coordination.cluster`)."""
    storage_available: bool = True
    """Whether the storage's database can be reached now (see :mod:`.storage.health`)."""
    storage_outages: int = 0
    """Times this process found its storage unavailable."""

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.leases is None else {"leases": self.leases}
        if self.cluster is not None:
            extra["cluster"] = self.cluster
        return {
            "connections": self.connections,
            "slow_consumers_closed": self.slow_consumers_closed,
            "threads": self.runs.threads,
            "runs": {
                "active": self.runs.active_runs,
                "queued": self.runs.queued_runs,
                "started": self.runs.runs_started,
                "finished": self.runs.runs_finished,
            },
            "interrupts_pending": self.runs.interrupts_pending,
            "events": {
                "total": self.events.events_total,
                "per_second": self.events.events_per_second,
                "unwritten": self.events.unwritten,
                "watchers": self.events.watchers,
            },
            "graphs": self.graphs,
            "epoch": self.epoch,
            "storage": {"available": self.storage_available, "outages": self.storage_outages},
        } | extra


class Runtime:
    """All server state; use as ``async with runtime:``."""

    def __init__(
        self,
        registry: GraphRegistry,
        *,
        db: str | None = None,
        checkpointer: BaseCheckpointSaver | None = None,
        settings: ServerSettings | None = None,
        auth: Authenticator | None = None,
    ) -> None:
        self.registry = registry
        self.db = db
        self.settings = settings or ServerSettings()
        self.auth = auth or Authenticator()
        self.storage = storage_for(db, lease_ttl=self.settings.lease_ttl)
        self.store = self.storage  # its epoch is the event logs'
        self.hub = EventHub(
            self.storage,
            ring_size=self.settings.ring_size,
            max_events_per_thread=self.settings.max_events_per_thread,
            deliver_chunk=max(1, self.settings.max_send_queue // 2),
            flush_delay=self.settings.event_flush_delay if self.storage.durable else 0.0,
        )
        self.thread_metadata = ThreadMetadata(self.store)
        self.runs = RunManager(
            registry, self.storage, self.hub,
            shares=RunShares(self.settings.max_runs_per_identity, self.settings.max_concurrent_runs_per_identity),
            fair_share=not self.auth.open,  # on an open server everyone is one identity
            max_idle_threads=self.settings.max_idle_threads,
            one_transaction=checkpointer is None,
            reserved_by=self._reserved_by,
        )
        self.failed_auth = FailedAttempts(self.settings.auth_failures_burst, self.settings.auth_failures_per_minute)
        # on a server with tokens each identity's counters are its own (docs/protocol.md 4.5)
        self.activity = None if self.auth.open else ActivityByOwner(self._owner_in_memory)
        if self.activity is not None:
            self.hub.add_listener(self.activity.on_event)
        self.notifier = ThreadNotifier(
            self.runs, self.counters, counters_of=None if self.activity is None else self.counters_of
        )
        self.hub.taps.append(self.notifier.on_event)
        self.run_records = RunRecords(self.store, self.hub)
        self.runs.dropped_from_queue.append(self.run_records.dropped_from_queue)
        self.checkpointer: BaseCheckpointSaver | None = checkpointer
        self.connections: dict[str, ServedConnection] = {}
        self.slow_consumers = 0
        self.draining = False
        self._stack: contextlib.AsyncExitStack | None = None
        self.start_error: BaseException | None = None
        """Why ``async with runtime`` failed to start, if it did (e.g. :class:`StorageLockedError`)."""

    async def __aenter__(self) -> Runtime:
        try:
            return await self._start()
        except BaseException as exc:
            self.start_error = exc
            raise

    async def _start(self) -> Runtime:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.storage)
            if self.checkpointer is None:
                self.checkpointer = StorageSaver(
                    self.storage, take_write=self.hub.take, stage_write=self.runs.hold_for_run_end,
                    head_cache_size=self.settings.head_cache_size,
                )
            if isinstance(self.checkpointer, StorageSaver):
                self.runs.invalidate.append(self.checkpointer.forget)
            self.storage.on_lease_lost = self.runs.on_lease_lost
            self.registry.bind(self.checkpointer)
            await self.thread_metadata.load()
            await self.run_records.load()
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)  # runs first on exit: stop the workers
            await tg.start(self.storage.monitor)  # probes the database while it is unavailable
            await tg.start(self.hub.run)
            await tg.start(self.storage.follow, self._note_remote)  # other processes' events
            await tg.start(self.run_records.run)
            await tg.start(self.runs.run)
            await tg.start(self.notifier.run)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _note_remote(self, thread_id: str | None, seq: int) -> None:
        """Another process stored events of ``thread_id`` (None: maybe of any thread): the hub
        reads them for its watchers, the notifier tells ``watch_threads`` watchers. Never blocks."""
        self.hub.note_remote(thread_id, seq)
        self.notifier.note_remote(thread_id, seq)

    async def drain(self, timeout: float = 10.0) -> None:
        """Graceful stop, before the sockets are closed: every connection answers the commands it
        accepted (new ones get ``shutting_down``), then sends ``shutting_down`` and closes with
        4000. Gives up after ``timeout`` seconds."""
        self.draining = True
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:
                for conn in list(self.connections.values()):
                    tg.start_soon(conn.drain)

    async def refresh_thread(self, thread_id: str) -> None:
        """Before an HTTP surface looks a thread up: have its run records in memory (read on
        demand), and on a database several processes share read its metadata and run records
        again (another process may have written them)."""
        if self.storage.shared:
            await self.thread_metadata.refresh(thread_id)
        await self.run_records.refresh_thread(thread_id)

    async def _reserved_by(self, thread_id: str) -> str | None:
        """The identity that made ``thread_id`` before its first run (``POST /threads``), if any:
        the run manager refuses it to everyone else (read again on a shared database)."""
        record = await self.thread_metadata.refresh(thread_id)
        return None if record is None else record.owner

    def origin_allowed(self, conn: HTTPConnection) -> bool:
        return origin_allowed(conn, self.settings.allowed_origins)

    def statistics(self) -> ServerStatistics:
        return ServerStatistics(
            connections=len(self.connections),
            slow_consumers_closed=self.slow_consumers,
            runs=self.runs.statistics(),
            events=self.hub.statistics(),
            graphs=len(self.registry),
            epoch=self.store.epoch,
            leases=self._lease_statistics() if self.storage.shared else None,
            storage_available=self.storage.health.available,
            storage_outages=self.storage.health.outages,
        )

    async def cluster_statistics(self) -> dict[str, Any] | None:
        """Every process on the database, read from it (None: this process owns its storage)."""
        return await self.storage.cluster()

    def _lease_statistics(self) -> dict[str, Any]:
        forwarder = self.runs.forwarder
        return {
            "owner": self.storage.lease_owner,
            "held": len(self.storage.held_leases()),
            "takeovers": self.runs.takeovers,
            "forwarded": forwarder.sent if forwarder is not None else 0,
            "served": forwarder.served if forwarder is not None else 0,
        }

    def _owner_in_memory(self, thread_id: str) -> str | None:
        thread = self.runs.threads.peek(thread_id)
        return None if thread is None else thread.record.owner

    def counters_of(self, identities: Collection[str]) -> dict[str, Counters]:
        """Each identity's own counters: its connections, the runs of its threads, its events."""
        assert self.activity is not None, "per-identity counters are kept on a server with tokens"
        wanted = set(identities)
        figures = {identity: [0, 0, 0] for identity in wanted}  # connections, active, queued
        for conn in self.connections.values():
            mine = figures.get(getattr(conn, "identity", None) or "")
            if mine is not None:
                mine[0] += 1
        for thread in self.runs.threads:
            mine = figures.get(thread.record.owner)
            if mine is not None:
                mine[1] += thread.active is not None
                mine[2] += len(thread.queue)
        out = {}
        for identity, (connections, active, queued) in figures.items():
            activity = self.activity.of(identity)
            out[identity] = Counters(
                connections=connections,
                runs_active=active,
                runs_queued=queued,
                runs_started=activity.runs_started,
                runs_finished=activity.runs_finished,
                events_total=activity.events_total,
                events_per_second=self.activity.events_per_second(identity),
            )
        return out

    def counters(self) -> Counters:
        """The server-wide figures a ``counters`` notice carries on a server without tokens (a
        subset of :meth:`statistics`)."""
        runs, events = self.runs.statistics(), self.hub.statistics()
        return Counters(
            connections=len(self.connections),
            runs_active=runs.active_runs,
            runs_queued=runs.queued_runs,
            runs_started=runs.runs_started,
            runs_finished=runs.runs_finished,
            events_total=events.events_total,
            events_per_second=events.events_per_second,
        )
