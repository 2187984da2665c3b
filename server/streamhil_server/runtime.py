"""The server's long-lived parts and their lifetime: store, checkpointer, event hub, run manager
(plus thread metadata and run records, which the HTTP surfaces need).

``async with Runtime(...)`` opens the store and the checkpointer, starts the hub's writer and the
run manager (which resumes runs a previous process left unfinished) in one task group, and on
exit cancels them and closes everything. A Starlette lifespan owns it (see :mod:`.app`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import HTTPConnection
from streamhil.checkpoint.base import BaseCheckpointSaver
from streamhil.checkpoint.memory import InMemorySaver
from streamhil.protocol import Counters

from .auth import Authenticator, origin_allowed
from .hub import EventHub, HubStatistics
from .limits import FailedAttempts, RunShares
from .notices import ThreadNotifier
from .registry import GraphRegistry
from .run_records import RunRecords
from .runs import RunManager
from .threads import RunStatistics
from .settings import ServerSettings
from .store import Store
from .thread_metadata import ThreadMetadata

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Runtime", "ServerStatistics"]


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    """Everything the metrics endpoint reports."""

    connections: int
    slow_consumers_closed: int
    runs: RunStatistics
    events: HubStatistics
    graphs: int
    epoch: str

    def to_json(self) -> dict[str, Any]:
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
        }


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
        self.store = Store(db)
        self.hub = EventHub(
            self.store,
            ring_size=self.settings.ring_size,
            max_events_per_thread=self.settings.max_events_per_thread,
            deliver_chunk=max(1, self.settings.max_send_queue // 2),
        )
        self.runs = RunManager(
            registry, self.store, self.hub,
            shares=RunShares(self.settings.max_runs_per_identity, self.settings.max_concurrent_runs_per_identity),
            fair_share=not self.auth.open,  # on an open server everyone is one identity
        )
        self.failed_auth = FailedAttempts(self.settings.auth_failures_burst, self.settings.auth_failures_per_minute)
        self.notifier = ThreadNotifier(self.runs, self.counters)
        self.hub.taps.append(self.notifier.on_event)
        self.thread_metadata = ThreadMetadata(self.store)
        self.run_records = RunRecords(self.store, self.hub)
        self.checkpointer: BaseCheckpointSaver | None = checkpointer
        self.connections: dict[str, Connection] = {}
        self.slow_consumers = 0
        self._stack: contextlib.AsyncExitStack | None = None

    async def __aenter__(self) -> Runtime:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.store)
            if self.checkpointer is None:
                self.checkpointer = await stack.enter_async_context(_open_saver(self.db))
            self.registry.bind(self.checkpointer)
            await self.hub.load()
            await self.thread_metadata.load()
            await self.run_records.load()
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)  # runs first on exit: stop the workers
            await tg.start(self.hub.run)
            await tg.start(self.run_records.run)
            await tg.start(self.runs.run)
            await tg.start(self.notifier.run)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

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
        )


    def counters(self) -> Counters:
        """The figures a ``counters`` notice carries (a subset of :meth:`statistics`)."""
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


@contextlib.asynccontextmanager
async def _open_saver(db: str | None) -> Any:
    """SQLite checkpoints in ``db`` beside the server's tables, or in memory without a file."""
    if db is None:
        yield InMemorySaver()
        return
    try:
        from streamhil.checkpoint.sqlite import SqliteSaver
    except ImportError as exc:  # pragma: no cover - depends on the installed streamhil
        raise RuntimeError(f"a --db needs streamhil.checkpoint.sqlite, which failed to import: {exc}") from exc
    async with SqliteSaver.from_path(db) as saver:
        yield saver
