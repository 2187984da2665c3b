"""PostgresSaver's statements, written sans-I/O (its tables and migrations: :mod:`._postgres_schema`).

As in :mod:`._sqlite_sql`, each operation is a generator that yields :class:`Sql` statements and
is sent back the rows each returned; a driver (:mod:`._postgres_drivers`) runs it on psycopg's
async or sync connections. Unlike SQLite's, every operation but the migration is a series of
*single statements in autocommit*: a save is one statement whose data-modifying CTEs write the
blobs, the checkpoint row and the pending writes together, so it is atomic and costs one round
trip with no ``BEGIN``/``COMMIT``. Measured with psycopg, a pipelined ``BEGIN; ...; COMMIT``
took three times the client CPU of one statement.

Safety across processes without a transaction:

- a save whose unchanged channels point at the parent's blobs first locks the parent row
  (``FOR KEY SHARE``, in the statement's ``guard`` CTE) and writes nothing if the parent is gone;
  the saver then reads the parent again and, finding none, stores every channel itself;
- deleting a thread deletes its checkpoints, blobs and writes in one statement, repeated until
  one finds nothing: a save that had locked a parent finishes first, and what it added is taken
  by the next round.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

import orjson

from ..errors import CheckpointError
from ._metadata_filter import postgres_terms
from ._records import Address, EncodedWrites, ListCursor, ListScope, StoredCheckpoint, matches, plan_values
from .base import Checkpoint

__all__ = [
    "Sql",
    "Batch",
    "PutArgs",
    "WritesArgs",
    "save_many",
    "TextArray",
    "IntArray",
    "ByteaArray",
    "Tx",
    "Mode",
    "Loaded",
    "Cursor",
    "ping",
    "get_tuple",
    "get_parent",
    "list_page",
    "put",
    "put_writes",
    "delete_thread",
    "list_threads",
]

T = TypeVar("T")
Row = tuple[Any, ...]


class TextArray(list[str | None]):
    """A ``text[]`` parameter; the driver sends it in binary without inspecting its items."""


class IntArray(list[int]):
    """An ``int4[]`` parameter (binary, like :class:`TextArray`)."""


class ByteaArray(list[bytes]):
    """A ``bytea[]`` parameter (binary, like :class:`TextArray`)."""


class Sql(NamedTuple):
    """One statement with its parameters (``%(name)s`` placeholders take a mapping)."""

    sql: str
    params: Sequence[Any] | Mapping[str, Any] = ()


class Batch(NamedTuple):
    """Statements sent together in one round trip (psycopg's pipeline mode); the generator is
    sent back the rows of each, in order. Each is still atomic on its own."""

    statements: tuple[Sql, ...]


Tx = Generator[Sql | Batch, Any, T]
Mode = Literal["tx"] | None
"""``"tx"`` runs the whole generator inside one transaction; ``None`` runs each statement in
autocommit (each is atomic on its own)."""

Loaded = tuple[StoredCheckpoint, dict[str, bytes], list[tuple[str, str, bytes]]]
"""A checkpoint row with its blobs and its pending writes, not yet deserialised."""

def ping() -> Tx[None]:
    """One trivial statement: proves the connection works."""
    yield Sql("SELECT 1")


# -- reading -----------------------------------------------------------------------------------

# A checkpoint row with its blobs and writes, aggregated into arrays: one statement, one trip.
_SELECT_LOADED = """
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.ts, c.v,
       c.metadata::text, c.versions::text, c.values_from::text,
       bl.channels, bl.blob_values, wr.tasks, wr.channels, wr.write_values
FROM streamhil_checkpoints c
CROSS JOIN LATERAL (
    SELECT array_agg(b.channel) AS channels, array_agg(b.value) AS blob_values
    FROM json_each_text(c.values_from) AS j
    JOIN streamhil_checkpoint_blobs b
      ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
     AND b.channel = j.key AND b.checkpoint_id = j.value
) bl
CROSS JOIN LATERAL (
    SELECT array_agg(w.task_id ORDER BY w.task_pos, w.task_id, w.seq) AS tasks,
           array_agg(w.channel ORDER BY w.task_pos, w.task_id, w.seq) AS channels,
           array_agg(w.value ORDER BY w.task_pos, w.task_id, w.seq) AS write_values
    FROM streamhil_checkpoint_writes w
    WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
      AND w.checkpoint_id = c.checkpoint_id
) wr
"""

_GET_LATEST = (
    _SELECT_LOADED
    + "WHERE c.thread_id = %s AND c.checkpoint_ns = %s ORDER BY c.checkpoint_id DESC LIMIT 1"
)
_GET_BY_ID = _SELECT_LOADED + "WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND c.checkpoint_id = %s"
_GET_PARENT = (
    "SELECT versions::text, values_from::text FROM streamhil_checkpoints"
    " WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s"
)


def _loaded(row: Row) -> Loaded:
    stored = StoredCheckpoint(
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
    blobs = dict(zip(row[9], map(bytes, row[10]))) if row[9] is not None else {}
    missing = set(stored.values_from) - set(blobs)
    if missing:
        raise CheckpointError(
            f"checkpoint {stored.checkpoint_id} of thread {stored.thread_id!r} lacks the stored "
            f"values of {sorted(missing)}; the database is damaged"
        )
    writes = list(zip(row[11], row[12], map(bytes, row[13]))) if row[11] is not None else []
    return stored, blobs, writes


def get_tuple(address: Address) -> Tx[Loaded | None]:
    """The addressed (or latest) checkpoint with its blobs and writes."""
    if address.checkpoint_id is None:
        rows = yield Sql(_GET_LATEST, (address.thread_id, address.checkpoint_ns))
    else:
        rows = yield Sql(_GET_BY_ID, (address.thread_id, address.checkpoint_ns, address.checkpoint_id))
    return _loaded(rows[0]) if rows else None


def get_parent(address: Address) -> Tx[tuple[dict[str, Any], dict[str, str]] | None]:
    """``(versions, values_from)`` of the addressed checkpoint, or None if there is none."""
    rows = yield Sql(_GET_PARENT, (address.thread_id, address.checkpoint_ns, address.checkpoint_id))
    if not rows:
        return None
    return orjson.loads(rows[0][0]), orjson.loads(rows[0][1])


Cursor = ListCursor  # (checkpoint_id, thread_id, checkpoint_ns): list order is the three, descending

_SCOPE_TERMS = (
    ("thread_id", "c.thread_id = %(thread_id)s::text"),
    ("checkpoint_ns", "c.checkpoint_ns = %(checkpoint_ns)s::text"),
    ("checkpoint_id", "c.checkpoint_id = %(checkpoint_id)s::text"),
)
_AFTER = (
    "(c.checkpoint_id, c.thread_id, c.checkpoint_ns)"
    " < (%(after_id)s::text, %(after_thread)s::text, %(after_ns)s::text)"
)


def list_page(
    scope: ListScope,
    after: Cursor | None,
    filter: Mapping[str, Any] | None,
    want: int,
    page_size: int = 50,
) -> Tx[tuple[list[Loaded], Cursor | None]]:
    """Up to ``want`` matching checkpoints of ``scope`` after ``after`` (in list order), and the
    cursor to go on from (None when there is nothing more). The metadata filter is applied
    here, with Python's equality, as in SQLite, on the rows SQL pre-checked it on (so a row
    that cannot match is not loaded)."""
    wheres: list[str] = []
    params: dict[str, Any] = {"limit": page_size}
    for field, term in _SCOPE_TERMS:
        value = getattr(scope, field)
        if value is not None:
            wheres.append(term)
            params[field] = value
    meta_terms, meta_params = postgres_terms(filter, "c.metadata")  # rows that cannot match stay unread
    wheres += meta_terms
    params.update(meta_params)
    if after is not None:
        wheres.append(_AFTER)
        params.update(after_id=after[0], after_thread=after[1], after_ns=after[2])
    statement = Sql(
        _SELECT_LOADED
        + ("WHERE " + " AND ".join(wheres) if wheres else "")
        + " ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.checkpoint_ns DESC LIMIT %(limit)s",
        params,
    )
    rows = yield statement
    found: list[Loaded] = []
    cursor: Cursor | None = None
    for row in rows:
        cursor = (row[2], row[0], row[1])
        loaded = _loaded(row)
        if matches(loaded[0], filter):
            found.append(loaded)
            if len(found) >= want:
                return found, cursor
    return found, (cursor if len(rows) == page_size else None)


def list_threads() -> Tx[list[str]]:
    """Thread ids, most recently checkpointed first."""
    rows = yield Sql(
        "SELECT thread_id FROM streamhil_checkpoints GROUP BY thread_id"
        " ORDER BY max(checkpoint_id) DESC, thread_id DESC"
    )
    return [row[0] for row in rows]


# -- writing -----------------------------------------------------------------------------------

# The pending writes of one checkpoint (%(wid)s), replacing each listed task's earlier ones: rows
# are upserted by (task, seq), and the task's rows past its new count are deleted (disjoint rows,
# so one statement can do both). A task seen before keeps its position; a new one goes after
# every task already there, in the order of this call.
_WRITES_CTES = """
incoming AS (
    SELECT * FROM unnest(%(w_tasks)b, %(w_seqs)b, %(w_channels)b,
                         %(w_values)b, %(w_orders)b)
           AS i(task_id, seq, channel, value, ord)
),
seen AS (
    SELECT task_id, min(task_pos) AS pos FROM streamhil_checkpoint_writes
    WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s AND checkpoint_id = %(wid)s
      AND task_id = ANY(%(d_tasks)b)
    GROUP BY task_id
),
top AS (
    SELECT coalesce(max(task_pos), -1) AS pos FROM streamhil_checkpoint_writes
    WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s AND checkpoint_id = %(wid)s
      AND cardinality(%(w_tasks)b) > 0
),
new_writes AS (
    INSERT INTO streamhil_checkpoint_writes
        (thread_id, checkpoint_ns, checkpoint_id, task_id, task_pos, seq, channel, value)
    SELECT %(thread)s, %(ns)s, %(wid)s, i.task_id, coalesce(seen.pos, top.pos + 1 + i.ord),
           i.seq, i.channel, i.value
    FROM incoming i CROSS JOIN top CROSS JOIN guard LEFT JOIN seen ON seen.task_id = i.task_id
    WHERE guard.ok
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, seq)
    DO UPDATE SET channel = EXCLUDED.channel, value = EXCLUDED.value
),
stale_writes AS (
    DELETE FROM streamhil_checkpoint_writes w
    USING unnest(%(d_tasks)b, %(d_counts)b) AS d(task_id, n), guard
    WHERE guard.ok AND w.thread_id = %(thread)s AND w.checkpoint_ns = %(ns)s
      AND w.checkpoint_id = %(wid)s AND w.task_id = d.task_id AND w.seq >= d.n
)
"""

_PUT_CTES = """
WITH guard AS (
    SELECT NOT %(need_parent)s OR EXISTS (
        SELECT 1 FROM streamhil_checkpoints
        WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s AND checkpoint_id = %(parent)s
        FOR KEY SHARE
    ) AS ok
),
new_blobs AS (
    INSERT INTO streamhil_checkpoint_blobs
        (thread_id, checkpoint_ns, channel, checkpoint_id, version, value)
    SELECT %(thread)s, %(ns)s, b.channel, %(id)s, b.version, b.value
    FROM unnest(%(b_channels)b, %(b_versions)b, %(b_values)b)
         AS b(channel, version, value), guard
    WHERE guard.ok
    ON CONFLICT (thread_id, checkpoint_ns, channel, checkpoint_id)
    DO UPDATE SET version = EXCLUDED.version, value = EXCLUDED.value
),
new_checkpoint AS (
    INSERT INTO streamhil_checkpoints
        (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, ts, v, metadata,
         versions, values_from)
    SELECT %(thread)s, %(ns)s, %(id)s, %(parent)s, %(ts)s, %(v)s, %(metadata)s::json,
           %(versions)s::json, %(values_from)s::json
    FROM guard WHERE guard.ok
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, ts = EXCLUDED.ts, v = EXCLUDED.v,
        metadata = EXCLUDED.metadata, versions = EXCLUDED.versions,
        values_from = EXCLUDED.values_from
)"""

_PUT = _PUT_CTES + ",\n" + _WRITES_CTES + "SELECT ok FROM guard"
_PUT_NO_WRITES = _PUT_CTES + "\nSELECT ok FROM guard"
"""A save without pending writes: half the parameters, so less to encode."""

_PUT_WRITES = "WITH guard AS (SELECT true AS ok),\n" + _WRITES_CTES + "SELECT 1"


def _writes_params(writes: EncodedWrites) -> dict[str, Any]:
    tasks: list[str] = []
    seqs: list[int] = []
    channels: list[str] = []
    values: list[bytes] = []
    orders: list[int] = []
    for order, (task_id, task_writes) in enumerate(writes.items()):
        for seq, (channel, data) in enumerate(task_writes):
            tasks.append(task_id)
            seqs.append(seq)
            channels.append(channel)
            values.append(data)
            orders.append(order)
    return {
        "w_tasks": TextArray(tasks),
        "w_seqs": IntArray(seqs),
        "w_channels": TextArray(channels),
        "w_values": ByteaArray(values),
        "w_orders": IntArray(orders),
        "d_tasks": TextArray(writes),
        "d_counts": IntArray(len(task_writes) for task_writes in writes.values()),
    }


class PutArgs(NamedTuple):
    """An ``aput``'s arguments, encoded."""

    address: Address
    checkpoint: Checkpoint
    metadata: bytes
    changed: dict[str, bytes]
    writes: EncodedWrites


