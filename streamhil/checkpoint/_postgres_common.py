"""What both ways of running PostgresSaver's statements share: the own pools
(:mod:`._postgres_drivers`) and a connection or pool the caller gives (:mod:`._postgres_given`).
How a statement is sent, how to tell that it returned rows, and how failures are named."""

from __future__ import annotations

from typing import Any

from ..errors import CheckpointError
from ._postgres_sql import Sql

try:
    import psycopg
    import psycopg_pool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'streamhil[postgres]'"
    ) from exc

__all__ = ["describe", "failed", "has_rows", "statement_options"]


def describe(conninfo: str) -> str:
    """The connection string without its password, for messages and ``repr``."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    parts.pop("password", None)
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


def failed(exc: Exception, where: str) -> CheckpointError:
    """``exc`` (psycopg's, or the pool's timeout) as the saver's error, naming the server."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return CheckpointError(f"PostgreSQL at {where}: no connection available ({exc})")
    return CheckpointError(f"PostgreSQL failed at {where}: {exc}")


def statement_options(op: Sql, prepare: bool) -> dict[str, Any]:
    """psycopg's ``execute`` options for ``op``: statements with parameters are prepared (unless
    ``prepare`` is off) and read back in binary. Statements without parameters (the migration's
    DDL, several statements in one string) go through the simple query protocol, which can
    neither prepare nor return binary."""
    if op.params:
        return {"prepare": prepare, "binary": True}
    return {"prepare": False}


def has_rows(cursor: Any) -> bool:
    """Whether the statement the cursor ran returned rows (a ``SELECT``, a ``RETURNING``)."""
    # Not ``cursor.description``: it builds a Column object per column on every call.
    result = cursor.pgresult
    return result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK
