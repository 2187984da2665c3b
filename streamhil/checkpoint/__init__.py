"""Checkpointers: where a thread's supersteps are saved.

``InMemorySaver`` lives in :mod:`streamhil.checkpoint.memory`; ``SqliteSaver`` in
:mod:`streamhil.checkpoint.sqlite` (imported on demand, so the core does not load aiosqlite).
"""

from __future__ import annotations

from .base import BaseCheckpointSaver as BaseCheckpointSaver
from .base import Checkpoint as Checkpoint
from .base import CheckpointTuple as CheckpointTuple
from .base import PendingWrite as PendingWrite
from .memory import InMemorySaver as InMemorySaver
from .memory import MemorySaver as MemorySaver

__all__ = ["BaseCheckpointSaver", "Checkpoint", "CheckpointTuple", "PendingWrite", "InMemorySaver", "MemorySaver"]