class WritesArgs(NamedTuple):
    """An ``aput_writes``'s arguments, encoded."""

    address: Address
    writes: EncodedWrites


def _put_statement(args: PutArgs, parent: StoredCheckpoint | None) -> tuple[Sql, StoredCheckpoint]:
    """The save's statement, given what is known of its parent, and the checkpoint as stored."""
    address, checkpoint = args.address, args.checkpoint
    lane = (address.thread_id, address.checkpoint_ns)
    parent_id = address.checkpoint_id
    values_from, blobs = plan_values(checkpoint, args.changed, parent)
    # Only a checkpoint that reuses a blob of its ancestors depends on the parent's row.
    need_parent = parent is not None and any(origin != checkpoint.id for origin in values_from.values())
    versions = checkpoint.channel_versions
    params: dict[str, Any] = {
        "thread": lane[0],
        "ns": lane[1],
        "id": checkpoint.id,
        "parent": parent_id,
        "need_parent": need_parent,
        "ts": checkpoint.ts,
        "v": checkpoint.v,
        "metadata": args.metadata.decode(),
        "versions": orjson.dumps(versions).decode(),
        "values_from": orjson.dumps(values_from).decode(),
        "b_channels": TextArray(blobs),
        "b_versions": TextArray(None if versions.get(c) is None else str(versions[c]) for c in blobs),
        "b_values": ByteaArray(blobs.values()),
    }
    statement = _PUT_NO_WRITES
    if parent_id is not None and args.writes:
        statement = _PUT
        params["wid"] = parent_id
        params.update(_writes_params(args.writes))
    stored = StoredCheckpoint(
        *lane, checkpoint.id, parent_id, checkpoint.ts, checkpoint.v, b"", dict(versions), values_from
    )
    return Sql(statement, params), stored


