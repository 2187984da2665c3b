"""``langgraph.checkpoint.postgres.aio``'s name: streamhil's :class:`PostgresSaver` is sync and async
in one class, so ``AsyncPostgresSaver`` is the same class (``async with
AsyncPostgresSaver.from_conn_string(url) as saver:``)."""

from __future__ import annotations

from . import PostgresSaver

__all__ = ["AsyncPostgresSaver"]

AsyncPostgresSaver = PostgresSaver
