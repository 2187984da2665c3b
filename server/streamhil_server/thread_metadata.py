"""Free-form thread metadata, and threads that exist before their first run.

A thread made by the run manager has a graph from its first ``start_run``. HTTP clients (the
LangGraph SDKs) create a thread first (``POST /threads``, no graph yet) and attach free-form
``metadata`` to it, which they later search (``metadata.graph_id``). This module keeps both in
its own table beside the store's (``thread_metadata``; ``streamhil_thread_metadata`` on
PostgreSQL, made by the server's migrations), loaded into memory at startup:

    thread_metadata(thread_id, owner, metadata, created_at, updated_at)

On a database several processes share, another process may have made or changed a thread's row:
:meth:`ThreadMetadata.refresh` reads it again (the HTTP surfaces call it before they look a
thread up), and :meth:`load` reads every row again.

A thread with a metadata row but no :class:`~.store.ThreadRecord` is *graph-less*: it has no
state yet and gets its graph at its first run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from .storage.base import Storage
from .storage.records import now_iso

__all__ = ["ThreadMetadata", "MetadataRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS thread_metadata (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    metadata BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS = "thread_id, owner, metadata, created_at, updated_at"
_STATEMENTS = {
    "sqlite": {
        "schema": _SCHEMA,
        "all": f"SELECT {_COLUMNS} FROM thread_metadata",
        "one": f"SELECT {_COLUMNS} FROM thread_metadata WHERE thread_id = ?",
        "save": "INSERT OR REPLACE INTO thread_metadata VALUES (?, ?, ?, ?, ?)",
    },
    "postgres": {  # the table is made by the server's migrations
        "schema": "",
        "all": f"SELECT {_COLUMNS} FROM streamhil_thread_metadata",
        "one": f"SELECT {_COLUMNS} FROM streamhil_thread_metadata WHERE thread_id = %s",
        "save": f"INSERT INTO streamhil_thread_metadata ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (thread_id) DO UPDATE SET owner = EXCLUDED.owner, metadata = EXCLUDED.metadata,"
        " created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at",
    },
}


@dataclass(slots=True)
class MetadataRecord:
    """A thread's owner and metadata."""

    thread_id: str
    owner: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


class ThreadMetadata:
    """The metadata of every thread that has some; :meth:`load` it before use."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.records: dict[str, MetadataRecord] = {}
        self._sql = _STATEMENTS[store.sql_dialect]

    async def load(self) -> None:
        """Create the table if needed and read every row."""
        sql = self._sql

        def read(db: Any) -> list[MetadataRecord]:
            if sql["schema"]:
                db.execute(sql["schema"])
            return [_record(row) for row in db.execute(sql["all"])]

        self.records = {r.thread_id: r for r in await self.store.run_sql(read)}

    async def refresh(self, thread_id: str) -> MetadataRecord | None:
        """Read the thread's row again (other processes write it too); a no-op on a storage
        that one process owns."""
        if not self.store.shared:
            return self.records.get(thread_id)
        sql = self._sql
        rows = await self.store.run_sql(lambda db: [_record(row) for row in db.execute(sql["one"], (thread_id,))])
        if rows:
            self.records[thread_id] = rows[0]
        else:
            self.records.pop(thread_id, None)
        return rows[0] if rows else None

    def get(self, thread_id: str) -> MetadataRecord | None:
        return self.records.get(thread_id)

    async def _save(self, record: MetadataRecord) -> None:
        row = (record.thread_id, record.owner, orjson.dumps(record.metadata), record.created_at, record.updated_at)
        statement = self._sql["save"]
        await self.store.run_sql(lambda db: db.execute(statement, row))

    async def create(self, thread_id: str, owner: str, metadata: Mapping[str, Any] | None) -> MetadataRecord:
        """Record a new thread (graph-less until its first run)."""
        record = MetadataRecord(thread_id, owner, dict(metadata or {}))
        self.records[thread_id] = record  # at once: a concurrent create of the id sees it taken
        try:
            await self._save(record)
        except Exception:  # (refused: not stored; a cancelled save may have been, and is kept)
            if self.records.get(thread_id) is record:  # not stored: nothing is made
                del self.records[thread_id]
            raise
        return record

    async def merge(self, thread_id: str, owner: str, patch: Mapping[str, Any]) -> MetadataRecord:
        """Merge ``patch`` into the thread's metadata (creating its row if it has none)."""
        record = await self.refresh(thread_id) if self.store.shared else self.records.get(thread_id)
        if record is None:
            merged = MetadataRecord(thread_id, owner, dict(patch))
        else:
            merged = replace(record, metadata={**record.metadata, **patch}, updated_at=now_iso())
        self.records[thread_id] = merged  # at once: a merge that follows builds on this one
        try:
            await self._save(merged)
        except Exception:  # (refused: not stored; a cancelled save may have been, and is kept)
            if self.records.get(thread_id) is merged:  # not stored: back to what is stored
                if record is None:
                    del self.records[thread_id]
                else:
                    self.records[thread_id] = record
            raise
        return merged

    async def stamp(self, thread_id: str, owner: str, values: Mapping[str, Any]) -> None:
        """Set the keys of ``values`` the metadata does not have yet (``graph_id`` and
        ``assistant_id`` at a thread's first run); writes only when something changed."""
        record = self.records.get(thread_id)
        if record is not None and all(k in record.metadata for k in values):
            return
        missing = {k: v for k, v in values.items() if record is None or k not in record.metadata}
        await self.merge(thread_id, owner, missing)


def _record(row: Any) -> MetadataRecord:
    t, o, m, c, u = row
    return MetadataRecord(t, o, orjson.loads(bytes(m)), c, u)
