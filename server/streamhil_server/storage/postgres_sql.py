"""The server's tables on PostgreSQL and the statements that write and read them, sans-I/O.

Like :mod:`streamhil.checkpoint._postgres_sql`, each operation is a generator yielding
statements (:class:`Sql`, or a :class:`Batch` sent in one round trip) and sent back their rows;
:mod:`.postgres` runs them on its connections. Checkpoints use the library's statements, so the
server and ``PostgresSaver`` share the checkpoint tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from streamhil.checkpoint import _postgres_sql as sql
from streamhil.checkpoint._postgres_schema import SCHEMA_VERSION as CHECKPOINT_SCHEMA_VERSION
from streamhil.checkpoint._postgres_sql import Batch, IntArray, Sql, TextArray, Tx
from streamhil.checkpoint._records import StoredCheckpoint

from . import postgres_coordination as coordination
from .records import ThreadRecord, Write

__all__ = [
    "CHANNEL", "MIGRATIONS", "OPEN_RUN", "SCHEMA_VERSION", "SchemaError", "SchemaTooNewError", "SELECT_THREAD", "RUN_COLUMNS",
    "missing_schema", "schema_problem",
    "ensure_server_schema", "load_epoch", "thread_from_row", "rows_of", "apply_write",
]

CHANNEL = "streamhil_events"
"""The channel a transaction that stores events notifies, with ``<thread_id>:<last seq>``."""
MIGRATIONS: tuple[str, ...] = (
    # 1: the server's tables. Ids and times are COLLATE "C": byte order, as in SQLite.
    """
    CREATE TABLE streamhil_meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE streamhil_threads (
        thread_id    text COLLATE "C" PRIMARY KEY,
        graph        text NOT NULL,
        owner        text COLLATE "C" NOT NULL,
        status       text NOT NULL,
        interrupts   text NOT NULL,
        error        text,
        created_at   text COLLATE "C" NOT NULL,
        updated_at   text COLLATE "C" NOT NULL,
        metadata     text NOT NULL DEFAULT '{}',
        n_interrupts integer NOT NULL DEFAULT 0
    );
    CREATE INDEX streamhil_threads_by_update ON streamhil_threads (owner, updated_at);
    CREATE TABLE streamhil_events (
        thread_id text COLLATE "C" NOT NULL,
        seq       bigint NOT NULL,
        run_id    text,
        frame     text NOT NULL,
        PRIMARY KEY (thread_id, seq)
    );
    CREATE TABLE streamhil_runs (
        n          bigserial,
        run_id     text COLLATE "C" PRIMARY KEY,
        thread_id  text COLLATE "C" NOT NULL,
        kind       text NOT NULL,
        status     text NOT NULL,
        params     text NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        ended_at   text
    );
    CREATE INDEX streamhil_runs_by_status ON streamhil_runs (status, created_at, n);
    CREATE INDEX streamhil_runs_by_thread ON streamhil_runs (thread_id, created_at);
    CREATE TABLE streamhil_answered (
        thread_id    text COLLATE "C" NOT NULL,
        interrupt_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (thread_id, interrupt_id)
    );
    """,
    # 2: leases of threads, fencing, and the command inbox (several processes on one database)
    coordination.MIGRATION,
    # 3: the tables of the LangGraph HTTP API's thread metadata and run records
    """
    CREATE TABLE streamhil_thread_metadata (
        thread_id  text COLLATE "C" PRIMARY KEY,
        owner      text NOT NULL,
        metadata   bytea NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL
    );
    CREATE TABLE streamhil_run_records (
        run_id             text COLLATE "C" PRIMARY KEY,
        thread_id          text COLLATE "C" NOT NULL,
        status             text NOT NULL,
        assistant_id       text,
        metadata           bytea NOT NULL,
        multitask_strategy text,
        first_seq          bigint NOT NULL,
        created_at         text COLLATE "C" NOT NULL,
        updated_at         text COLLATE "C" NOT NULL
    );
    CREATE INDEX streamhil_run_records_by_thread ON streamhil_run_records (thread_id);
    """,
    # 4: the outcome of a forwarded command, stored with its effect; the processes serving the database
    coordination.CLUSTER_MIGRATION,
    # 5: the stream modes (and subgraphs flag) a LangGraph API run was started with, for rejoins
    "ALTER TABLE streamhil_run_records ADD COLUMN stream text;",
    # 6: a continuation after a restart names the run it continues (the LangGraph API's run goes on)
    "ALTER TABLE streamhil_run_records ADD COLUMN retry_of text COLLATE \"C\";",
)
"""Migration ``i`` takes the server's schema from version ``i`` to ``i + 1``. Append, never edit."""

