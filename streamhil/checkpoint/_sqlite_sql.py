"""SqliteSaver's schema and transactions, written sans-I/O.

Each transaction is a generator that yields :class:`Sql` statements and is sent back the rows
each one returned; its return value is the transaction's result. A driver
(:mod:`._sqlite_drivers`) runs it inside ``BEGIN``/``COMMIT`` on aiosqlite or on stdlib sqlite3 in
a worker thread, and rolls back if it raises, so the SQL lives in one place for both.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

import orjson

from ..errors import CheckpointError
from ._metadata_filter import sqlite_terms
from ._records import Address, EncodedWrites, ListCursor, ListScope, StoredCheckpoint, list_sort_key, matches, plan_values
from .base import Checkpoint

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Sql",
    "Tx",
    "Mode",
    "Loaded",
    "configure",
    "configure_shared",
    "schema_is_current",
    "ensure_schema",
    "ping",
    "get_tuple",
    "list_page",
    "put",
    "put_writes",
    "delete_thread",
    "list_threads",
]

T = TypeVar("T")
Row = tuple[Any, ...]


class Sql(NamedTuple):
    """One statement; ``many`` runs it once per row of ``params`` (executemany)."""

    sql: str
    params: Sequence[Any] | Mapping[str, Any] = ()
    many: bool = False


Tx = Generator[Sql, list[Row], T]
Mode = Literal["read", "write"] | None
"""``"write"`` runs in ``BEGIN IMMEDIATE``, ``"read"`` in ``BEGIN``, ``None`` outside any."""

Loaded = tuple[StoredCheckpoint, dict[str, bytes], list[tuple[str, str, bytes]]]
"""A checkpoint row with its blobs and its pending writes, not yet deserialised."""

_TABLES = """
CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id            TEXT NOT NULL,
    checkpoint_ns        TEXT NOT NULL,
    checkpoint_id        TEXT NOT NULL,
    parent_checkpoint_id TEXT,
    ts                   TEXT NOT NULL,
    v                    INTEGER NOT NULL,
    metadata             TEXT NOT NULL,  -- JSON
    versions             TEXT NOT NULL,  -- JSON {channel: version}
    values_from          TEXT NOT NULL,  -- JSON {channel: id of the checkpoint that stored its blob}
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS checkpoints_by_id ON checkpoints (checkpoint_ns, checkpoint_id, thread_id);
CREATE TABLE IF NOT EXISTS blobs (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    channel       TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,  -- the checkpoint that stored this value
    version,                      -- the channel version it holds
    value         BLOB NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, checkpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS writes (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    task_pos      INTEGER NOT NULL,  -- order of the task's first save on this checkpoint
    seq           INTEGER NOT NULL,  -- order within the task's writes
    channel       TEXT NOT NULL,
    value         BLOB NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, seq)
) WITHOUT ROWID;
"""

_LIST_ORDER_INDEXES = """
CREATE INDEX IF NOT EXISTS checkpoints_by_thread ON checkpoints (thread_id, checkpoint_id, checkpoint_ns);
CREATE INDEX IF NOT EXISTS checkpoints_in_list_order ON checkpoints (checkpoint_id, thread_id, checkpoint_ns);
DROP INDEX IF EXISTS checkpoints_by_id;
"""

MIGRATIONS: tuple[str, ...] = (
    _TABLES,  # 1: the three tables
    # 2: indexes in list order (checkpoint_id, thread_id, checkpoint_ns descending) for the
    # listings that cross namespaces: a thread's (no checkpoint_ns, LangGraph's usual call) and
    # every thread's (alist(None)); a namespace's own listing reads the primary key. The
    # namespace-first index of version 1 served no statement.
    _LIST_ORDER_INDEXES,
)
"""Migration ``i`` takes the file from ``PRAGMA user_version`` ``i`` to ``i + 1``. Append, never
edit; a ``;`` only ever ends a statement."""

SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, ts, v, metadata, versions, "
    "values_from"
)
_LANE = "thread_id = ? AND checkpoint_ns = ?"


def configure(busy_timeout_ms: int) -> Tx[None]:
    """Per-connection settings; runs outside a transaction (journal_mode cannot change in one)."""
    yield Sql(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    rows = yield Sql("PRAGMA journal_mode = WAL")
    if rows and str(rows[0][0]).lower() != "wal":
        raise CheckpointError(f"SQLite refused WAL mode (journal_mode is {rows[0][0]!r})")
    yield Sql("PRAGMA synchronous = NORMAL")
    # Statement journals (a savepoint per caller under group commit) in memory, not in a temp
    # file created and deleted for each: they only undo a statement inside a transaction.
    yield Sql("PRAGMA temp_store = MEMORY")


def configure_shared() -> Tx[None]:
    """The one setting made on a connection the caller owns: the file in WAL mode (readers and a
    writer at once), kept by the file itself. An in-memory database answers ``memory``, which is
    fine for its one connection. Mode: None."""
    yield Sql("PRAGMA journal_mode = WAL")


def _schema_version(path: str) -> Tx[int]:
    """The file's schema version (0 for a new file); refuse a newer one."""
    rows = yield Sql("PRAGMA user_version")
    version = int(rows[0][0])
    if version > SCHEMA_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint schema version {version}, but this streamhil reads up to "
            f"version {SCHEMA_VERSION}; upgrade streamhil to open it"
        )
    return version


