"""Handing a command to the process that holds its thread's lease, and serving the commands
other processes hand to this one, through the storage's :class:`~..storage.base.CommandInbox`.

Why forward rather than share the thread: a thread's queue, its claims on interrupts and its
active run live in the memory of the process running it, and every decision about the thread
(``if_busy``, the first answer wins, cancel) is taken there under the thread's lock. Forwarding a
command to that process keeps one place deciding, exactly as with one process; the database only
carries the command and its reply (a row, and a ``NOTIFY`` each way).

The sender waits for the reply; it takes the command back if the holder did not claim it within
``wait`` seconds (the holder died: the sender then takes the thread over once its lease runs out).
A claimed command is answered. If the holder dies (or stalls) after claiming it, the sender
learns the outcome all the same: the holder stores its reply in the very transaction that makes
the command's effect durable (``outcome``, fenced by the thread's lease like the effect), so once
the lease has moved to another process (after which the old holder can store nothing more of the
thread) the row says either "done, and this was the reply" or "never done" (see
:meth:`~.shared.SharedRuns._settle_forwarded`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import orjson
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from streamhil.protocol import ErrorCode

from ..errors import CommandError, storage_unavailable
from ..storage.base import CommandInbox

__all__ = ["Forwarder", "Handler", "Unanswered", "STALL_HOOK", "stall_for_tests"]

logger = logging.getLogger("streamhil_server.runs")

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Carries out a forwarded request (its command id, the request) on this process; returns the
reply (JSON-able)."""

STALL_HOOK = "STREAMHIL_TEST_STALL_FORWARDED"
"""For tests only: ``before`` or ``after`` makes a process stall forever on the first forwarded
command it serves, with the thread loaded and in use but nothing done, or once it is carried out
(its effect stored, its reply not sent), having printed ``stalled on forwarded command <id>``:
the windows where a holder dies mid-command."""


class Unanswered:
    """The holder claimed the command and has not answered it yet (see :meth:`Forwarder.send`)."""

    __slots__ = ("command_id",)

    def __init__(self, command_id: str) -> None:
        self.command_id = command_id


