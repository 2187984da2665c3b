"""Whether the storage's database can be reached, as its operations and its watcher find it.

A backend whose database is a server of its own (PostgreSQL) marks its :class:`StorageHealth`
*lost* when an operation cannot get a working connection, and its watcher
(:meth:`~.base.Storage.monitor`) marks it *restored* once a probe succeeds again. Meanwhile every
operation is refused at once with :class:`StorageUnavailableError` (commands answer
``storage_unavailable`` instead of waiting for a connection), ``/healthz`` answers 503, and the
work that must be stored (a run's end, events) waits with :meth:`StorageHealth.pause`, woken as soon
as the database is back.
"""

from __future__ import annotations

import logging
import time

import anyio

__all__ = ["StorageHealth", "StorageUnavailableError", "unavailable_cause"]

logger = logging.getLogger("streamhil_server.storage")


class StorageUnavailableError(RuntimeError):
    """The storage cannot be used now: its database cannot be reached (refused, lost, no
    connection free in time) or cannot take writes (a full disk). Nothing of the operation was
    stored, except for a write whose connection was lost during ``COMMIT`` (its outcome is
    unknown). Retry once the storage is back."""


def unavailable_cause(exc: BaseException | None) -> StorageUnavailableError | None:
    """The :class:`StorageUnavailableError` behind ``exc`` (itself, a cause or context of it, or
    one inside an exception group), or None: code that wraps storage errors keeps their cause."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, StorageUnavailableError):
            return current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack += [current.__cause__, current.__context__]
    return None


class StorageHealth:
    """Whether the database behind a storage can be used; changed on the event loop only."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.reason: str | None = None
        """Why the database cannot be used (None: it can, as far as this process knows)."""
        self.since: float | None = None
        """``time.monotonic()`` when it was lost."""
        self.outages = 0
        self._changed: anyio.Event | None = None
        self._attention: anyio.Event | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    def lost(self, reason: str) -> None:
        """Operations found the database unusable: refuse the next ones at once."""
        if self.reason is not None:
            return
        self.reason, self.since = reason, time.monotonic()
        self.outages += 1
        logger.warning(
            "the storage at %s is unavailable (%s): commands that need it are refused with "
            "storage_unavailable until it is back", self.where, reason,
        )
        self._tell()

    def restored(self) -> None:
        """A probe found the database usable again."""
        if self.reason is None:
            return
        lasted = time.monotonic() - (self.since or time.monotonic())
        self.reason, self.since = None, None
        logger.warning("the storage at %s is available again (after %.1f s)", self.where, lasted)
        self._tell()

    def suspect(self) -> None:
        """Something hints that the database went away (a listening connection was lost): ask
        the watcher to probe now rather than wait for an operation to fail."""
        if self._attention is not None:
            self._attention.set()

    def error(self) -> StorageUnavailableError:
        return StorageUnavailableError(f"the storage at {self.where} is unavailable ({self.reason}); retry once it is back")

    def check(self) -> None:
        """Raise :class:`StorageUnavailableError` while the database is known to be unusable."""
        if self.reason is not None:
            raise self.error()

    async def wait_changed(self) -> None:
        """Until the next change (lost or restored)."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    async def wait_attention(self) -> None:
        """Until the storage is lost or suspected (for its watcher)."""
        self._attention = anyio.Event()
        if self.reason is None:
            await self._attention.wait()

    async def pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds before trying again, less if the storage comes back meanwhile."""
        with anyio.move_on_after(delay):
            while True:
                await self.wait_changed()
                if self.available:
                    return

    def _tell(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
        if self.reason is not None and self._attention is not None:
            self._attention.set()
