"""Several processes on one PostgreSQL database: thread leases with fencing tokens, and the
command inbox through which a process hands a command to the process holding a thread. Sans-I/O
statements (run by :mod:`.postgres`) and the book of leases this process holds.

A lease is a row ``streamhil_leases(thread_id, owner, token, expires_at)``. A process takes a
free or expired lease in one statement, which adds one to its ``token``; every write of the
thread then calls ``streamhil_fence(ids, tokens, owner)`` first, in the same transaction: it
locks the process's lease rows (``FOR KEY SHARE``) and fails (SQLSTATE ``SH001``, nothing of the
write stored) unless each still has the token the process holds. A takeover locks the row
``FOR UPDATE`` first, so it waits for the write's commit, and once it is taken every later write
with the old token fails: a process that lost a lease can never write the thread again.
Renewals and releases update only ``expires_at`` (``FOR NO KEY UPDATE``, which a write's
``KEY SHARE`` does not block), so they never wait for the writer nor deadlock with it. A released lease keeps its row
(``expires_at = -infinity``), so tokens only grow and a process that takes a lease back with
the next token knows nobody else held it meanwhile.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

from streamhil.checkpoint._postgres_sql import IntArray, Sql, TextArray, Tx

from .base import LeaseGrant

__all__ = [
    "MIGRATION", "FENCE_SQLSTATE", "COMMANDS_CHANNEL", "LeaseBook", "fence_statement", "acquire", "holder", "renew", "release",
    "orphans", "post_command", "claim_command", "unclaimed_commands", "reply_command", "withdraw_command",
    "collect_reply", "settle_command", "prune_commands", "CLUSTER_MIGRATION", "PostgresInbox", "announce",
    "end_frozen_writer", "leave", "cluster",
]

FENCE_SQLSTATE = "SH001"
COMMANDS_CHANNEL = "streamhil_commands"
"""Payloads ``q:<target>:<id>`` (a command for ``target``) and ``a:<sender>:<id>`` (its answer)."""

MIGRATION = """
CREATE TABLE streamhil_leases (
    thread_id  text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL,
    token      bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE streamhil_inbox (
    id         text PRIMARY KEY,
    target     text NOT NULL,
    sender     text NOT NULL,
    thread_id  text NOT NULL,
    request    text NOT NULL,
    claimed    boolean NOT NULL DEFAULT false,
    reply      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX streamhil_inbox_unclaimed ON streamhil_inbox (target) WHERE NOT claimed;
CREATE FUNCTION streamhil_fence(ids text[], tokens bigint[], me text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    kept integer;
BEGIN
    PERFORM 1 FROM streamhil_leases AS l
      JOIN unnest(ids, tokens) AS f(thread_id, token) ON l.thread_id = f.thread_id AND l.token = f.token
     WHERE l.owner = me
       FOR KEY SHARE OF l;
    GET DIAGNOSTICS kept = ROW_COUNT;
    IF kept < cardinality(ids) THEN
        RAISE EXCEPTION 'streamhil: the lease of a thread this write changes was taken over'
            USING ERRCODE = 'SH001';
    END IF;
END $$;
"""
"""The server schema's migration 2 (see :mod:`.postgres_sql`)."""

CLUSTER_MIGRATION = """
ALTER TABLE streamhil_inbox ADD COLUMN outcome text;
CREATE TABLE streamhil_processes (
    owner      text PRIMARY KEY,
    host       text NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    writer_pid     integer,
    writer_started timestamptz
);
"""
"""Migration 4: a forwarded command's reply, stored by the holder in the transaction that makes
the command's effect durable (so its sender learns it even if the holder dies before replying);
and the processes serving the database, each announced by its keeper every round (for
operators: see :func:`cluster`)."""

_REMEMBERED = 100_000


class LeaseBook:
    """The leases this process holds (thread → token) and until when (monotonic clock) it may
    believe so without asking the database; and the last token it held of threads it gave up (to
    tell whether another process held them since)."""

    def __init__(self, owner: str, ttl: float) -> None:
        self.owner = owner
        self.ttl = ttl
        self.held: dict[str, int] = {}
        self.until: dict[str, float] = {}
        self._last: OrderedDict[str, int] = OrderedDict()

    def valid(self, thread_id: str) -> bool:
        """Held, and surely not expired: the database extended it less than ``0.9 * ttl``
        seconds ago (a process that stalled longer asks again before it trusts its memory)."""
        return thread_id in self.held and time.monotonic() < self.until.get(thread_id, 0.0)

    def extend(self, thread_ids: Iterable[str], asked_at: float) -> None:
        """The database extended these leases by a statement sent at ``asked_at``."""
        for thread_id in thread_ids:
            if thread_id in self.held:
                self.until[thread_id] = asked_at + 0.9 * self.ttl

    def grant(self, thread_id: str, token: int, asked_at: float) -> bool:
        """Record a lease just taken; True when no other process held it since this one did."""
        fresh = self._last.pop(thread_id, None) == token - 1
        self.held[thread_id] = token
        self.extend([thread_id], asked_at)
        return fresh

    def drop(self, thread_ids: Iterable[str]) -> None:
        """Forget leases given up (their last token is remembered)."""
        for thread_id in thread_ids:
            token = self.held.pop(thread_id, None)
            self.until.pop(thread_id, None)
            if token is not None:
                self._last[thread_id] = token
                while len(self._last) > _REMEMBERED:
                    self._last.popitem(last=False)

    def forget(self, thread_ids: Iterable[str]) -> None:
        """Lost leases: another process wrote the thread, nothing remembered of it is right."""
        for thread_id in thread_ids:
            self.held.pop(thread_id, None)
            self.until.pop(thread_id, None)
            self._last.pop(thread_id, None)


def fence_statement(thread_ids: Sequence[str], book: LeaseBook) -> Sql:
    """The first statement of a write changing ``thread_ids`` (all held: checked before)."""
    return Sql(
        "SELECT streamhil_fence(%b::text[], %b::int4[]::int8[], %s)",
        (TextArray(thread_ids), IntArray(book.held[t] for t in thread_ids), book.owner),
    )


def acquire(thread_id: str, owner: str, ttl: float, lock_timeout: float | None = None) -> Tx[LeaseGrant]:
    """Take the lease if it is free, expired, or this process's own (one it gave up whose
    release found the row busy); called only for threads this process does not hold. Run in a
    transaction: the row is locked ``FOR UPDATE`` first, after the writes fenced by it, waiting
    at most ``lock_timeout`` seconds for them (then SQLSTATE 55P03: ask again later)."""
    if lock_timeout is not None:
        yield Sql("SELECT set_config('lock_timeout', %s, true)", (f"{int(lock_timeout * 1000)}ms",))
    yield Sql("SELECT 1 FROM streamhil_leases WHERE thread_id = %s FOR UPDATE", (thread_id,))  # after writes
    rows = yield Sql(
        "INSERT INTO streamhil_leases AS l (thread_id, owner, token, expires_at)"
        " VALUES (%s, %s, 1, now() + make_interval(secs => %s))"
        " ON CONFLICT (thread_id) DO UPDATE SET owner = EXCLUDED.owner, token = l.token + 1,"
        " expires_at = EXCLUDED.expires_at WHERE l.expires_at < now() OR l.owner = EXCLUDED.owner RETURNING token",
        (thread_id, owner, ttl),
    )
    if rows:
        return LeaseGrant(int(rows[0][0]))
    rows = yield Sql(
        "SELECT owner, extract(epoch FROM expires_at - now()) FROM streamhil_leases WHERE thread_id = %s", (thread_id,)
    )
    if not rows:  # released and deleted meanwhile: try again
        return LeaseGrant(None, None, 0.0)
    return LeaseGrant(None, str(rows[0][0]), max(0.0, float(rows[0][1])))


def holder(thread_id: str) -> Tx[LeaseGrant]:
    """Who holds the lease as last committed (no lock: a write of theirs may be under way)."""
    rows = yield Sql(
        "SELECT owner, extract(epoch FROM expires_at - now()) FROM streamhil_leases WHERE thread_id = %s", (thread_id,)
    )
    if not rows:
        return LeaseGrant(None, None, 0.0)
    return LeaseGrant(None, str(rows[0][0]), max(0.0, float(rows[0][1])))


def renew(leases: dict[str, int], owner: str, ttl: float) -> Tx[set[str]]:
    """Extend every held lease; returns the threads whose lease was kept. Rows another process
    is taking over (locked ``FOR UPDATE``) are skipped; a second, non-locking read tells whether
    they are still this process's."""
    ids = list(leases)
    params = (TextArray(ids), IntArray(leases[t] for t in ids), owner)
    rows = yield Sql(
        "WITH mine AS (SELECT l.thread_id FROM streamhil_leases l"
        " JOIN unnest(%b::text[], %b::int4[]::int8[]) AS f(thread_id, token)"
        " ON l.thread_id = f.thread_id AND l.token = f.token WHERE l.owner = %s"
        " ORDER BY l.thread_id FOR NO KEY UPDATE OF l SKIP LOCKED)"
        " UPDATE streamhil_leases AS l SET expires_at = now() + make_interval(secs => %s)"
        " FROM mine WHERE l.thread_id = mine.thread_id RETURNING l.thread_id",
        (*params, ttl),
    )
    kept = {str(r[0]) for r in rows}
    if len(kept) < len(ids):
        rows = yield Sql(
            "SELECT l.thread_id FROM streamhil_leases l JOIN unnest(%b::text[], %b::int4[]::int8[]) AS f(thread_id, token)"
            " ON l.thread_id = f.thread_id AND l.token = f.token WHERE l.owner = %s",
            params,
        )
        kept |= {str(r[0]) for r in rows}
    return kept


def release(leases: dict[str, int], owner: str) -> Tx[None]:
    """Free these leases (a row being taken over is skipped: it is the taker's)."""
    yield Sql(
        "WITH mine AS (SELECT l.thread_id FROM streamhil_leases l"
        " JOIN unnest(%b::text[], %b::int4[]::int8[]) AS f(thread_id, token)"
        " ON l.thread_id = f.thread_id AND l.token = f.token WHERE l.owner = %s"
        " ORDER BY l.thread_id FOR NO KEY UPDATE OF l SKIP LOCKED)"
        " UPDATE streamhil_leases AS l SET expires_at = '-infinity' FROM mine WHERE l.thread_id = mine.thread_id",
        (TextArray(leases), IntArray(leases.values()), owner),
    )


def orphans(limit: int = 256) -> Tx[list[str]]:
    rows = yield Sql(
        "SELECT DISTINCT r.thread_id FROM streamhil_runs r LEFT JOIN streamhil_leases l ON l.thread_id = r.thread_id"
        " WHERE r.status IN ('queued', 'running') AND (l.thread_id IS NULL OR l.expires_at < now()) LIMIT %s",
        (limit,),
    )
    return [str(r[0]) for r in rows]


# --- the processes, for operators ----------------------------------------------------------------


def announce(
    owner: str, host: str, pid: int, ttl: float, writer_pid: int | None, prune_after: float | None = None
) -> Tx[None]:
    """This process is alive for ``ttl`` more seconds, and its writer is the database session
    ``writer_pid``; ``prune_after``: forget processes gone that long."""
    yield Sql(
        "INSERT INTO streamhil_processes AS p (owner, host, pid, expires_at, writer_pid, writer_started)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s), %s,"
        " (SELECT backend_start FROM pg_stat_activity WHERE pid = %s))"
        " ON CONFLICT (owner) DO UPDATE SET seen_at = now(), expires_at = EXCLUDED.expires_at,"
        " writer_pid = EXCLUDED.writer_pid, writer_started = EXCLUDED.writer_started",
        (owner, host, pid, ttl, writer_pid, writer_pid),
    )
    if prune_after is not None:
        yield Sql("DELETE FROM streamhil_processes WHERE expires_at < now() - make_interval(secs => %s)", (prune_after,))


def end_frozen_writer(owner: str) -> Tx[bool]:
    """End the writer session of ``owner`` if that process is gone (it has not said it is alive
    for a lease time): a process frozen inside a write holds its lease rows' locks, and
    ``idle_in_transaction_session_timeout`` does not end a session that stopped in the middle of
    a pipeline. True if a session was ended."""
    rows = yield Sql(
        "SELECT pg_terminate_backend(a.pid) FROM streamhil_processes p"
        " JOIN pg_stat_activity a ON a.pid = p.writer_pid AND a.backend_start = p.writer_started"
        " WHERE p.owner = %s AND p.expires_at < now()",
        (owner,),
    )
    return any(bool(r[0]) for r in rows)


def leave(owner: str) -> Tx[None]:
    yield Sql("DELETE FROM streamhil_processes WHERE owner = %s", (owner,))


def cluster() -> Tx[dict[str, Any]]:
    """What every process sees alike: the processes (alive: announced within their lease time),
    the leases each holds, takeovers due and forwarded commands not answered yet."""
    processes = yield Sql(
        "SELECT p.owner, p.host, p.pid, p.started_at, extract(epoch FROM now() - p.seen_at), p.expires_at > now(),"
        " (SELECT count(*) FROM streamhil_leases l WHERE l.owner = p.owner AND l.expires_at > now())"
        " FROM streamhil_processes p ORDER BY p.started_at, p.owner"
    )
    totals = yield Sql(
        "SELECT (SELECT count(*) FROM streamhil_leases WHERE expires_at > now()),"
        " (SELECT count(DISTINCT r.thread_id) FROM streamhil_runs r LEFT JOIN streamhil_leases l ON l.thread_id = r.thread_id"
        "   WHERE r.status IN ('queued', 'running') AND (l.thread_id IS NULL OR l.expires_at < now())),"
        " (SELECT count(*) FROM streamhil_inbox WHERE NOT claimed),"
        " (SELECT count(*) FROM streamhil_inbox WHERE claimed AND reply IS NULL)"
    )
    held, due, waiting, in_progress = (int(v) for v in totals[0])
    return {
        "processes": [
            {
                "owner": str(owner), "host": str(host), "pid": int(pid), "started_at": started.isoformat(),
                "seconds_since_seen": round(float(since), 3), "alive": bool(alive), "leases": int(leases),
            }
            for owner, host, pid, started, since, alive, leases in processes
        ],
        "alive": sum(1 for row in processes if row[5]),
        "leases_held": held,
        "takeovers_due": due,
        "commands": {"waiting": waiting, "in_progress": in_progress},
    }


# --- the command inbox ----------------------------------------------------------------------------


def post_command(command_id: str, target: str, sender: str, thread_id: str, request: str) -> Tx[None]:
    yield Sql(
        "WITH posted AS (INSERT INTO streamhil_inbox (id, target, sender, thread_id, request)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id, target)"
        f" SELECT pg_notify('{COMMANDS_CHANNEL}', 'q:' || target || ':' || id) FROM posted",
        (command_id, target, sender, thread_id, request),
    )


def claim_command(command_id: str, target: str) -> Tx[tuple[str, str] | None]:
    """Take a command addressed to ``target`` (once): its sender and request."""
    rows = yield Sql(
        "UPDATE streamhil_inbox SET claimed = true WHERE id = %s AND target = %s AND NOT claimed"
        " RETURNING sender, request",
        (command_id, target),
    )
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def unclaimed_commands(target: str) -> Tx[list[str]]:
    rows = yield Sql("SELECT id FROM streamhil_inbox WHERE target = %s AND NOT claimed ORDER BY created_at", (target,))
    return [str(r[0]) for r in rows]


def reply_command(command_id: str, reply: str) -> Tx[None]:
    yield Sql(
        "WITH answered AS (UPDATE streamhil_inbox SET reply = %s WHERE id = %s RETURNING id, sender)"
        f" SELECT pg_notify('{COMMANDS_CHANNEL}', 'a:' || sender || ':' || id) FROM answered",
        (reply, command_id),
    )


def withdraw_command(command_id: str) -> Tx[bool]:
    """Take back a command nobody claimed yet; False if its target claimed it."""
    rows = yield Sql("DELETE FROM streamhil_inbox WHERE id = %s AND NOT claimed RETURNING id", (command_id,))
    return bool(rows)


def collect_reply(command_id: str) -> Tx[str | None]:
    """The command's reply, removing the command (None: no reply yet)."""
    rows = yield Sql("DELETE FROM streamhil_inbox WHERE id = %s AND reply IS NOT NULL RETURNING reply", (command_id,))
    return str(rows[0][0]) if rows else None


def settle_command(command_id: str) -> Tx[tuple[bool, str | None]]:
    """Close a command whose holder lost the thread's lease (it can store nothing more of it):
    whether its row was still there, and its reply, or the outcome stored with its effect (None:
    it was not carried out). The row is removed."""
    rows = yield Sql("DELETE FROM streamhil_inbox WHERE id = %s RETURNING coalesce(reply, outcome)", (command_id,))
    if not rows:
        return False, None
    return True, None if rows[0][0] is None else str(rows[0][0])


def prune_commands(max_age: float) -> Tx[None]:
    """Drop commands whose sender never collected the reply (it died)."""
    yield Sql("DELETE FROM streamhil_inbox WHERE created_at < now() - make_interval(secs => %s)", (max_age,))


class PostgresInbox:
    """The command inbox of one process (``owner``); statements run by ``run`` (autocommit)."""

    def __init__(self, owner: str, run: Callable[[Callable[[], Tx[Any]]], Awaitable[Any]]) -> None:
        self.owner = owner
        self._run = run
        self.on_note: Callable[[str, str], None] | None = None

    def tell(self, payload: str) -> None:
        """A notification on :data:`COMMANDS_CHANNEL`: pass on the ones for this process."""
        kind, _, rest = payload.partition(":")
        who, _, command_id = rest.partition(":")
        if who == self.owner and self.on_note is not None and kind in ("q", "a"):
            self.on_note(kind, command_id)

    async def post(self, command_id: str, target: str, thread_id: str, request: str) -> None:
        await self._run(partial(post_command, command_id, target, self.owner, thread_id, request))

    async def claim(self, command_id: str) -> tuple[str, str] | None:
        result: tuple[str, str] | None = await self._run(partial(claim_command, command_id, self.owner))
        return result

    async def unclaimed(self) -> list[str]:
        result: list[str] = await self._run(partial(unclaimed_commands, self.owner))
        return result

    async def reply(self, command_id: str, reply: str) -> None:
        await self._run(partial(reply_command, command_id, reply))

    async def withdraw(self, command_id: str) -> bool:
        return bool(await self._run(partial(withdraw_command, command_id)))

    async def collect(self, command_id: str) -> str | None:
        result: str | None = await self._run(partial(collect_reply, command_id))
        return result

    async def settle(self, command_id: str) -> tuple[bool, str | None]:
        result: tuple[bool, str | None] = await self._run(partial(settle_command, command_id))
        return result

    def outcome_statement(self, command_id: str, reply: str, *, checkpoint_of: str | None = None) -> Callable[[Any], None]:
        """A statement for the effect's write (run in its transaction, fenced with it): the
        command's reply, stored as its outcome. ``checkpoint_of``: the reply's ``result[0]`` is
        the id of that thread's newest checkpoint (the one the same write saves)."""

        def store(conn: Any) -> None:
            if checkpoint_of is None:
                conn.execute("UPDATE streamhil_inbox SET outcome = %s WHERE id = %s", (reply, command_id))
                return
            conn.execute(
                "UPDATE streamhil_inbox SET outcome = jsonb_set(%s::jsonb, '{result,0}', to_jsonb(("
                "SELECT checkpoint_id FROM streamhil_checkpoints WHERE thread_id = %s AND checkpoint_ns = ''"
                " ORDER BY checkpoint_id DESC LIMIT 1)))::text WHERE id = %s",
                (reply, checkpoint_of, command_id),
            )

        return store

    async def prune(self, max_age: float) -> None:
        await self._run(partial(prune_commands, max_age))