def schema_is_current(path: str) -> Tx[bool]:
    """Whether the file already has this schema (no lock taken); refuse a newer one. Mode: None."""
    return (yield from _schema_version(path)) == SCHEMA_VERSION


def ensure_schema(path: str) -> Tx[None]:
    """Create the tables in a new file, or migrate an older one; refuse a file written by a newer
    schema. Mode: write (the version is read again under the write lock)."""
    found = yield from _schema_version(path)
    for version in range(found, SCHEMA_VERSION):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                yield Sql(statement)
    if found != SCHEMA_VERSION:
        yield Sql(f"PRAGMA user_version = {SCHEMA_VERSION}")


def ping() -> Tx[None]:
    """Nothing: running it opens (and sets up) the connection."""
    return
    yield  # pragma: no cover - makes this a generator


def _stored(row: Row) -> StoredCheckpoint:
    return StoredCheckpoint(
        thread_id=row[0],
        checkpoint_ns=row[1],
        checkpoint_id=row[2],
        parent_id=row[3],
        ts=row[4],
        v=row[5],
        metadata=row[6].encode(),
        versions=orjson.loads(row[7]),
        values_from=orjson.loads(row[8]),
    )


def _load_parts(stored: StoredCheckpoint) -> Tx[Loaded]:
    lane = (stored.thread_id, stored.checkpoint_ns)
    # CROSS JOIN makes json_each the outer loop: one primary-key lookup per needed blob. (With a
    # plain JOIN the planner scanned every blob of the thread and cost grew with its history.)
    blob_rows = yield Sql(
        "SELECT b.channel, b.value FROM json_each(?) AS j CROSS JOIN blobs AS b"
        " ON b.thread_id = ? AND b.checkpoint_ns = ? AND b.channel = j.key"
        " AND b.checkpoint_id = j.value",
        (orjson.dumps(stored.values_from).decode(), *lane),
    )
    write_rows = yield Sql(
        f"SELECT task_id, channel, value FROM writes WHERE {_LANE} AND checkpoint_id = ?"
        " ORDER BY task_pos, seq",
        (*lane, stored.checkpoint_id),
    )
    blobs = {channel: bytes(value) for channel, value in blob_rows}
    missing = set(stored.values_from) - set(blobs)
    if missing:
        raise CheckpointError(
            f"checkpoint {stored.checkpoint_id} of thread {stored.thread_id!r} lacks the stored "
            f"values of {sorted(missing)}; the database is damaged"
        )
    return stored, blobs, [(task, channel, bytes(value)) for task, channel, value in write_rows]


def get_tuple(address: Address) -> Tx[Loaded | None]:
    """The addressed (or latest) checkpoint with its blobs and writes. Mode: read."""
    lane = (address.thread_id, address.checkpoint_ns)
    if address.checkpoint_id is None:
        rows = yield Sql(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {_LANE} ORDER BY checkpoint_id DESC LIMIT 1",
            lane,
        )
    else:
        rows = yield Sql(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {_LANE} AND checkpoint_id = ?",
            (*lane, address.checkpoint_id),
        )
    if not rows:
        return None
    return (yield from _load_parts(_stored(rows[0])))


Cursor = ListCursor  # (checkpoint_id, thread_id, checkpoint_ns): list order is the three, descending


def list_page(
    scope: ListScope,
    after: Cursor | None,
    filter: Mapping[str, Any] | None,
    want: int,
    page_size: int = 50,
) -> Tx[tuple[list[Loaded], Cursor | None]]:
    """Up to ``want`` matching checkpoints of ``scope`` after ``after`` (in list order), and the
    cursor to go on from (None when there is nothing more). Mode: read."""
    wheres, params = _scope_where(scope)
    meta_terms, meta_params = sqlite_terms(filter, "metadata")  # rows that cannot match stay unread
    wheres += meta_terms
    params.update(meta_params)
    if after is not None:
        wheres.append("(checkpoint_id, thread_id, checkpoint_ns) < (:after_id, :after_thread, :after_ns)")
        params.update(after_id=after[0], after_thread=after[1], after_ns=after[2])
    where = " AND ".join(wheres) or "1"
    order = "checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC"
    rows = yield Sql(
        f"SELECT {_COLUMNS} FROM checkpoints WHERE {where} ORDER BY {order} LIMIT {int(page_size)}",
        params,
    )
    found: list[Loaded] = []
    cursor: Cursor | None = None
    for row in rows:
        stored = _stored(row)
        cursor = list_sort_key(stored)
        if matches(stored, filter):
            found.append((yield from _load_parts(stored)))
            if len(found) >= want:
                return found, cursor
    return found, (cursor if len(rows) == page_size else None)


