"""PostgresSaver's tables and their migrations, written sans-I/O as :mod:`._postgres_sql`'s
statements are (a driver runs :func:`ensure_schema` in one transaction)."""

from __future__ import annotations

from ..errors import CheckpointError
from ._postgres_sql import Sql, Tx

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ensure_schema"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the three tables. Ids and names are COLLATE "C" so that order is byte order, as in
    # SQLite and Python (a locale collation ignores '-' when sorting).
    """
    CREATE TABLE streamhil_checkpoints (
        thread_id            text COLLATE "C" NOT NULL,
        checkpoint_ns        text COLLATE "C" NOT NULL,
        checkpoint_id        text COLLATE "C" NOT NULL,
        parent_checkpoint_id text COLLATE "C",
        ts                   text NOT NULL,
        v                    integer NOT NULL,
        metadata             json NOT NULL,   -- json, not jsonb: json keeps key order
        versions             json NOT NULL,   -- {channel: version}
        values_from          json NOT NULL,   -- {channel: id of the checkpoint holding its blob}
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
    );
    CREATE INDEX streamhil_checkpoints_by_id
        ON streamhil_checkpoints (checkpoint_ns, checkpoint_id, thread_id);
    CREATE TABLE streamhil_checkpoint_blobs (
        thread_id     text COLLATE "C" NOT NULL,
        checkpoint_ns text COLLATE "C" NOT NULL,
        channel       text COLLATE "C" NOT NULL,
        checkpoint_id text COLLATE "C" NOT NULL,  -- the checkpoint that stored this value
        version       text,                       -- the channel version it holds
        value         bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, channel, checkpoint_id)
    );
    CREATE TABLE streamhil_checkpoint_writes (
        thread_id     text COLLATE "C" NOT NULL,
        checkpoint_ns text COLLATE "C" NOT NULL,
        checkpoint_id text COLLATE "C" NOT NULL,
        task_id       text COLLATE "C" NOT NULL,
        task_pos      integer NOT NULL,  -- order of the task's first save on this checkpoint
        seq           integer NOT NULL,  -- order within the task's writes
        channel       text NOT NULL,
        value         bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, seq)
    );
    """,
    # 2: indexes in list order (checkpoint_id, thread_id, checkpoint_ns descending) for the
    # listings that cross namespaces: a thread's (alist with a thread_id and no checkpoint_ns,
    # LangGraph's usual call) and every thread's (alist(None)). Without them each page sorted
    # the whole thread, or scanned the whole table. A namespace's own listing reads the primary
    # key; the namespace-first index of migration 1 served no statement. IF NOT EXISTS: on a
    # large table an operator may build them beforehand with CREATE INDEX CONCURRENTLY.
    """
    CREATE INDEX IF NOT EXISTS streamhil_checkpoints_by_thread
        ON streamhil_checkpoints (thread_id, checkpoint_id, checkpoint_ns);
    CREATE INDEX IF NOT EXISTS streamhil_checkpoints_in_list_order
        ON streamhil_checkpoints (checkpoint_id, thread_id, checkpoint_ns);
    DROP INDEX IF EXISTS streamhil_checkpoints_by_id;
    """,
)
"""Migration ``i`` takes the schema from version ``i`` to ``i + 1``. Append, never edit. A ``;``
only ever ends a command (on a connection in pipeline mode they are sent one by one)."""

SCHEMA_VERSION = len(MIGRATIONS)

_VERSION_TABLE = "streamhil_checkpoint_migrations"
_LOCK_CLASS = 0x53484350  # 'SHCP': the advisory lock space of streamhil's checkpoint tables
_MIGRATION_LOCK = f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, 0)"


def _schema_version(where: str) -> Tx[int | None]:
    """The schema version (None without the version table); refuse a newer one."""
    rows = yield Sql(f"SELECT to_regclass('{_VERSION_TABLE}') IS NOT NULL")
    if not rows[0][0]:
        return None
    rows = yield Sql(f"SELECT coalesce(max(v), 0) FROM {_VERSION_TABLE}")
    found = int(rows[0][0])
    if found > SCHEMA_VERSION:
        raise CheckpointError(
            f"{where} has checkpoint schema version {found}, but this streamhil reads up to "
            f"version {SCHEMA_VERSION}; upgrade streamhil to open it"
        )
    return found


def ensure_schema(where: str) -> Tx[int]:
    """Bring the schema up to date, and refuse one written by a newer streamhil. A current
    schema costs two reads and no DDL (a role without CREATE can open it); otherwise the
    migrations run under an advisory lock, so other processes wait for them. Returns the version
    found. Mode: tx."""
    found = yield from _schema_version(where)
    if found == SCHEMA_VERSION:
        return found
    yield Sql(_MIGRATION_LOCK)
    yield Sql(f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} (v integer PRIMARY KEY)")
    found = (yield from _schema_version(where)) or 0
    for version in range(found, SCHEMA_VERSION):
        yield Sql(MIGRATIONS[version])
        yield Sql(f"INSERT INTO {_VERSION_TABLE} (v) VALUES (%s)", (version + 1,))
    return found