def put(args: PutArgs, cached_parent: StoredCheckpoint | None) -> Tx[StoredCheckpoint]:
    """The checkpoint row, its new blobs, and the parent's pending writes, in one statement.

    ``cached_parent`` is the parent as this process last saw it (checkpoints never change), so
    the save needs no read first; if the parent has since been deleted, nothing is written and
    the parent is read again. Returns the new checkpoint as stored (for the caller's cache;
    without its metadata).
    """
    address = args.address
    parent = cached_parent
    if address.checkpoint_id is not None and parent is None:
        parent = yield from _read_parent(address)
    while True:
        statement, stored = _put_statement(args, parent)
        rows = yield statement
        if rows[0][0]:
            return stored
        parent = None  # the parent was deleted meanwhile: store every channel here


def _read_parent(address: Address) -> Tx[StoredCheckpoint | None]:
    found = yield from get_parent(address)
    if found is None:
        return None
    assert address.checkpoint_id is not None
    return StoredCheckpoint(
        address.thread_id, address.checkpoint_ns, address.checkpoint_id, None, "", 0, b"", found[0], found[1]
    )


Key = tuple[str, str, str]


def _parent_key(address: Address) -> Key | None:
    if address.checkpoint_id is None:
        return None
    return (address.thread_id, address.checkpoint_ns, address.checkpoint_id)


