"""Records of runs, finished ones included: status, timestamps, and where their events start.

The run manager forgets a run at its terminal event (its ``runs`` table holds only queued and
running ones). HTTP clients ask about runs afterwards (``GET /threads/{t}/runs/{r}``, ``join``),
so this module keeps a record of every run it hears of, fed by the event hub's listener
(``run_started`` and the terminal events, whichever surface started the run), and stores them
in its own table (``run_records``; ``streamhil_run_records`` on PostgreSQL, made by the server's
migrations) from a writer task:

    run_records(run_id, thread_id, status, assistant_id, metadata, multitask_strategy,
                first_seq, created_at, updated_at)

``status`` uses LangGraph's run vocabulary: ``pending``, ``running``, ``success`` (the graph
ended or paused at an interrupt: the *thread* is then ``interrupted``), ``error``, and
``interrupted`` (cancelled by a user).

On a database several processes share, the process that accepted a run (an HTTP surface: the
assistant, metadata) and the one that ran it (the status) both write its row: PostgreSQL merges
them (a status only moves forward, known fields are kept). :meth:`RunRecords.refresh_thread`
reads a thread's rows again before the HTTP surfaces look them up.
"""

from __future__ import annotations

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

_COLUMNS = "run_id, thread_id, status, assistant_id, metadata, multitask_strategy, first_seq, created_at, updated_at"
_RANK = "coalesce(array_position(ARRAY['pending', 'running'], {}), 3)"
_STATEMENTS = {
    "sqlite": {
        "schema": _SCHEMA,
        "all": f"SELECT {_COLUMNS} FROM run_records",
        "thread": f"SELECT {_COLUMNS} FROM run_records WHERE thread_id = ?",
        "save": "INSERT OR REPLACE INTO run_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    },
    "postgres": {  # the table is made by the server's migrations
        "schema": "",
        "all": f"SELECT {_COLUMNS} FROM streamhil_run_records",
        "thread": f"SELECT {_COLUMNS} FROM streamhil_run_records WHERE thread_id = %s",
        "save": f"INSERT INTO streamhil_run_records AS r ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (run_id) DO UPDATE SET"
        f" status = CASE WHEN {_RANK.format('EXCLUDED.status')} >= {_RANK.format('r.status')}"
        " THEN EXCLUDED.status ELSE r.status END,"
        " assistant_id = coalesce(EXCLUDED.assistant_id, r.assistant_id),"
        " metadata = CASE WHEN EXCLUDED.metadata = '\\x7b7d'::bytea THEN r.metadata ELSE EXCLUDED.metadata END,"
        " multitask_strategy = coalesce(EXCLUDED.multitask_strategy, r.multitask_strategy),"
        " first_seq = least(r.first_seq, EXCLUDED.first_seq), created_at = least(r.created_at, EXCLUDED.created_at),"
        " updated_at = greatest(r.updated_at, EXCLUDED.updated_at)",
    },
}

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
        self._sql = _STATEMENTS[store.sql_dialect]

    async def load(self) -> None:
        sql = self._sql

        def read(db: Any) -> list[RunInfo]:
            if sql["schema"]:
                db.execute(sql["schema"])
            return [_info(row) for row in db.execute(sql["all"])]

        for info in await self.store.run_sql(read):
            self.records[info.run_id] = info

    async def refresh_thread(self, thread_id: str) -> None:
        """Read the thread's runs again, as every process wrote them (a no-op on a storage that
        one process owns). What this process knows but has not stored yet is stored first."""
        if not self.store.shared:
            return
        await self._flush()
        statement = self._sql["thread"]
        rows = await self.store.run_sql(lambda db: [_info(row) for row in db.execute(statement, (thread_id,))])
        for stored in rows:
            known = self.records.get(stored.run_id)
            if known is not None:
                stored.error = known.error  # not stored: only the process that ran it knows it
                if known.run_id in self._dirty:
                    continue
            self.records[stored.run_id] = stored

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
        if not self.store.durable:
            return  # nothing outlives the process: the records above are all there is
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
        statement = self._sql["save"]
        try:
            await self.store.run_sql(lambda db: db.cursor().executemany(statement, rows))
        except RuntimeError:  # the store closed first (shutdown): the records are lost with the process
            pass


def _info(row: Any) -> RunInfo:
    r, t, s, a, m, ms, f, c, u = row
    return RunInfo(r, t, s, a, orjson.loads(bytes(m)), ms, int(f), c, u)
