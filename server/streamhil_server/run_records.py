"""Records of runs, finished ones included: status, timestamps, and where their events start.

The run manager forgets a run at its terminal event (its ``runs`` table holds only queued and
running ones). HTTP clients ask about runs afterwards (``GET /threads/{t}/runs/{r}``, ``join``),
so this module keeps a record of every run it hears of, fed by the event hub's listener
(``run_started`` and the terminal events, whichever surface started the run), and stores them
in its own table (``run_records``; ``streamhil_run_records`` on PostgreSQL, made by the server's
migrations) from a writer task:

    run_records(run_id, thread_id, status, assistant_id, metadata, multitask_strategy,
                first_seq, created_at, updated_at, stream, retry_of)

``status`` uses LangGraph's run vocabulary: ``pending``, ``running``, ``success`` (the graph
ended or paused at an interrupt: the *thread* is then ``interrupted``), ``error``, and
``interrupted`` (cancelled by a user).

A run a restart cuts short is continued by the run manager in a new run (another ``run_id``;
:mod:`.runs.recovery`). A LangGraph client knows only the first id, and LangGraph's server retries
a run under its id, so here the first run's record stays the run: it stays ``running`` through the
cut and takes the status of its continuations, each of which has a row of its own naming it
(``retry_of``; :meth:`RunRecords.attempts` lists them, for following the run's events). Those rows
are not listed as runs, and looking one up finds the first run's record.

A run's row may be written by a process that does not know all of it: on a database several
processes share, the process that accepted a run (an HTTP surface: the assistant, metadata) and
the one that ran it (the status); after a restart, the process that heard a run's events before
it read the run's row. Every write merges with the stored row (a status only moves forward, known
fields are kept), on SQLite as on PostgreSQL. :meth:`RunRecords.refresh_thread` reads a thread's
rows before the HTTP surfaces look them up (again every time when several processes share them).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import orjson
from anyio.abc import TaskStatus

from streamhil.protocol import EventKind
from .hub import EventHub, HubEvent
from .storage.base import Storage, StorageClosedError
from .storage.health import unavailable_cause
from .storage.records import Write, now_iso

logger = logging.getLogger("streamhil_server.run_records")

_ATTEMPTS = 16
"""Refusals in a row (waits of 0.1 s growing to 5 s: about a minute) before a batch is dropped."""

_FORGET_VISITS = 8
"""Threads one :meth:`RunRecords._forget_unused` looks at, at most (each new thread adds one)."""

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
    updated_at TEXT NOT NULL,
    stream TEXT,
    retry_of TEXT
)
"""
_ADDED = (("stream", "TEXT"), ("retry_of", "TEXT"))
"""Columns added after the table first shipped: added to an older SQLite file when it is opened."""

_COLUMNS = (
    "run_id, thread_id, status, assistant_id, metadata, multitask_strategy, first_seq, created_at, updated_at, stream, retry_of"
)
_RANKS = {
    "sqlite": "CASE {} WHEN 'pending' THEN 1 WHEN 'running' THEN 2 ELSE 3 END",
    "postgres": "coalesce(array_position(ARRAY['pending', 'running'], {}), 3)",
}


def _merging_save(dialect: str) -> str:
    """Insert a record, or merge it into the stored row: a status only moves forward, fields the
    writer does not know (None, empty metadata) keep the stored value, the earliest
    ``first_seq``/``created_at`` and the latest ``updated_at`` win."""
    sqlite = dialect == "sqlite"
    table, new = ("run_records", "excluded") if sqlite else ("streamhil_run_records", "EXCLUDED")
    least, greatest = ("min", "max") if sqlite else ("least", "greatest")
    empty = "X'7b7d'" if sqlite else "'\\x7b7d'::bytea"  # b"{}"
    rank = _RANKS[dialect]
    marks = ", ".join(["?" if sqlite else "%s"] * len(_COLUMNS.split(",")))
    return (
        f"INSERT INTO {table} AS r ({_COLUMNS}) VALUES ({marks}) ON CONFLICT (run_id) DO UPDATE SET"
        f" status = CASE WHEN {rank.format(f'{new}.status')} >= {rank.format('r.status')}"
        f" THEN {new}.status ELSE r.status END,"
        f" assistant_id = coalesce({new}.assistant_id, r.assistant_id),"
        f" metadata = CASE WHEN {new}.metadata = {empty} THEN r.metadata ELSE {new}.metadata END,"
        f" multitask_strategy = coalesce({new}.multitask_strategy, r.multitask_strategy),"
        f" first_seq = {least}(r.first_seq, {new}.first_seq), created_at = {least}(r.created_at, {new}.created_at),"
        f" updated_at = {greatest}(r.updated_at, {new}.updated_at), stream = coalesce({new}.stream, r.stream),"
        f" retry_of = coalesce({new}.retry_of, r.retry_of)"
    )