class Forwarder:
    """Sends commands to other processes and serves theirs; :meth:`serve` runs in a task group."""

    def __init__(self, inbox: CommandInbox, *, wait: float, poll: float) -> None:
        self.inbox = inbox
        self.wait = wait
        self.poll = poll
        self._replies: dict[str, anyio.Event] = {}
        self._incoming: tuple[MemoryObjectSendStream[str], MemoryObjectReceiveStream[str]] = (
            anyio.create_memory_object_stream[str](math.inf)
        )
        self.sent = 0
        self.served = 0
        inbox.on_note = self._note

    def _note(self, kind: str, command_id: str) -> None:
        if kind == "a":
            waiting = self._replies.get(command_id)
            if waiting is not None:
                waiting.set()
        else:
            with contextlib.suppress(anyio.ClosedResourceError):  # stopping: its sender takes it back
                self._incoming[0].send_nowait(command_id)

    async def send(
        self, target: str, thread_id: str, request: dict[str, Any]
    ) -> dict[str, Any] | None | Unanswered:
        """The reply of ``target`` to ``request`` if it comes within ``wait`` seconds; else None if
        ``target`` did not take the command (it was taken back: nothing of it was carried out), or
        :class:`Unanswered` if it took it (wait on with :meth:`await_reply`, :meth:`settle` it
        once ``target`` lost the thread's lease)."""
        command_id = f"c-{uuid.uuid4().hex}"
        self.sent += 1
        with self._listening(command_id), anyio.CancelScope(shield=True):  # once posted, its outcome must be collected
            await self.inbox.post(command_id, target, thread_id, orjson.dumps(request).decode())
            reply = await self._await(command_id, self.wait)
            if reply is not None:
                return reply
            if await self.inbox.withdraw(command_id):
                return None
            return Unanswered(command_id)  # claimed: it is being carried out (or its holder died)
        raise AssertionError("unreachable")  # pragma: no cover (a shielded scope is never cancelled)

    async def await_reply(self, command_id: str, timeout: float) -> dict[str, Any] | None:
        """The reply to a command sent earlier, if it comes within ``timeout`` seconds."""
        with self._listening(command_id), anyio.CancelScope(shield=True):
            return await self._await(command_id, timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    async def settle(self, command_id: str) -> tuple[bool, dict[str, Any] | None]:
        """Close a command whose holder can no longer store anything of it (another process
        holds the thread's lease now): whether it was still open, and its reply (from the holder,
        or stored with its effect), or None if it was never carried out."""
        with anyio.CancelScope(shield=True):
            found, reply = await self.inbox.settle(command_id)
        if reply is None:
            return found, None
        answer: dict[str, Any] = orjson.loads(reply)
        return found, answer

    @contextlib.contextmanager
    def _listening(self, command_id: str) -> Iterator[None]:
        self._replies[command_id] = anyio.Event()
        try:
            yield
        finally:
            del self._replies[command_id]

    async def _await(self, command_id: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            with anyio.move_on_after(min(1.0, max(0.0, deadline - time.monotonic()))):
                await self._replies[command_id].wait()  # else look anyway: a lost wake-up
            reply = await self.inbox.collect(command_id)
            if reply is not None:
                answer: dict[str, Any] = orjson.loads(reply)
                return answer
            self._replies[command_id] = anyio.Event()
            if time.monotonic() >= deadline:
                return None

    async def serve(self, handle: Handler, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Carry out commands sent to this process, each in its own task, until cancelled."""
        sender, receiver = self._incoming
        with sender, receiver:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._look_for_missed)
                task_status.started()
                async for command_id in receiver:
                    tg.start_soon(self._serve_one, command_id, handle)

    async def _look_for_missed(self) -> None:
        """Commands whose wake-up was lost (the listener reconnecting) are found by a poll."""
        while True:
            await anyio.sleep(self.poll)
            try:
                for command_id in await self.inbox.unclaimed():
                    self._incoming[0].send_nowait(command_id)
            except Exception as exc:
                if storage_unavailable(exc) is None:  # (the storage's own warning says when it is away)
                    logger.exception("looking for commands sent to this process failed")

    async def _serve_one(self, command_id: str, handle: Handler) -> None:
        try:
            claimed = await self.inbox.claim(command_id)
            if claimed is None:
                return  # served already, or taken back by its sender
            _sender, request = claimed
            self.served += 1
            try:
                reply = await handle(command_id, orjson.loads(request))
            except Exception as exc:
                unavailable = storage_unavailable(exc)
                if unavailable is not None:
                    reply = error_reply(unavailable)
                else:
                    logger.exception("a command forwarded by another process failed")
                    reply = {"error": {"code": ErrorCode.INTERNAL_ERROR.value, "message": f"{type(exc).__name__}: {exc}"}}
            await stall_for_tests("after", command_id)
            with anyio.CancelScope(shield=True):
                await self.inbox.reply(command_id, orjson.dumps(reply, default=str).decode())
        except Exception:
            logger.exception("serving command %s from another process failed", command_id)


async def stall_for_tests(where: str, command_id: str) -> None:
    if os.environ.get(STALL_HOOK) == where:
        print(f"stalled on forwarded command {command_id}", flush=True)
        await anyio.sleep_forever()


def error_reply(exc: CommandError) -> dict[str, Any]:
    return {"error": {"code": exc.code.value, "message": exc.message, "path": exc.path, "details": exc.details}}


def raise_error(reply: dict[str, Any]) -> None:
    """Raise the :class:`CommandError` a reply carries, if any."""
    error = reply.get("error")
    if error is not None:
        raise CommandError(ErrorCode(error["code"]), error["message"], path=error.get("path"), details=error.get("details"))
