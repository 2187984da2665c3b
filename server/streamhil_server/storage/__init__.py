"""The server's storage: one interface (:class:`Storage`), one module per backend.

``open_storage(None)`` is in memory; ``open_storage("file.sqlite")`` is SQLite.
"""

from __future__ import annotations

from .base import Loaded as Loaded
from .base import Storage as Storage
from .base import StorageClosedError as StorageClosedError
from .base import ThreadCounts as ThreadCounts
from .memory import MemoryStorage as MemoryStorage
from .records import EventRow as EventRow
from .records import RunRecord as RunRecord
from .records import ThreadRecord as ThreadRecord
from .records import Write as Write
from .records import now_iso as now_iso
from .saver import StorageSaver as StorageSaver
from .sqlite import SqliteStorage as SqliteStorage

__all__ = [
    "Storage", "Loaded", "StorageClosedError", "ThreadCounts", "MemoryStorage", "SqliteStorage", "StorageSaver",
    "EventRow", "RunRecord", "ThreadRecord", "Write", "now_iso", "storage_for",
]


def storage_for(db: str | None) -> Storage:
    """SQLite in the file ``db``, or in memory when ``db`` is None."""
    return MemoryStorage() if db is None else SqliteStorage(db)
