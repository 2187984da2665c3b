"""Records of runs, finished ones included: status, timestamps, and where their events start.

The run manager forgets a run at its terminal event (its ``runs`` table holds only queued and
running ones). HTTP clients ask about runs afterwards (``GET /threads/{t}/runs/{r}``, ``join``),
so this module keeps a record of every run it hears of, fed by the event hub's listener
(``run_started`` and the terminal events, whichever surface started the run), and stores them
in its own table (``run_records``) from a writer task:

    run_records(run_id, thread_id, status, assistant_id, metadata, multitask_strategy,
                first_seq, created_at, updated_at)

``status`` uses LangGraph's run vocabulary: ``pending``, ``running``, ``success`` (the graph
ended or paused at an interrupt: the *thread* is then ``interrupted``), ``error``, and
``interrupted`` (cancelled by a user).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import orjson
from anyio.abc import TaskStatus

from streamhil.protocol import EventKind
from .hub import EventHub, HubEvent
from .storage.base import Storage
from .storage.records import now_iso

__all__ = ["RunRecords", "RunInfo", "TERMINAL_STATUS"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_records (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    status TEXT NOT NULL,
    assistant_id TEXT,
    metadata BLOB NOT NULL,
    multitask_strategy TEXT,
    first_seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""

TERMINAL_STATUS: dict[str, str] = {
    EventKind.RUN_DONE: "success",
    EventKind.RUN_INTERRUPTED: "success",
    EventKind.RUN_ERROR: "error",
    EventKind.RUN_CANCELLED: "interrupted",
}
"""The hub's terminal events and the run status each leaves."""
_LIFECYCLE = frozenset({EventKind.RUN_STARTED, *TERMINAL_STATUS})


@dataclass(slots=True)
class RunInfo:
    """What is known about one run."""

    run_id: str
    thread_id: str
    status: str = "pending"
    assistant_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str | None = None
    first_seq: int = 0
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    error: Any = None

    @property
    def finished(self) -> bool:
        return self.status not in ("pending", "running")


class RunRecords:
    """Every run's record; :meth:`load` at startup, then keep :meth:`run` running."""

    def __init__(self, store: Storage, hub: EventHub) -> None:
        self.store = store
        self.records: dict[str, RunInfo] = {}
        self._dirty: dict[str, RunInfo] = {}
        self._wake = anyio.Event()
        self._remove = hub.add_listener(self._heard)

    async def load(self) -> None:
        def read(db: sqlite3.Connection) -> list[RunInfo]:
            db.execute(_SCHEMA)
            cur = db.execute(
                "SELECT run_id, thread_id, status, assistant_id, metadata, multitask_strategy, first_seq,"
                " created_at, updated_at FROM run_records"
            )
            return [RunInfo(r, t, s, a, orjson.loads(m), ms, f, c, u) for r, t, s, a, m, ms, f, c, u in cur]

        for info in await self.store.run_sql(read):
            self.records[info.run_id] = info

    def get(self, run_id: str) -> RunInfo | None:
        return self.records.get(run_id)

    def of_thread(self, thread_id: str) -> list[RunInfo]:
        """The thread's runs, newest first."""
        runs = [r for r in self.records.values() if r.thread_id == thread_id]
        runs.sort(key=lambda r: (r.created_at, r.first_seq), reverse=True)
        return runs

    def accepted(
        self, run_id: str, thread_id: str, first_seq: int, *, assistant_id: str | None,
        metadata: dict[str, Any] | None, multitask_strategy: str | None,
    ) -> RunInfo:
        """Note a run accepted by an HTTP surface (called before it can emit any event)."""
        info = self.records.get(run_id)
        if info is None:
            info = self.records[run_id] = RunInfo(run_id, thread_id, first_seq=first_seq)
        info.assistant_id = assistant_id
        info.metadata = dict(metadata or {})
        info.multitask_strategy = multitask_strategy
        self._mark(info)
        return info

    def _heard(self, event: HubEvent) -> None:
        if event.run_id is None or event.event not in _LIFECYCLE:
            return
        info = self.records.get(event.run_id)
        if info is None:
            info = self.records[event.run_id] = RunInfo(event.run_id, event.thread_id, first_seq=event.seq - 1)
        if event.event == EventKind.RUN_STARTED:
            info.status = "running"
        else:
            info.status = TERMINAL_STATUS[event.event]
            if event.event == EventKind.RUN_ERROR and isinstance(event.data, dict):
                info.error = event.data.get("error")
        info.updated_at = now_iso()
        self._mark(info)

    def _mark(self, info: RunInfo) -> None:
        self._dirty[info.run_id] = info
        self._wake.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer: store changed records, in batches, until cancelled (then once more)."""
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                await self._flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush()
            self._remove()

    async def _flush(self) -> None:
        if not self._dirty:
            return
        batch = [replace(info) for info in self._dirty.values()]
        self._dirty = {}
        rows = [
            (i.run_id, i.thread_id, i.status, i.assistant_id, orjson.dumps(i.metadata), i.multitask_strategy,
             i.first_seq, i.created_at, i.updated_at)
            for i in batch
        ]
        try:
            await self.store.run_sql(
                lambda db: db.executemany("INSERT OR REPLACE INTO run_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            )
        except RuntimeError:  # the store closed first (shutdown): the records are lost with the process
            pass
