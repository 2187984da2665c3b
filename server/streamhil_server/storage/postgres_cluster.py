"""Several processes on one PostgreSQL database, for :class:`~.postgres.PostgresStorage`.

- :meth:`PostgresCluster.follow` listens (``LISTEN``) for other processes' events and commands
  and tells the hub; it reconnects when its connection is lost.
- Leases: a thread is written by the one process that holds its lease (rows of
  :mod:`.postgres_coordination`); :meth:`PostgresCluster.acquire_lease` takes one (ending the
  database session of a holder frozen inside a write), renewals keep them, releases give them up.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
from anyio.abc import TaskStatus
from streamhil._backend import current_backend
from streamhil.checkpoint._postgres_sql import Mode, Tx
from streamhil.errors import CheckpointError

from . import postgres_coordination as pgc
from .base import LeaseGrant
from .health import StorageHealth
from .postgres_sql import CHANNEL

__all__ = ["PostgresCluster"]

T = TypeVar("T")
logger = logging.getLogger("streamhil_server.storage")


class PostgresCluster:
    """Following other processes and holding leases, for :class:`~.postgres.PostgresStorage`,
    which provides the attributes and methods declared here."""

    where: str
    timeout: float
    poll_interval: float
    shared: bool
    lease_ttl: float
    lease_owner: str
    transaction_limit: float | None
    leases: pgc.LeaseBook
    on_lease_lost: Callable[[list[str]], None] | None
    _conninfo: str
    _writer: psycopg.Connection[Any] | None
    _inbox: pgc.PostgresInbox
    _acquiring: dict[str, anyio.Event]

    if TYPE_CHECKING:  # provided by PostgresStorage (health by Storage): declared, never shadowed

        @property
        def health(self) -> StorageHealth: ...

        async def _read(self, make_tx: Callable[[], Tx[T]]) -> T: ...

        async def _read_with(self, mode: Mode, make_tx: Callable[[], Tx[T]]) -> T: ...

    # --- other processes -----------------------------------------------------------------------

    async def follow(
        self, notify: Callable[[str | None, int], None], *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen for other processes' events until cancelled; reconnect when the connection is
        lost (each time followed by an "any thread" wake-up)."""
        task_status.started()
        while True:
            try:
                if current_backend() == "asyncio":
                    await self._listen_async(notify)
                else:
                    await self._listen_in_thread(notify)
            except psycopg.OperationalError as exc:
                if self.health.available:  # (once per outage)
                    logger.warning(
                        "listening for other processes' events at %s: %s; connecting again", self.where, " ".join(str(exc).split())
                    )
                self.health.suspect()  # the database may be gone: the watcher looks now
            await anyio.sleep(1.0)  # before connecting again: the database may be restarting

    def _tell(self, notify: Callable[[str | None, int], None], channel: str, payload: str, pid: int) -> None:
        if channel == pgc.COMMANDS_CHANNEL:
            self._inbox.tell(payload)
            return
        writer = self._writer
        if channel != CHANNEL or (writer is not None and not writer.closed and pid == writer.info.backend_pid):
            return  # this process's own writes (a closed writer, being replaced, has stored none since)
        thread_id, _, seq = payload.rpartition(":")
        notify(thread_id, int(seq) if seq.isdigit() else 0)

    async def _listen_async(self, notify: Callable[[str | None, int], None]) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, connect_timeout=max(2, int(self.timeout)))
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            await conn.execute(f"LISTEN {pgc.COMMANDS_CHANNEL}")
            notify(None, 0)
            while True:
                async for note in conn.notifies(timeout=self.poll_interval):
                    self._tell(notify, note.channel, note.payload, note.pid)
                notify(None, 0)

    async def _listen_in_thread(self, notify: Callable[[str | None, int], None]) -> None:
        """trio: a sync connection waited on in worker threads, half a second at a time."""
        conn = await anyio.to_thread.run_sync(
            lambda: psycopg.Connection.connect(self._conninfo, autocommit=True, connect_timeout=max(2, int(self.timeout)))
        )
        try:
            await anyio.to_thread.run_sync(conn.execute, f"LISTEN {CHANNEL}")
            await anyio.to_thread.run_sync(conn.execute, f"LISTEN {pgc.COMMANDS_CHANNEL}")
            notify(None, 0)
            polled = time.monotonic()
            while True:
                notes = await anyio.to_thread.run_sync(lambda: list(conn.notifies(timeout=0.5)))
                for note in notes:
                    self._tell(notify, note.channel, note.payload, note.pid)
                if time.monotonic() - polled >= self.poll_interval:
                    polled = time.monotonic()
                    notify(None, 0)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(conn.close)

    # --- leases ------------------------------------------------------------------------------

    def holds(self, thread_id: str) -> bool:
        return not self.shared or self.leases.valid(thread_id)

    def held_leases(self) -> list[str]:
        return list(self.leases.held)

    async def acquire_lease(self, thread_id: str) -> LeaseGrant:
        if not self.shared:
            return LeaseGrant(0)
        while True:
            token = self.leases.held.get(thread_id)
            if token is not None and self.leases.valid(thread_id):
                return LeaseGrant(token)
            pending = self._acquiring.get(thread_id)
            if pending is None:
                break
            await pending.wait()  # another task of this process is taking it: its outcome is ours
        done = self._acquiring[thread_id] = anyio.Event()
        try:
            asked_at = time.monotonic()
            if token is not None:  # held, but not renewed for a while (this process stalled?): ask
                if thread_id in await self._read(partial(pgc.renew, {thread_id: token}, self.lease_owner, self.lease_ttl)):
                    self.leases.extend([thread_id], asked_at)
                    return LeaseGrant(token)
                self._lost([thread_id])
            try:
                grant = await self._read_with(
                    "tx", partial(pgc.acquire, thread_id, self.lease_owner, self.lease_ttl, self.transaction_limit)
                )
            except CheckpointError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                    raise
                # a write of the holder's is under way, or the holder froze inside one
                grant = await self._read(partial(pgc.holder, thread_id))
                if grant.holder is not None and grant.expires_in == 0.0:
                    if await self._read(partial(pgc.end_frozen_writer, grant.holder)):
                        logger.warning(
                            "ended the database session of process %s: its lease of thread %s ran out while it "
                            "held a write open (the process is frozen or gone)", grant.holder, thread_id,
                        )
                return grant
            if grant.token is not None:
                return replace(grant, fresh=self.leases.grant(thread_id, grant.token, asked_at))
            return grant
        finally:
            del self._acquiring[thread_id]
            done.set()

    def _lost(self, thread_ids: list[str]) -> None:
        self.leases.forget(thread_ids)
        if self.on_lease_lost is not None:
            self.on_lease_lost(thread_ids)

    async def renew_leases(self) -> list[str]:
        held = dict(self.leases.held)
        if not held:
            return []
        asked_at = time.monotonic()
        kept = await self._read(partial(pgc.renew, held, self.lease_owner, self.lease_ttl))
        self.leases.extend([t for t in kept if self.leases.held.get(t) == held[t]], asked_at)
        lost = [t for t, token in held.items() if t not in kept and self.leases.held.get(t) == token]
        self.leases.forget(lost)
        return lost

    async def release_leases(self, thread_ids: Sequence[str]) -> None:
        leases = {t: self.leases.held[t] for t in thread_ids if t in self.leases.held}
        if leases:
            self.leases.drop(leases)
            await self._read(partial(pgc.release, leases, self.lease_owner))

    async def orphaned_threads(self) -> list[str]:
        return await self._read(pgc.orphans)

    async def announce(self, *, prune: bool = False) -> None:
        if self.shared:
            writer = self._writer
            writer_pid = writer.info.backend_pid if writer is not None and not writer.closed else None
            await self._read(partial(
                pgc.announce, self.lease_owner, socket.gethostname(), os.getpid(), self.lease_ttl, writer_pid,
                3600.0 if prune else None,
            ))

    async def leave(self) -> None:
        if self.shared:
            await self._read(partial(pgc.leave, self.lease_owner))

    async def cluster(self) -> dict[str, Any] | None:
        if not self.shared:
            return None
        result: dict[str, Any] = await self._read_with("tx", pgc.cluster)
        return result
