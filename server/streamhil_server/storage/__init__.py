"""The server's storage: one interface (:class:`Storage`), one module per backend.

``storage_for(None)`` is in memory, ``storage_for("postgresql://user@host/db")`` PostgreSQL (the
``postgres`` extra), any other string a SQLite file.
"""

from __future__ import annotations

from .base import Loaded as Loaded
from .base import Storage as Storage
from .base import StorageClosedError as StorageClosedError
from .base import ThreadCounts as ThreadCounts
from .health import StorageUnavailableError as StorageUnavailableError
from .memory import MemoryStorage as MemoryStorage
from .records import EventRow as EventRow
from .records import RunRecord as RunRecord
from .records import ThreadRecord as ThreadRecord
from .records import Write as Write
from .records import now_iso as now_iso
from .saver import StorageSaver as StorageSaver
from .sqlite import SqliteStorage as SqliteStorage
from .sqlite import StorageLockedError as StorageLockedError

__all__ = [
    "Storage", "Loaded", "StorageClosedError", "StorageUnavailableError", "ThreadCounts", "MemoryStorage", "SqliteStorage", "StorageSaver",
    "EventRow", "RunRecord", "ThreadRecord", "Write", "now_iso", "storage_for", "StorageLockedError",
]


def storage_for(db: str | None, *, lease_ttl: float = 6.0) -> Storage:
    """PostgreSQL when ``db`` is a ``postgresql://`` URL (shared: several server processes may use
    it, each writing a thread only under its lease), SQLite in the file ``db`` otherwise, or in
    memory when ``db`` is None."""
    if db is None:
        return MemoryStorage()
    if db.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStorage  # imports psycopg: only when asked for

        return PostgresStorage(db, shared=True, lease_ttl=lease_ttl)
    return SqliteStorage(db)