_STATEMENTS = {
    "sqlite": {
        "schema": _SCHEMA,
        "index": "CREATE INDEX IF NOT EXISTS run_records_by_thread ON run_records (thread_id)",
        "thread": f"SELECT {_COLUMNS} FROM run_records WHERE thread_id = ?",
        "one": f"SELECT {_COLUMNS} FROM run_records WHERE run_id = ?",
        "save": _merging_save("sqlite"),
    },
    "postgres": {  # the table (and its index by thread) is made by the server's migrations
        "schema": "",
        "index": "",
        "thread": f"SELECT {_COLUMNS} FROM streamhil_run_records WHERE thread_id = %s",
        "one": f"SELECT {_COLUMNS} FROM streamhil_run_records WHERE run_id = %s",
        "save": _merging_save("postgres"),
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
    stream_modes: tuple[str, ...] | None = None
    """The ``stream_mode`` the run was started with over the HTTP API (None: started elsewhere)."""
    stream_subgraphs: bool = False
    retry_of: str | None = None
    """Set on a continuation after a restart: the run it continues (the first of the chain)."""
    error: Any = None
    partial: bool = False
    """Made from an event before the run's stored row was read: its other fields are in the row."""

    @property
    def finished(self) -> bool:
        return self.status not in ("pending", "running")

    def absorb(self, stored: RunInfo) -> None:
        """Take what only the stored row knows (a :attr:`partial` record), as the table's merge
        does: the further status, the known fields, the earliest start."""
        if _RANK.get(stored.status, 3) > _RANK.get(self.status, 3):
            self.status = stored.status
        self.assistant_id = self.assistant_id or stored.assistant_id
        self.metadata = self.metadata or stored.metadata
        self.multitask_strategy = self.multitask_strategy or stored.multitask_strategy
        self.first_seq = min(self.first_seq, stored.first_seq)
        self.created_at = min(self.created_at, stored.created_at)
        self.updated_at = max(self.updated_at, stored.updated_at)
        if self.stream_modes is None:
            self.stream_modes, self.stream_subgraphs = stored.stream_modes, stored.stream_subgraphs
        self.retry_of = self.retry_of or stored.retry_of
        self.partial = False


_RANK = {"pending": 1, "running": 2}
"""A status's rank (3 for a terminal one): a record's status only moves forward."""


class RunRecords:
    """Run records; :meth:`load` at startup, then keep :meth:`run` running.

    On durable storage only recent records are in memory: those of at most ``max_threads``
    recently used threads (least recently used forgotten first), and of each at most its
    ``max_runs_per_thread`` newest runs; never one of a run still going or with a change not
    yet stored. A thread's are read from the table by :meth:`refresh_thread`, which every HTTP
    surface calls before it looks a thread up; older runs by :meth:`find` and
    :meth:`all_of_thread`. A server answering for weeks so keeps a bounded number of records,
    not one per run it ever ran (it was about 0.5 KB per round trip). On storage that does not
    outlive the process (memory) every record stays: there is nowhere else to read it from.
    """

    def __init__(self, store: Storage, hub: EventHub, *, max_threads: int = 1000, max_runs_per_thread: int = 100) -> None:
        if max_threads < 1 or max_runs_per_thread < 1:
            raise ValueError("max_threads and max_runs_per_thread must be at least 1")
        self.store = store
        self.max_threads = max_threads
        self.max_runs_per_thread = max_runs_per_thread
        self._trimmed: set[str] = set()  # threads with older runs in the table only
        self.records: dict[str, RunInfo] = {}
        self._by_thread: dict[str, dict[str, RunInfo]] = {}
        self._used: OrderedDict[str, None] = OrderedDict()  # threads, least recently used first
        self._loaded: set[str] = set()  # threads whose stored records were read
        self._dirty: dict[str, RunInfo] = {}
        self._riding: dict[str, int] = {}  # run id: its changes staged with a thread write, not stored yet
        self._dropped: set[str] = set()  # runs cancelled while queued whose events have not come yet
        self._drop_watchers: dict[str, list[Callable[[], None]]] = {}
        self._wake = anyio.Event()
        self._hub = hub
        self._remove = hub.add_listener(self._heard)
        self._sql = _STATEMENTS[store.sql_dialect]

    async def load(self) -> None:
        """Make the table if it is missing (records are read per thread, on demand)."""
        sql = self._sql

        def prepare(db: Any) -> None:
            for statement in (sql["schema"], sql["index"]):
                if statement:
                    db.execute(statement)
            if sql["schema"]:  # SQLite: a file made by an older server lacks the newer columns
                have = {row[1] for row in db.execute("PRAGMA table_info(run_records)")}
                for name, decl in _ADDED:
                    if name not in have:
                        db.execute(f"ALTER TABLE run_records ADD COLUMN {name} {decl}")

        await self.store.run_sql(prepare)

    async def refresh_thread(self, thread_id: str) -> None:
        """Have the thread's records in memory: read from the table the first time, and every
        time on a database several processes share (another process may have written them;
        what this process knows but has not stored yet is stored first)."""
        if not self.store.durable:
            return
        if thread_id in self._loaded and not self.store.shared:
            self._touch(thread_id)
            return
        if self.store.shared:
            await self._flush()
        statement = self._sql["thread"]
        rows = await self.store.run_sql(lambda db: [_info(row) for row in db.execute(statement, (thread_id,))])
        for stored in rows:
            known = self.records.get(stored.run_id)
            if known is not None:
                if known.partial:  # heard of before its row was read (after a restart, a takeover)
                    known.absorb(stored)
                if not self.store.shared:
                    continue  # this process's record is the newer one
                stored.error = known.error  # not stored: only the process that ran it knows it
                if known.run_id in self._dirty or known.run_id in self._riding:
                    continue
            self._keep(stored)
        self._loaded.add(thread_id)
        self._touch(thread_id)
        self._trim(thread_id)
        self._forget_unused()

    def get(self, run_id: str) -> RunInfo | None:
        """A run's record if it is in memory (see :meth:`find`)."""
        return self.records.get(run_id)

    async def find(self, thread_id: str, run_id: str) -> RunInfo | None:
        """A run of the thread: from memory, else (durable storage) from the table. A
        continuation after a restart is found as the run it continues."""
        info = await self._find(thread_id, run_id)
        if info is not None and info.retry_of is not None:
            return await self._find(thread_id, info.retry_of)
        return info

    async def _find(self, thread_id: str, run_id: str) -> RunInfo | None:
        info = self.records.get(run_id)
        if info is None and self.store.durable:
            statement = self._sql["one"]
            rows = await self.store.run_sql(lambda db: [_info(row) for row in db.execute(statement, (run_id,))])
            info = rows[0] if rows else None
        return info if info is not None and info.thread_id == thread_id else None

    async def all_of_thread(self, thread_id: str) -> list[RunInfo]:
        """Every run of the thread, newest first: older ones than memory keeps are read from
        the table."""
        return [r for r in await self._rows_of_thread(thread_id) if r.retry_of is None]

    async def attempts(self, info: RunInfo) -> list[str]:
        """The ids a run has had, oldest first: its own, then those of the continuations that
        carried it on after restarts (each run's events are under its own id)."""
        rows = await self._rows_of_thread(info.thread_id)
        later = sorted((r for r in rows if r.retry_of == info.run_id), key=lambda r: r.first_seq)
        return [info.run_id, *(r.run_id for r in later)]

    async def _rows_of_thread(self, thread_id: str) -> list[RunInfo]:
        """Every record of the thread, continuations included, newest first."""
        if thread_id not in self._trimmed:
            return self._sorted(self._by_thread.get(thread_id, {}).values())
        statement = self._sql["thread"]
        rows = await self.store.run_sql(lambda db: [_info(row) for row in db.execute(statement, (thread_id,))])
        merged = {r.run_id: r for r in rows}
        merged.update(self._by_thread.get(thread_id, {}))  # what this process holds is newer
        return self._sorted(merged.values())

    def of_thread(self, thread_id: str) -> list[RunInfo]:
        """The thread's runs in memory (its newest), newest first."""
        return self._sorted(r for r in self._by_thread.get(thread_id, {}).values() if r.retry_of is None)

    @staticmethod
    def _sorted(runs: Iterable[RunInfo]) -> list[RunInfo]:
        return sorted(runs, key=lambda r: (r.created_at, r.first_seq), reverse=True)

    def _keep(self, info: RunInfo) -> None:
        self.records[info.run_id] = info
        self._by_thread.setdefault(info.thread_id, {})[info.run_id] = info

    def _touch(self, thread_id: str) -> None:
        self._used[thread_id] = None
        self._used.move_to_end(thread_id)

    def _trim(self, thread_id: str) -> None:
        """Forget a thread's oldest stored, finished runs beyond ``max_runs_per_thread``."""
        runs = self._by_thread.get(thread_id)
        if runs is None or len(runs) <= self.max_runs_per_thread:
            return
        oldest_first = sorted(runs.values(), key=lambda r: (r.created_at, r.first_seq))
        for info in oldest_first[: len(runs) - self.max_runs_per_thread]:
            if info.finished and info.run_id not in self._dirty and info.run_id not in self._riding:
                del runs[info.run_id]
                del self.records[info.run_id]
                self._trimmed.add(thread_id)

    def _forget_unused(self, visits: int = _FORGET_VISITS) -> None:
        """Forget the least recently used threads' records beyond ``max_threads`` (durable
        storage only). A thread with a run going or a change not stored yet is kept: it moves to
        the most recently used end (it is in use), so that a call looks at no more than
        ``visits`` threads however many are busy."""
        if not self.store.durable:
            return
        used = self._used
        for _ in range(min(visits, len(used))):
            if len(used) <= self.max_threads:
                return
            thread_id = next(iter(used))  # the least recently used
            runs = self._by_thread.get(thread_id, {})
            if any(not r.finished or r.run_id in self._dirty or r.run_id in self._riding for r in runs.values()):
                used.move_to_end(thread_id)  # busy: kept for now
                continue
            del used[thread_id]
            self._loaded.discard(thread_id)
            self._trimmed.discard(thread_id)  # read again (and trimmed again) when next asked for
            for run_id in self._by_thread.pop(thread_id, {}):
                del self.records[run_id]

    def accepted(
        self, run_id: str, thread_id: str, first_seq: int, *, assistant_id: str | None,
        metadata: dict[str, Any] | None, multitask_strategy: str | None,
        stream_modes: tuple[str, ...] | None = None, stream_subgraphs: bool = False,
    ) -> RunInfo:
        """Note a run accepted by an HTTP surface (called before it can emit any event), with
        the stream modes it was started with (what a rejoin sends)."""
        info = self.records.get(run_id)
        if info is None:
            info = RunInfo(run_id, thread_id, first_seq=first_seq)
            self._keep(info)
        self._touch(thread_id)
        info.assistant_id = assistant_id
        info.metadata = dict(metadata or {})
        info.multitask_strategy = multitask_strategy
        if stream_modes is not None:
            info.stream_modes = tuple(stream_modes)
            info.stream_subgraphs = stream_subgraphs
        self._mark(info)
        return info

    def dropped_from_queue(self, write: Write, run_id: str) -> None:
        """``write`` cancels the queued run ``run_id``: from its commit on the run is
        ``interrupted``, as LangGraph's server reports a cancelled pending run at once, although
        its ``run_started`` and ``run_cancelled`` come only when its turn would have come (runs
        of a thread never interleave). The record is stored in that write."""
        thread_id = write.thread_id
        assert thread_id is not None
        known = self.records.get(run_id)
        info = replace(known) if known is not None else RunInfo(run_id, thread_id, first_seq=self._hub.head(thread_id))
        info.status, info.updated_at = "interrupted", now_iso()
        if self.store.durable:
            statement, row = self._sql["save"], _row(info)
            write.sql.append(lambda db: db.cursor().execute(statement, row))

        def committed() -> None:
            current = self.records.get(run_id)
            if current is None:
                current = info
                self._keep(current)
            current.status, current.updated_at = info.status, info.updated_at
            self._dropped.add(run_id)
            self._touch(thread_id)
            self._mark(current)  # again by the writer: a batch it took before this commit must not undo it
            for watcher in self._drop_watchers.pop(run_id, []):
                watcher()

        write.after_commit.append(committed)

    def on_drop(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the run is cancelled while queued (now, if it was); returns
        the function that stops watching."""
        if run_id in self._dropped:
            callback()
            return lambda: None
        watchers = self._drop_watchers.setdefault(run_id, [])
        watchers.append(callback)

        def stop() -> None:
            if callback in watchers:
                watchers.remove(callback)
            if not watchers and self._drop_watchers.get(run_id) is watchers:
                del self._drop_watchers[run_id]

        return stop

    def _heard(self, event: HubEvent) -> None:
        if event.run_id is None or event.event not in _LIFECYCLE:
            return
        if event.run_id in self._dropped:  # cancelled while queued: it ended then
            if event.event != EventKind.RUN_STARTED:
                self._dropped.discard(event.run_id)
            return
        data = event.data if isinstance(event.data, dict) else {}
        info = self._heard_of(event.run_id, event)
        self._touch(event.thread_id)
        if event.event == EventKind.RUN_STARTED and isinstance(data.get("retry_of"), str):
            info.retry_of = data["retry_of"]  # a continuation after a restart: its run goes on
        changed = [info]
        if event.event == EventKind.RUN_CANCELLED and data.get("continued_by"):
            if info.retry_of is None:
                return  # cut by a restart and continued: the run its client follows goes on
        elif info.retry_of is not None:
            changed.append(self._heard_of(info.retry_of, event))  # the run it continues ends as it does
        status = "running" if event.event == EventKind.RUN_STARTED else TERMINAL_STATUS[event.event]
        now = now_iso()
        for record in changed:
            if status == "running" and _RANK.get(record.status, 3) > _RANK["running"]:
                continue  # it ended already (cancelled while queued before a restart): its late start does not revive it
            record.status, record.updated_at = status, now
            if event.event == EventKind.RUN_ERROR:
                record.error = data.get("error")
            self._ride(record)

    def _heard_of(self, run_id: str, event: HubEvent) -> RunInfo:
        """The record of a run an event is about; made if this process has not heard of it (its
        stored row, if any, is merged in when the thread's rows are read)."""
        info = self.records.get(run_id)
        if info is None:
            info = RunInfo(run_id, event.thread_id, first_seq=event.seq - 1)
            info.partial = self.store.durable and event.thread_id not in self._loaded
            self._keep(info)
        return info

    def _mark(self, info: RunInfo) -> None:
        if not self.store.durable:
            return  # nothing outlives the process: the records above are all there is
        self._dirty[info.run_id] = info
        self._wake.set()

    def _ride(self, info: RunInfo) -> None:
        """Store a change heard from the run's event with the write that stores that event (one
        transaction, no commit of its own); by the writer task if there is none to ride."""
        if not self.store.durable:
            return
        if info.run_id in self._dirty:  # a change still waits for the writer: it takes this one too
            self._mark(info)
            return
        statement, row = self._sql["save"], _row(info)
        run_id = info.run_id
        staged = Write(thread_id=info.thread_id, sql=[lambda db: db.cursor().execute(statement, row)])
        staged.after_commit.append(lambda: self._rode(info))
        staged.after_failure.append(lambda exc: self._rode(info, failed=True))
        if not self._hub.stage_for_next(info.thread_id, staged):
            self._mark(info)
            return
        self._riding[run_id] = self._riding.get(run_id, 0) + 1

    def _rode(self, info: RunInfo, *, failed: bool = False) -> None:
        """A write that carried the run's change committed (or failed: the writer stores it)."""
        left = self._riding.get(info.run_id, 0) - 1
        if left > 0:
            self._riding[info.run_id] = left
        else:
            self._riding.pop(info.run_id, None)
        if failed:
            self._mark(info)
        elif info.run_id not in self._dirty:
            self._trim(info.thread_id)
            self._forget_unused()  # (on the WebSocket path nothing reaches the writer's flush)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer: store changed records, in batches, until cancelled (then once more). A
        write the database refuses (it restarted, a connection was cut) is tried again, after
        waits growing from 0.1 to 5 s: the records stay in memory meanwhile."""
        task_status.started()
        pause, refused = 0.0, 0
        try:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                stored = await self._flush(give_up=refused >= _ATTEMPTS)
                if stored is True:
                    pause, refused = 0.0, 0
                    continue
                if stored is False:  # refused by the database (not counted while it is unavailable)
                    refused += 1
                pause = min(5.0, max(0.1, pause * 2))
                await self.store.health.pause(pause)  # woken early when the storage is back
                self._wake.set()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush()
            self._remove()

    async def _flush(self, *, give_up: bool = False) -> bool | None:
        """Store the changed records, then forget what :meth:`_forget_unused` may. False when
        the database refused the write (the records are changed again, to be tried later);
        with ``give_up`` (refused ``_ATTEMPTS`` times in a row, about a minute) the batch is
        dropped instead, so that a write the database will never take does not grow memory.
        None when the storage is unavailable: kept for as long as that lasts."""
        if not self._dirty:
            self._forget_unused()
            return True
        pending, self._dirty = self._dirty, {}
        batch = [replace(info) for info in pending.values()]
        rows = [_row(i) for i in batch]
        statement = self._sql["save"]
        try:
            await self.store.run_sql(lambda db: db.cursor().executemany(statement, rows))
        except StorageClosedError:  # the store closed first (shutdown): the records are lost with the process
            return True
        except Exception as exc:
            unavailable = unavailable_cause(exc) is not None  # (the storage's own warning says so)
            if give_up and not unavailable:
                logger.error("dropped %d run records the database kept refusing (%s: %s)", len(rows),
                             type(exc).__name__, exc)
                return True
            if not unavailable:
                logger.warning("could not store %d run records (%s: %s); trying again", len(rows), type(exc).__name__, exc)
            for run_id, info in pending.items():
                self._dirty.setdefault(run_id, info)  # (a newer change of the run keeps its place)
            return None if unavailable else False
        threads = {info.thread_id for info in batch}
        for thread_id in threads:  # what was stored may be forgotten now
            self._trim(thread_id)
        self._forget_unused(len(threads) + _FORGET_VISITS)
        return True


def _row(i: RunInfo) -> tuple[Any, ...]:
    """The table's row of a record (as it is now)."""
    stream = None
    if i.stream_modes is not None:
        stream = orjson.dumps({"modes": list(i.stream_modes), "subgraphs": i.stream_subgraphs}).decode()
    return (i.run_id, i.thread_id, i.status, i.assistant_id, orjson.dumps(i.metadata), i.multitask_strategy,
            i.first_seq, i.created_at, i.updated_at, stream, i.retry_of)


def _info(row: Any) -> RunInfo:
    r, t, s, a, m, ms, f, c, u, stream, retry_of = row
    info = RunInfo(r, t, s, a, orjson.loads(bytes(m)), ms, int(f), c, u, retry_of=retry_of)
    if stream:
        parsed = orjson.loads(stream)
        info.stream_modes = tuple(parsed.get("modes") or ())
        info.stream_subgraphs = bool(parsed.get("subgraphs"))
    return info
