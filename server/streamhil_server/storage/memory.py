"""MemoryStorage: the storage interface in dicts. Nothing survives the process.

Every write is applied inline on the event loop (it never waits for anything, so it is atomic:
no other task runs in between). Values are kept serialised, as the SQLite backend keeps them.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from anyio.lowlevel import checkpoint as _yield_point
from streamhil.checkpoint._records import Address, EncodedWrites, ListScope, StoredCheckpoint, list_sort_key, matches, plan_values

from .base import Loaded, Storage, StorageClosedError, ThreadCounts
from .records import OPEN_RUN_STATUSES, RunRecord, RunStatus, ThreadRecord, Write

__all__ = ["MemoryStorage"]

_Lane = tuple[str, str]


class MemoryStorage(Storage):
    """The server's state in memory (``--db`` not given)."""

    durable = False

    def __init__(self) -> None:
        self._open = False
        self._checkpoints: dict[_Lane, dict[str, StoredCheckpoint]] = {}
        self._latest: dict[_Lane, str] = {}
        self._blobs: dict[tuple[str, str, str, str], bytes] = {}
        self._writes: dict[tuple[str, str, str], EncodedWrites] = {}
        self._events: dict[str, dict[int, tuple[str | None, str]]] = {}
        self._threads: dict[str, ThreadRecord] = {}
        self._runs: dict[str, RunRecord] = {}
        self._answered: set[tuple[str, str]] = set()
        self.writes = 0
        self._sql: sqlite3.Connection | None = None  # only for modules with tables of their own

    async def open(self) -> None:
        self._open = True
        self.epoch = "e-" + uuid.uuid4().hex[:16]

    async def aclose(self) -> None:
        self._open = False
        if self._sql is not None:
            self._sql.close()
            self._sql = None

    def _check(self) -> None:
        if not self._open:
            raise StorageClosedError("the storage is not open; use 'async with MemoryStorage()'")

    # --- writing -------------------------------------------------------------------------------

    async def write(self, write: Write) -> None:
        self._check()
        try:
            self._apply(write)
        except BaseException as exc:
            for failed in write.after_failure:
                failed(exc)
            raise
        self.writes += 1
        for done in write.after_commit:
            done()

    def _apply(self, write: Write) -> None:
        put = write.checkpoint
        planned = None
        if put is not None:  # plan first: the only step that can fail (serialising a value)
            lane = (put.parent.thread_id, put.parent.checkpoint_ns)
            parent = self._checkpoints.get(lane, {}).get(put.parent.checkpoint_id or "")
            planned = plan_values(put.checkpoint, put.changed, parent)
        seen: set[tuple[str, int]] = set()
        for row in write.events:  # an event's seq is stored once (as SQLite's primary key says)
            key = (row.thread_id, row.seq)
            if key in seen or row.seq in self._events.get(row.thread_id, {}):
                raise ValueError(f"event {row.seq} of thread {row.thread_id!r} is stored already")
            seen.add(key)
        if write.sql:  # last of what can fail: nothing else is applied yet
            if self._sql is None:
                self._sql = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._sql.execute("BEGIN")
            try:
                for statement in write.sql:
                    statement(self._sql)
            except BaseException:
                self._sql.execute("ROLLBACK")
                raise
            self._sql.execute("COMMIT")
        for thread_id in write.forget_threads:  # from here on nothing can fail
            self._forget(thread_id)
        if put is not None and planned is not None:
            lane = (put.parent.thread_id, put.parent.checkpoint_ns)
            values_from, blobs = planned
            cp = put.checkpoint
            for channel, data in blobs.items():
                self._blobs[(*lane, channel, cp.id)] = data
            self._checkpoints.setdefault(lane, {})[cp.id] = StoredCheckpoint(
                thread_id=lane[0], checkpoint_ns=lane[1], checkpoint_id=cp.id, parent_id=put.parent.checkpoint_id,
                ts=cp.ts, v=cp.v, metadata=put.metadata, versions=dict(cp.channel_versions), values_from=values_from,
            )
            if cp.id > self._latest.get(lane, ""):
                self._latest[lane] = cp.id
            if put.parent.checkpoint_id is not None and put.writes:
                self._replace_writes(put.parent, put.writes)
        for writes_put in write.task_writes:
            self._replace_writes(writes_put.address, writes_put.writes)
        for row in write.events:
            self._events.setdefault(row.thread_id, {})[row.seq] = (row.run_id, row.frame)
        for thread in write.threads:
            self._threads[thread.thread_id] = thread.copy()
        for run in write.runs:
            stored = self._runs.get(run.run_id)  # a run keeps its created_at (its place in the queue)
            self._runs[run.run_id] = RunRecord(
                run.run_id, run.thread_id, run.kind, run.status, dict(run.params),
                stored.created_at if stored is not None else run.created_at, run.ended_at,
            )
        self._answered.update(write.answered)
        for thread_id, keep_after in write.trim_events:
            log = self._events.get(thread_id, {})
            for seq in [s for s in log if s <= keep_after]:
                del log[seq]

    def _forget(self, thread_id: str) -> None:
        for lane in [k for k in self._checkpoints if k[0] == thread_id]:
            del self._checkpoints[lane]
            self._latest.pop(lane, None)
        for key in [k for k in self._blobs if k[0] == thread_id]:
            del self._blobs[key]
        for writes_key in [k for k in self._writes if k[0] == thread_id]:
            del self._writes[writes_key]
        self._events.pop(thread_id, None)
        self._threads.pop(thread_id, None)
        for run_id in [r for r, run in self._runs.items() if run.thread_id == thread_id]:
            del self._runs[run_id]
        self._answered = {a for a in self._answered if a[0] != thread_id}

    def _replace_writes(self, address: Address, grouped: EncodedWrites) -> None:
        by_task = self._writes.setdefault((address.thread_id, address.checkpoint_ns, address.checkpoint_id or ""), {})
        for task_id, task_writes in grouped.items():
            if task_writes:
                by_task[task_id] = list(task_writes)
            else:
                by_task.pop(task_id, None)

    # --- checkpoints ---------------------------------------------------------------------------

    def _load(self, stored: StoredCheckpoint) -> Loaded:
        lane = (stored.thread_id, stored.checkpoint_ns)
        blobs = {channel: self._blobs[(*lane, channel, origin)] for channel, origin in stored.values_from.items()}
        by_task = self._writes.get((*lane, stored.checkpoint_id), {})
        return stored, blobs, [(task, ch, data) for task, ws in by_task.items() for ch, data in ws]

    async def get_checkpoint(self, address: Address) -> Loaded | None:
        self._check()
        lane = (address.thread_id, address.checkpoint_ns)
        checkpoint_id = address.checkpoint_id or self._latest.get(lane)
        stored = self._checkpoints.get(lane, {}).get(checkpoint_id or "")
        return None if stored is None else self._load(stored)

    async def list_checkpoints(
        self,
        scope: ListScope,
        *,
        before: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Loaded]:
        self._check()
        lanes = [
            lane
            for lane in self._checkpoints
            if (scope.thread_id is None or lane[0] == scope.thread_id)
            and (scope.checkpoint_ns is None or lane[1] == scope.checkpoint_ns)
        ]
        found = [
            s
            for ln in lanes
            for cid, s in self._checkpoints[ln].items()
            if scope.admits(s) and (before is None or cid < before)
        ]
        found.sort(key=list_sort_key, reverse=True)
        given = 0
        for n, stored in enumerate(found):
            if limit is not None and given >= limit:
                return
            if n % 32 == 31:
                await _yield_point()
            if matches(stored, filter):
                given += 1
                yield self._load(stored)

    # --- threads, runs, answers, events --------------------------------------------------------

    def _with_head(self, record: ThreadRecord) -> ThreadRecord:
        log = self._events.get(record.thread_id)
        return record.copy(head_seq=max(log) if log else 0)

    async def load_thread(self, thread_id: str) -> ThreadRecord | None:
        self._check()
        record = self._threads.get(thread_id)
        return None if record is None else self._with_head(record)

    async def load_threads(self, thread_ids: Sequence[str]) -> list[ThreadRecord]:
        self._check()
        found = (self._threads.get(thread_id) for thread_id in dict.fromkeys(thread_ids))
        return [self._with_head(record) for record in found if record is not None]

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
        self._check()
        skip = set(exclude)
        found = [
            t for t in self._threads.values()
            if (owner is None or t.owner == owner) and (statuses is None or t.status in statuses)
            and (graph is None or t.graph == graph) and t.thread_id not in skip
        ]
        found.sort(key=lambda t: (t.updated_at, t.thread_id), reverse=True)
        return [self._with_head(t) for t in found[offset : offset + limit]]

    async def count_threads(self) -> ThreadCounts:
        self._check()
        return ThreadCounts(len(self._threads), sum(len(t.interrupts) for t in self._threads.values()))

    async def read_events(self, thread_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        self._check()
        log = self._events.get(thread_id, {})
        return [(s, log[s][1]) for s in sorted(log) if after < s <= upto]

    async def event_bounds(self, thread_id: str) -> tuple[int, int] | None:
        self._check()
        log = self._events.get(thread_id)
        return (min(log), max(log)) if log else None

    async def load_runs(
        self, statuses: Sequence[RunStatus] = OPEN_RUN_STATUSES, thread_id: str | None = None
    ) -> list[RunRecord]:
        self._check()
        return [
            r for r in self._runs.values()
            if r.status in statuses and (thread_id is None or r.thread_id == thread_id)
        ]

    async def answered_among(self, thread_id: str, interrupt_ids: Sequence[str]) -> list[str]:
        self._check()
        return [i for i in interrupt_ids if (thread_id, i) in self._answered]