SCHEMA_VERSION = len(MIGRATIONS)
_VERSION_TABLE = "streamhil_server_migrations"
_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(1397244755, 0)"  # 'SHSS': streamhil server schema

_THREAD_COLUMNS = "thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, n_interrupts"
RUN_COLUMNS = "run_id, thread_id, kind, status, params, created_at, ended_at"
_HEAD = "(SELECT max(seq) FROM streamhil_events e WHERE e.thread_id = t.thread_id)"
OPEN_RUN = (
    "(SELECT run_id FROM streamhil_runs r WHERE r.thread_id = t.thread_id AND r.status IN ('queued', 'running')"
    " ORDER BY r.status DESC, r.created_at LIMIT 1)"
)
SELECT_THREAD = (
    f"SELECT thread_id, graph, owner, status, interrupts, error, created_at, updated_at, metadata, {_HEAD}, {OPEN_RUN}"
    " FROM streamhil_threads t"
)


class SchemaError(RuntimeError):
    """The database's schema cannot be opened by this server; the message says why and what to do."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer streamhil-server."""


def _too_new(where: str, found: int) -> str:
    return (
        f"PostgreSQL {where} has server schema version {found}, but this streamhil-server knows up to "
        f"{SCHEMA_VERSION}; upgrade streamhil to open it"
    )


def missing_schema(where: str, search_path: str) -> str:
    """The refusal of a database whose ``search_path`` names no schema that exists."""
    return (
        f"PostgreSQL {where}: no schema of its search_path ({search_path}) exists, so there is nowhere to "
        "create streamhil's tables; create the schema (CREATE SCHEMA <name>) or name an existing one "
        "(?options=-csearch_path%3D<name>)"
    )


def schema_problem(where: str) -> Tx[str | None]:
    """Why this server could not open the database's schema, read without changing anything
    (the ``--db`` check): its ``search_path`` names no schema that exists, or a newer streamhil
    migrated its tables. None if it can (creating the tables if they are missing)."""
    rows = yield Sql("SELECT current_schema(), current_setting('search_path')")
    schema, search_path = rows[0]
    if schema is None:
        return missing_schema(where, str(search_path))
    for table, known in (("streamhil_checkpoint_migrations", CHECKPOINT_SCHEMA_VERSION), (_VERSION_TABLE, SCHEMA_VERSION)):
        rows = yield Sql(f"SELECT to_regclass('{table}') IS NOT NULL")
        if not rows[0][0]:
            continue
        rows = yield Sql(f"SELECT coalesce(max(v), 0) FROM {table}")
        found = int(rows[0][0])
        if found > known:
            if table == _VERSION_TABLE:
                return _too_new(where, found)
            return (
                f"PostgreSQL {where} has checkpoint schema version {found}, but this streamhil reads up to "
                f"version {known}; upgrade streamhil to open it"
            )
    return None