def _scope_where(scope: ListScope) -> tuple[list[str], dict[str, Any]]:
    """The WHERE terms (and their named parameters) that keep a listing to ``scope``."""
    wheres: list[str] = []
    params: dict[str, Any] = {}
    for column, value in (
        ("thread_id", scope.thread_id),
        ("checkpoint_ns", scope.checkpoint_ns),
        ("checkpoint_id", scope.checkpoint_id),
    ):
        if value is not None:
            wheres.append(f"{column} = :{column}")
            params[column] = value
    return wheres, params


def put(
    address: Address,
    checkpoint: Checkpoint,
    metadata: bytes,
    changed: dict[str, bytes],
    writes: EncodedWrites,
    cached_parent: StoredCheckpoint | None = None,
) -> Tx[None]:
    """The checkpoint row, its new blobs, and the parent's pending writes. Mode: write.

    ``cached_parent``: the parent as the caller last saw it stored (checkpoints never change),
    so it is not read again; used only if it is the addressed parent.
    """
    lane = (address.thread_id, address.checkpoint_ns)
    parent_id = address.checkpoint_id
    parent = None
    if cached_parent is not None and parent_id is not None and cached_parent.checkpoint_id == parent_id:
        parent = cached_parent
    elif parent_id is not None:
        rows = yield Sql(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {_LANE} AND checkpoint_id = ?",
            (*lane, parent_id),
        )
        parent = _stored(rows[0]) if rows else None
    values_from, blobs = plan_values(checkpoint, changed, parent)
    versions = checkpoint.channel_versions
    if blobs:
        yield Sql(
            "INSERT OR REPLACE INTO blobs (thread_id, checkpoint_ns, channel, checkpoint_id, version, value)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(*lane, channel, checkpoint.id, versions.get(channel), data) for channel, data in blobs.items()],
            many=True,
        )
    yield Sql(
        f"INSERT OR REPLACE INTO checkpoints ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *lane,
            checkpoint.id,
            parent_id,
            checkpoint.ts,
            checkpoint.v,
            metadata.decode(),
            orjson.dumps(versions).decode(),
            orjson.dumps(values_from).decode(),
        ),
    )
    if parent_id is not None and writes:
        yield from put_writes(Address(*lane, parent_id), writes)


def put_writes(address: Address, writes: EncodedWrites) -> Tx[None]:
    """Replace each task's writes, keeping the task's first position. Mode: write."""
    key = (address.thread_id, address.checkpoint_ns, address.checkpoint_id)
    rows = yield Sql(
        f"SELECT task_id, MIN(task_pos) FROM writes WHERE {_LANE} AND checkpoint_id = ? GROUP BY task_id",
        key,
    )
    positions: dict[str, int] = {task_id: position for task_id, position in rows}
    next_pos = max(positions.values(), default=-1) + 1
    replaced = [task_id for task_id in writes if task_id in positions]  # the others have no rows yet
    if replaced:
        yield Sql(
            f"DELETE FROM writes WHERE {_LANE} AND checkpoint_id = ? AND task_id IN (SELECT value FROM json_each(?))",
            (*key, orjson.dumps(replaced).decode()),
        )
    new_rows: list[Row] = []
    for task_id, task_writes in writes.items():
        if not task_writes:
            continue
        position = positions.get(task_id)
        if position is None:
            position, next_pos = next_pos, next_pos + 1
        new_rows.extend(
            (*key, task_id, position, seq, channel, data) for seq, (channel, data) in enumerate(task_writes)
        )
    if new_rows:
        yield Sql(
            "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_pos, seq, channel, value)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            new_rows,
            many=True,
        )


def delete_thread(thread_id: str) -> Tx[None]:
    """Every row of the thread, in every namespace. Mode: write."""
    for table in ("writes", "blobs", "checkpoints"):
        yield Sql(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))


def list_threads() -> Tx[list[str]]:
    """Thread ids, most recently checkpointed first. Mode: read."""
    rows = yield Sql(
        "SELECT thread_id FROM checkpoints GROUP BY thread_id"
        " ORDER BY MAX(checkpoint_id) DESC, thread_id DESC"
    )
    return [row[0] for row in rows]
