"""The command line's values checked before anything starts: each bad one is refused with one
line naming the flag (``SystemExit("streamhil-server: ...")``; ``main`` exits with status 2)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["check_flags", "check_db", "check_tokens"]

_PREFIX = "streamhil-server:"


def _refuse(message: str) -> SystemExit:
    return SystemExit(f"{_PREFIX} {message}")


def _number_between(flag: str, value: float | None, low: float, high: float, *, low_open: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
        bound = f"> {low:g}" if low_open else f"between {low:g} and {high:g}"
        raise _refuse(f"{flag} must be {bound}, got {value!r}")


def check_flags(args: Any) -> None:
    """Ranges and non-empty values of the flags that take them."""
    if not 0 <= args.port <= 65535:
        raise _refuse(f"--port must be between 0 and 65535 (0 picks a free one), got {args.port}")
    if args.max_send_queue is not None and args.max_send_queue < 1:
        raise _refuse(f"--max-send-queue must be at least 1, got {args.max_send_queue}")
    _number_between("--request-timeout", args.request_timeout, 0, 86400, low_open=True)
    _number_between("--event-flush-delay", args.event_flush_delay, 0, 60)
    _number_between("--lease-ttl", args.lease_ttl, 0.2, 3600)
    if args.gc_threshold < 1:
        raise _refuse("--gc-threshold must be at least 1")
    for flag, values in (("--allow-host", args.allow_host), ("--allow-origin", args.allow_origin)):
        for value in values:
            if not value.strip():
                raise _refuse(f"{flag} must not be empty ('*' allows any)")
    if args.metrics_token is not None and not args.metrics_token:
        raise _refuse("--metrics-token must not be empty")


def check_tokens(values: Sequence[str]) -> dict[str, str] | None:
    """``--token [IDENTITY:]TOKEN`` values as token → identity; one token for two identities is
    refused (which of them would a client be?)."""
    tokens: dict[str, str] = {}
    for value in values:
        identity, sep, token = value.partition(":")
        if not sep:
            identity, token = "user", value
        if not identity or not token:
            raise _refuse(f"--token {value!r}: expected IDENTITY:TOKEN or TOKEN")
        if tokens.get(token, identity) != identity:
            raise _refuse(f"--token: one token is given to two identities, {tokens[token]!r} and {identity!r}")
        tokens[token] = identity
    return tokens or None


def check_db(db: str | None) -> None:
    """``--db``: a SQLite file whose folder exists (and that is not a folder) and that no other
    server has open, or a PostgreSQL URL of a database that answers."""
    if db is None:
        return
    scheme, sep, _ = db.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        _check_postgres(db)
        return
    if sep and len(scheme) > 1 and scheme.isidentifier():  # (not a Windows drive)
        raise _refuse(f"--db {db!r}: {scheme}:// is not supported; give a SQLite file path or a postgresql:// URL")
    if not db.strip():
        raise _refuse("--db must not be empty")
    if os.path.isdir(db):
        raise _refuse(f"--db {db!r} is a directory; name a SQLite file (it is created if missing)")
    folder = os.path.dirname(os.path.abspath(db))
    if not os.path.isdir(folder):
        raise _refuse(f"--db {db!r}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(db) and not os.access(db, os.R_OK | os.W_OK)):
        raise _refuse(f"--db {db!r}: cannot write there (permissions)")
    _check_sqlite_free(db)


def _check_sqlite_free(db: str) -> None:
    """Refuse a SQLite file another server has open (it holds ``<db>.lock``): both would run the
    same threads. Only a look: the storage takes the lock for good when it opens."""
    from .storage.file_lock import FileLock, StorageLockedError

    lock = FileLock(db)
    try:
        lock.acquire()
    except StorageLockedError as exc:
        raise _refuse(str(exc)) from None
    except OSError as exc:
        raise _refuse(f"--db {db!r}: cannot create the lock file {lock.lock_path}: {exc.strerror}") from None
    lock.release()


def _check_postgres(url: str) -> None:
    try:
        import psycopg
    except ImportError:
        raise _refuse("--db postgresql://... needs the postgres extra: pip install 'streamhil[postgres]'") from None
    from streamhil.checkpoint._postgres_drivers import describe, run_sync

    from .storage.postgres_sql import schema_problem

    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            problem = run_sync(conn, schema_problem(describe(url)), None, False)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise _refuse(f"--db: cannot connect to PostgreSQL {describe(url)}: {reason}") from None
    if problem is not None:  # a schema that is missing, or that a newer streamhil migrated
        raise _refuse(f"--db: {problem}")