def ensure_server_schema(where: str) -> Tx[int]:
    """Bring the server's tables up to date under an advisory lock (other processes wait)."""
    yield Sql(_MIGRATION_LOCK)
    yield Sql(f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} (v integer PRIMARY KEY)")
    rows = yield Sql(f"SELECT coalesce(max(v), 0) FROM {_VERSION_TABLE}")
    found = int(rows[0][0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(_too_new(where, found))
    for version in range(found, SCHEMA_VERSION):
        yield Sql(MIGRATIONS[version])
        yield Sql(f"INSERT INTO {_VERSION_TABLE} (v) VALUES (%s)", (version + 1,))
    return found


def load_epoch() -> Tx[str]:
    epoch = "e-" + uuid.uuid4().hex[:16]
    yield Sql("INSERT INTO streamhil_meta (key, value) VALUES ('epoch', %s) ON CONFLICT DO NOTHING", (epoch,))
    rows = yield Sql("SELECT value FROM streamhil_meta WHERE key = 'epoch'")
    return str(rows[0][0])


def thread_from_row(row: Sequence[Any]) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row[0], graph=row[1], owner=row[2], status=row[3], interrupts=orjson.loads(row[4]), error=row[5],
        created_at=row[6], updated_at=row[7], metadata=orjson.loads(row[8] or "{}"), head_seq=int(row[9] or 0),
        open_run=row[10],
    )


def rows_of(statement: Sql) -> Tx[list[tuple[Any, ...]]]:
    rows = yield statement
    return list(rows)


# --- one write's statements ----------------------------------------------------------------------


def _upserts(write: Write) -> list[Sql]:
    """The statements of ``write`` that need nothing read first (sent together, pipelined)."""
    out: list[Sql] = []
    if write.events:
        out.append(Sql(
            "INSERT INTO streamhil_events (thread_id, seq, run_id, frame)"
            " SELECT * FROM unnest(%b::text[], %b::int4[]::int8[], %b::text[], %b::text[])",
            (
                TextArray(r.thread_id for r in write.events), IntArray(r.seq for r in write.events),
                TextArray(r.run_id for r in write.events), TextArray(r.frame for r in write.events),
            ),
        ))
    for t in write.threads:
        out.append(Sql(
            f"INSERT INTO streamhil_threads ({_THREAD_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (thread_id) DO UPDATE SET graph = EXCLUDED.graph, owner = EXCLUDED.owner,"
            " status = EXCLUDED.status, interrupts = EXCLUDED.interrupts, error = EXCLUDED.error,"
            " created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,"
            " metadata = EXCLUDED.metadata, n_interrupts = EXCLUDED.n_interrupts",
            (
                t.thread_id, t.graph, t.owner, t.status, orjson.dumps(t.interrupts).decode(), t.error,
                t.created_at, t.updated_at, orjson.dumps(t.metadata).decode(), len(t.interrupts),
            ),
        ))
    for r in write.runs:
        out.append(Sql(
            f"INSERT INTO streamhil_runs ({RUN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id) DO UPDATE SET thread_id = EXCLUDED.thread_id, kind = EXCLUDED.kind,"
            " status = EXCLUDED.status, params = EXCLUDED.params, ended_at = EXCLUDED.ended_at",  # created_at: its place in the queue
            (r.run_id, r.thread_id, r.kind, r.status, orjson.dumps(r.params).decode(), r.created_at, r.ended_at),
        ))
    if write.answered:
        out.append(Sql(
            # no ON CONFLICT: an interrupt answered twice fails the write (AnswerConflictError)
            "INSERT INTO streamhil_answered (thread_id, interrupt_id) SELECT * FROM unnest(%b::text[], %b::text[])",
            (TextArray(t for t, _ in write.answered), TextArray(i for _, i in write.answered)),
        ))
    if write.events:
        heads: dict[str, int] = {}
        for row in write.events:
            heads[row.thread_id] = max(row.seq, heads.get(row.thread_id, 0))
        out.append(Sql(
            f"SELECT pg_notify('{CHANNEL}', t || ':' || s) FROM unnest(%b::text[], %b::int4[]) AS x(t, s)",
            (TextArray(heads), IntArray(heads.values())),
        ))
    for thread_id, keep_after in write.trim_events:
        out.append(Sql("DELETE FROM streamhil_events WHERE thread_id = %s AND seq <= %s", (thread_id, keep_after)))
    return out


def apply_write(
    write: Write, known: Mapping[tuple[str, str, str], StoredCheckpoint], fence: Sql | None = None
) -> Tx[StoredCheckpoint | None]:
    """Every statement of ``write``, sent together when nothing must be read first; returns the
    checkpoint it saved (for the parent cache). ``fence`` (the lease check) goes first."""
    if fence is not None and write.forget_threads:
        yield fence
        fence = None
    for thread_id in write.forget_threads:
        yield from sql.delete_thread(thread_id)
        for table in ("events", "answered", "runs", "threads"):
            yield Sql(f"DELETE FROM streamhil_{table} WHERE thread_id = %s", (thread_id,))
    stored = None
    statements: list[Sql] = []
    put = write.checkpoint
    args = None
    if put is not None:
        parent = put.parent
        args = sql.PutArgs(parent, put.checkpoint, put.metadata, put.changed, put.writes)
        cached = known.get((parent.thread_id, parent.checkpoint_ns, parent.checkpoint_id or ""))
        if parent.checkpoint_id is None or cached is not None:
            # the library's one-statement save, given the parent as this process saved it
            statement, stored = sql._put_statement(args, cached)
            statements.append(statement)
        else:
            if fence is not None:
                yield fence
                fence = None
            stored = yield from sql.put(args, None)  # reads the parent first
            args = None
    if fence is not None:
        statements.insert(0, fence)
    statements += [sql.writes_statement(w.address, w.writes) for w in write.task_writes]
    statements += _upserts(write)
    if len(statements) == 1:
        results = [(yield statements[0])]
    elif statements:
        results = yield Batch(tuple(statements))
    if fence is not None:
        results = results[1:]
    if args is not None and not results[0][0][0]:  # the cached parent was deleted meanwhile
        stored = yield from sql.put(args, None)
    return stored
