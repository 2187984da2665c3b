"""Checkpointers: where a thread's supersteps are saved.

``InMemorySaver`` lives in :mod:`streamhil.checkpoint.memory`; ``SqliteSaver`` in
:mod:`streamhil.checkpoint.sqlite` and ``PostgresSaver`` in :mod:`streamhil.checkpoint.postgres`
(imported on demand, so the core loads neither aiosqlite nor psycopg).
"""

from __future__ import annotations

from .base import BaseCheckpointSaver as BaseCheckpointSaver
from .base import Checkpoint as Checkpoint
from .base import CheckpointTuple as CheckpointTuple
from .base import PendingWrite as PendingWrite
from .base import PutCall as PutCall
from .base import WritesCall as WritesCall
from .memory import InMemorySaver as InMemorySaver
from .memory import MemorySaver as MemorySaver

__all__ = [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointTuple",
    "PendingWrite",
    "PutCall",
    "WritesCall",
    "InMemorySaver",
    "MemorySaver",
]
