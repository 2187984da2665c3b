"""Several server processes on one database: a process changes a thread only while it holds the
thread's lease (see :mod:`..storage.postgres_coordination`), and any process accepts any command.

- A command that changes a thread (``start_run``, ``resume``, ``cancel``, ``update_state``) first
  takes the thread's lease if it is free; if another process holds it, the command is forwarded
  to that process (:mod:`.forwarding`), which carries it out through its usual path and replies.
- Taking a lease another process held last reloads what this process knew of the thread (its
  record, its event log's head, its cached checkpoint) and takes over its unfinished runs the way
  a restart does (:meth:`~.recovery.RunRecovery._recover_thread`).
- A keeper task renews the leases of this process every ``lease_ttl / 3`` seconds, releases
  those of threads idle since the last round, and takes over threads whose process died (their
  runs are open but their lease ran out).
- A lease found lost (a write was fenced, or a renewal failed) stops the thread's run here; the
  process that took it goes on with it.

On a storage that one process owns (SQLite, memory) none of this runs: every lease is held.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from streamhil.protocol import ErrorCode, Resume, StartRun
from streamhil.protocol._fields import Fields

from ..errors import CommandError, storage_unavailable
from ..storage.base import LeaseGrant, LeaseLostError
from ..threads import Accepted
from .core import OnAccepted, _new_id, logger
from .forwarding import STALL_HOOK, Forwarder, Unanswered, error_reply, raise_error, stall_for_tests
from .queries import RunQueries

__all__ = ["SharedRuns"]

T = TypeVar("T")
_MOVED: dict[str, Any] = {"moved": True}
_AGAIN: Any = object()
"""What :meth:`SharedRuns._forward` returns when the command must be routed again at once."""


class SharedRuns(RunQueries):
    """Routes the commands that change a thread to the process holding its lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.forwarder: Forwarder | None = None
        self.invalidate: list[Callable[[str], None]] = []
        """Called with a thread's id when another process may have changed it (caches drop it)."""
        self.takeovers = 0
        self._adopting: dict[str, anyio.Event] = {}
        self._idle: set[str] = set()

    # --- the commands ----------------------------------------------------------------------------

    async def start_run(
        self, identity: str, cmd: StartRun, on_accepted: OnAccepted | None = None, *, origin: str | None = None,
        command_id: str | None = None,
    ) -> Accepted:
        if not self.storage.shared or command_id is not None:
            return await RunQueries.start_run(self, identity, cmd, on_accepted, origin=origin, command_id=command_id)
        if cmd.thread_id is None:
            cmd = replace(cmd, thread_id=_new_id("t"))
        assert cmd.thread_id is not None
        request = {"kind": "start_run", "identity": identity, "origin": origin, "command": cmd.to_wire()}
        return await self._routed(
            cmd.thread_id, lambda: RunQueries.start_run(self, identity, cmd, on_accepted, origin=origin),
            request, on_accepted,
        )

    async def resume(
        self, identity: str, cmd: Resume, on_accepted: OnAccepted | None = None, *, origin: str | None = None,
        command_id: str | None = None,
    ) -> Accepted:
        if not self.storage.shared or command_id is not None:
            return await RunQueries.resume(self, identity, cmd, on_accepted, origin=origin, command_id=command_id)
        request = {"kind": "resume", "identity": identity, "origin": origin, "command": cmd.to_wire()}
        return await self._routed(
            cmd.thread_id, lambda: RunQueries.resume(self, identity, cmd, on_accepted, origin=origin), request, on_accepted
        )

    async def cancel(self, identity: str, thread_id: str, run_id: str | None, *, command_id: str | None = None) -> str:
        if not self.storage.shared or command_id is not None:
            return await RunQueries.cancel(self, identity, thread_id, run_id, command_id=command_id)
        request = {"kind": "cancel", "identity": identity, "thread_id": thread_id, "run_id": run_id}
        return await self._routed(thread_id, lambda: RunQueries.cancel(self, identity, thread_id, run_id), request)

    async def update_state(
        self, identity: str, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None,
        *, create_with_graph: str | None = None, command_id: str | None = None,
    ) -> tuple[str, int]:
        if not self.storage.shared or command_id is not None:
            return await RunQueries.update_state(
                self, identity, thread_id, values, as_node, checkpoint_id, create_with_graph=create_with_graph,
                command_id=command_id,
            )
        request = {
            "kind": "update_state", "identity": identity, "thread_id": thread_id, "values": values,
            "as_node": as_node, "checkpoint_id": checkpoint_id, "create_with_graph": create_with_graph,
        }
        return await self._routed(
            thread_id, lambda: RunQueries.update_state(
                self, identity, thread_id, values, as_node, checkpoint_id, create_with_graph=create_with_graph
            ),
            request,
        )

    # --- routing ---------------------------------------------------------------------------------

    async def _routed(
        self, thread_id: str, local: Callable[[], Awaitable[Any]], request: dict[str, Any],
        on_accepted: OnAccepted | None = None,
    ) -> Any:
        """Run ``local`` holding the thread's lease, or forward ``request`` to its holder."""
        request["thread_id"] = thread_id
        give_up = time.monotonic() + 3 * self.storage.lease_ttl + 30
        while True:
            grant = await self._take(thread_id)
            if grant.held:
                try:
                    return await local()
                except LeaseLostError:
                    pass  # taken over meanwhile: ask again who holds it
            elif grant.holder is not None and grant.holder != self.storage.lease_owner and self.forwarder is not None:
                reply = await self._forward(grant.holder, thread_id, request, on_accepted)
                if reply is _AGAIN:
                    continue  # the lease moved: ask who holds it now, at once
                if reply is not None:
                    return reply
                # not taken in time: its holder died or hangs; its lease runs out soon
                await anyio.sleep(min(grant.expires_in, self.storage.lease_ttl) + 0.05)
            else:
                await anyio.sleep(0.02)
            if time.monotonic() > give_up:
                raise CommandError(
                    ErrorCode.THREAD_BUSY, f"thread {thread_id!r} is held by a server process that does not answer; retry"
                )

    async def _forward(
        self, holder: str, thread_id: str, request: dict[str, Any], on_accepted: OnAccepted | None
    ) -> Any:
        """The holder's answer (raised if an error); None if it did not take the command or no
        longer holds the thread (route again once its lease has run out); :data:`_AGAIN` if it
        took it and lost the lease before carrying it out (route again now)."""
        assert self.forwarder is not None
        guard = None
        if on_accepted is not None:
            # Hold the thread's recent events in this process's ring meanwhile: the run may emit
            # before the reply comes back, and the caller watches from the accepted seq.
            await self.hub.ensure(thread_id)
            guard = self.hub.subscribe_live(thread_id, _ignore, self.hub.head(thread_id) + 1)
            guard.start_live()
        try:
            reply = await self.forwarder.send(holder, thread_id, request)
            if isinstance(reply, Unanswered):
                reply = await self._settle_forwarded(holder, thread_id, reply.command_id)
                if reply is None:
                    return _AGAIN  # never carried out, and now it cannot be: send it again
            if reply is None or reply.get("moved"):
                return None
            raise_error(reply)
            result = reply["result"]
            if request["kind"] in ("start_run", "resume"):
                accepted = Accepted(
                    result["run_id"], result["thread_id"], int(result["seq"]), bool(result["queued"]),
                    tuple(result.get("answered") or ()),
                )
                if on_accepted is not None:
                    on_accepted(accepted)
                return accepted
            if request["kind"] == "update_state":
                return str(result[0]), int(result[1])
            return result
        finally:
            if guard is not None:
                guard.close()

    async def _settle_forwarded(self, holder: str, thread_id: str, command_id: str) -> dict[str, Any] | None:
        """The outcome of a command ``holder`` took and has not answered: its reply while it holds
        the thread. Once another process holds the thread (``holder`` died, or stalled past its
        lease) ``holder`` can store nothing more of it, so the command's row is final: the outcome
        stored with its effect (the reply it would have sent), or nothing, and then it was never
        carried out and is routed again (None). So an answer is acknowledged only if stored, and
        stored at most once."""
        assert self.forwarder is not None
        give_up = time.monotonic() + 3 * self.storage.lease_ttl + 30
        while True:
            reply = await self.forwarder.await_reply(command_id, self.storage.lease_ttl / 2)
            if reply is not None:
                return reply
            grant = await self._take(thread_id)
            if grant.held or grant.holder != holder:
                found, reply = await self.forwarder.settle(command_id)
                if not found:  # pruned (an hour old): nothing says what became of it
                    raise CommandError(
                        ErrorCode.INTERNAL_ERROR,
                        f"the server process running thread {thread_id} stopped while it carried out this "
                        "command, and its outcome is lost: look at the thread",
                    )
                return reply
            if time.monotonic() > give_up:
                raise CommandError(
                    ErrorCode.INTERNAL_ERROR,
                    f"the server process running thread {thread_id} holds it but does not answer this command; "
                    "whether it was done is unknown: look at the thread",
                )

    async def _serve(self, command_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out a command another process forwarded (it found this one holding the lease);
        the reply of a command that changes the thread is stored with that change."""
        thread_id = str(request["thread_id"])
        if not self.storage.holds(thread_id):
            return _MOVED  # released meanwhile: the sender takes it, or finds the new holder
        await self._settled(thread_id)
        if os.environ.get(STALL_HOOK) == "before":
            async with self.holding(thread_id):
                await stall_for_tests("before", command_id)
        kind, identity = request["kind"], str(request["identity"])
        try:
            if kind == "start_run":
                cmd = StartRun.from_wire(Fields(request["command"], strict=False))
                accepted = await RunQueries.start_run(
                    self, identity, cmd, None, origin=request.get("origin"), command_id=command_id
                )
                return {"result": asdict(accepted)}
            if kind == "resume":
                resume = Resume.from_wire(Fields(request["command"], strict=False))
                accepted = await RunQueries.resume(
                    self, identity, resume, None, origin=request.get("origin"), command_id=command_id
                )
                return {"result": asdict(accepted)}
            if kind == "cancel":
                cancelled = await RunQueries.cancel(
                    self, identity, thread_id, request.get("run_id"), command_id=command_id
                )
                return {"result": cancelled}
            if kind == "update_state":
                new_id, seq = await RunQueries.update_state(
                    self, identity, thread_id, request.get("values"), request.get("as_node"), request.get("checkpoint_id"),
                    create_with_graph=request.get("create_with_graph"), command_id=command_id,
                )
                return {"result": [new_id, seq]}
        except CommandError as exc:
            return error_reply(exc)
        except LeaseLostError:
            return _MOVED
        return error_reply(CommandError(ErrorCode.INTERNAL_ERROR, f"unknown forwarded command {kind!r}"))

    # --- leases ----------------------------------------------------------------------------------

    async def _take(self, thread_id: str) -> LeaseGrant:
        """The thread's lease, taken if free; a thread another process held last is reloaded
        (and its unfinished runs taken over) before anything uses it."""
        grant = await self.storage.acquire_lease(thread_id)
        if grant.held and not grant.fresh:
            done = self._adopting[thread_id] = anyio.Event()
            try:
                await self._reload_thread(thread_id)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self.storage.release_leases([thread_id])  # nothing half-loaded stays held
                raise
            finally:
                del self._adopting[thread_id]
                done.set()
        elif grant.held:
            await self._settled(thread_id)
        return grant

    async def _settled(self, thread_id: str) -> None:
        """Wait while another task of this process is reloading the thread."""
        pending = self._adopting.get(thread_id)
        if pending is not None:
            await pending.wait()

    async def _reload_thread(self, thread_id: str) -> None:
        """Forget what this process knew of the thread and load it again; take over its runs."""
        stale = self.threads.get(thread_id)
        if stale is not None and not stale.busy and not stale.worker:
            self.threads.discard(thread_id)
        for drop in self.invalidate:
            drop(thread_id)
        await self.hub.resync(thread_id)
        runs = await self.storage.load_runs(thread_id=thread_id)
        if runs:
            self.takeovers += 1
            logger.info("taking over thread %s (%d unfinished runs)", thread_id, len(runs))
            await self._recover_thread(thread_id, runs)

    def on_lease_lost(self, thread_ids: list[str]) -> None:
        """Told by the storage: another process took these threads over."""
        for thread_id in thread_ids:
            thread = self.threads.get(thread_id)
            if thread is not None:
                self._lost_thread(thread)
            else:
                self.hub.abandon(thread_id)

    async def _start_background(self, tg: TaskGroup) -> None:
        if not self.storage.shared:
            return
        if self.storage.inbox is not None:
            self.forwarder = Forwarder(self.storage.inbox, wait=self.storage.lease_ttl, poll=self.storage.lease_ttl)
            await tg.start(self.forwarder.serve, self._serve)
        await self._keep_round(first=True)  # threads a dead process left: before serving
        tg.start_soon(self._keep_leases)

    async def _stop_background(self) -> None:
        """Stopping: give every lease up, so that another process takes these threads over at
        once (their unfinished runs continue there, as after a restart)."""
        held = self.storage.held_leases()
        if held:
            try:
                await self.storage.release_leases(held)
            except Exception as exc:
                _log_failure(exc, "releasing the leases of this process failed; they run out in %s s", self.storage.lease_ttl)
        try:
            await self.storage.leave()
        except Exception as exc:
            _log_failure(exc, "removing this process from the list of live ones failed; it shows as gone in %s s", self.storage.lease_ttl)

    async def _keep_leases(self) -> None:
        """Renew, release idle leases and take over orphaned threads, every ``lease_ttl / 3`` s."""
        rounds = 0
        while True:
            await anyio.sleep(self.storage.lease_ttl / 3)
            rounds += 1
            try:
                await self._keep_round(prune=rounds % 100 == 0)
            except Exception as exc:
                if storage_unavailable(exc) is None:  # (the storage's own warning says when it is away)
                    logger.exception("keeping the leases of this process failed; trying again")

    async def _keep_round(self, *, first: bool = False, prune: bool = False) -> None:
        await self.storage.announce(prune=prune)
        lost = await self.storage.renew_leases()
        if lost:
            logger.warning("lost the lease of %d threads to another process", len(lost))
            self.on_lease_lost(lost)
        idle = {t for t in self.storage.held_leases() if self._at_rest(t)}
        release = sorted(idle & self._idle)  # idle for a whole round: let them go
        self._idle = idle - set(release)
        if release:
            await self.storage.release_leases(release)
        for thread_id in await self.storage.orphaned_threads():
            if not self.storage.holds(thread_id):
                try:
                    await self._take(thread_id)
                except Exception as exc:
                    if storage_unavailable(exc) is not None:
                        raise  # the next round tries again
                    logger.exception("taking over thread %s failed", thread_id)
        if prune and self.storage.inbox is not None:
            await self.storage.inbox.prune(3600.0)

    def _at_rest(self, thread_id: str) -> bool:
        if thread_id in self._adopting:
            return False
        thread = self.threads.get(thread_id) if thread_id in self.threads else None
        return thread is None or thread.at_rest


def _log_failure(exc: Exception, message: str, *args: Any) -> None:
    """``message``, with the traceback unless the storage was simply unavailable (then its reason)."""
    if storage_unavailable(exc) is None:
        logger.exception(message, *args)
    else:
        logger.warning(message + " (%s)", *args, exc)


def _ignore(frame: str) -> None:
    """The sink of a watcher that only keeps events in the ring."""