def save_many(calls: Sequence[PutArgs | WritesArgs], known: Mapping[Key, StoredCheckpoint]) -> Tx[list[StoredCheckpoint]]:
    """Make ``calls`` in order, as few round trips as possible: every run of calls whose parents
    are known (from ``known``, or saved earlier in the run) goes as one :class:`Batch`. A save
    whose parent is unknown reads it first, as :func:`put` does. If a save finds its parent gone,
    the calls from there on are made again one by one (saves and writes are idempotent upserts).
    Returns the checkpoints saved."""
    known = dict(known)
    saved: list[StoredCheckpoint] = []
    position = 0
    while position < len(calls):
        statements: list[Sql] = []
        planned: list[StoredCheckpoint | None] = []
        for call in calls[position:]:
            if isinstance(call, WritesArgs):
                statements.append(writes_statement(call.address, call.writes))
                planned.append(None)
                continue
            key = _parent_key(call.address)
            parent = known.get(key) if key is not None else None
            if key is not None and parent is None:
                break  # read the parent first (below)
            statement, stored = _put_statement(call, parent)
            known[(stored.thread_id, stored.checkpoint_ns, stored.checkpoint_id)] = stored
            statements.append(statement)
            planned.append(stored)
        if statements:
            if len(statements) == 1:
                results = [(yield statements[0])]  # a pipeline of one only costs more CPU
            else:
                results = yield Batch(tuple(statements))
            for offset, (planned_put, rows) in enumerate(zip(planned, results)):
                if planned_put is not None and not rows[0][0]:
                    gone = _parent_key(calls[position + offset].address)
                    for later in planned[offset:]:
                        if later is not None:
                            known.pop((later.thread_id, later.checkpoint_ns, later.checkpoint_id), None)
                    if gone is not None:
                        known.pop(gone, None)
                    position += offset
                    break
                if planned_put is not None:
                    saved.append(planned_put)
            else:
                position += len(statements)
            continue
        call = calls[position]
        assert isinstance(call, PutArgs)
        stored = yield from put(call, None)
        known[(stored.thread_id, stored.checkpoint_ns, stored.checkpoint_id)] = stored
        saved.append(stored)
        position += 1
    return saved


def writes_statement(address: Address, writes: EncodedWrites) -> Sql:
    params = {
        "thread": address.thread_id,
        "ns": address.checkpoint_ns,
        "wid": address.checkpoint_id,
        **_writes_params(writes),
    }
    return Sql(_PUT_WRITES, params)


def put_writes(address: Address, writes: EncodedWrites) -> Tx[None]:
    """Replace each task's writes on the addressed checkpoint, keeping the task's first position."""
    yield writes_statement(address, writes)


_DELETE_ROUND = """
WITH gone AS (
    DELETE FROM streamhil_checkpoints WHERE thread_id = %(thread)s RETURNING 1
), blobs AS (
    DELETE FROM streamhil_checkpoint_blobs WHERE thread_id = %(thread)s
), writes AS (
    DELETE FROM streamhil_checkpoint_writes WHERE thread_id = %(thread)s
)
SELECT count(*) FROM gone
"""


def delete_thread(thread_id: str) -> Tx[None]:
    """Every row of the thread, in every namespace: rounds until one finds no checkpoint."""
    while True:
        rows = yield Sql(_DELETE_ROUND, {"thread": thread_id})
        if rows[0][0] == 0:
            return
