"""``langgraph.checkpoint.sqlite.aio``'s name: streamhil's :class:`SqliteSaver` is sync and async in
one class, so ``AsyncSqliteSaver`` is the same class (``async with
AsyncSqliteSaver.from_conn_string("x.db") as saver:``)."""

from __future__ import annotations

from . import SqliteSaver

__all__ = ["AsyncSqliteSaver"]

AsyncSqliteSaver = SqliteSaver
