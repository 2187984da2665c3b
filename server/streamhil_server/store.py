"""The server's records (kept under their old import path); the storage is :mod:`.storage`."""

from __future__ import annotations

from .storage.records import RunRecord as RunRecord
from .storage.records import ThreadRecord as ThreadRecord
from .storage.records import now_iso as now_iso

__all__ = ["ThreadRecord", "RunRecord", "now_iso"]
