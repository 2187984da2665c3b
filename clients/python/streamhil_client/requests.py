"""Commands and their answers on one connection: send a command through the in-flight window,
remember who waits for it, and hand the ``reply`` or ``error`` to that waiter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.exceptions import ConnectionClosed

from streamhil.protocol import Command, ErrorReply, MessageType, ProtocolError, Reply, SessionState

from .connection import Connection
from .errors import BadRequestError, ConnectionLostError, error_from_reply
from .window import WindowClosed

__all__ = ["NotSent", "SAFE_TO_RETRY", "Waiter", "answer", "resolve", "send_on"]

OnReply = Callable[[Connection, Any], Any]


@dataclass(eq=False)
class Waiter:
    """A sent command waiting for its answer."""

    command: Command
    on_reply: OnReply | None = None
    holds_room: bool = False
    """Whether this command took room in the connection's in-flight window."""
    done: anyio.Event = field(default_factory=anyio.Event)
    value: Any = None
    error: BaseException | None = None

    def resolve(self, value: Any) -> None:
        self.value = value
        self.done.set()

    def reject(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class NotSent(ConnectionLostError):
    """The connection was given up before the command left: safe to send on the next one."""


SAFE_TO_RETRY = frozenset(
    {
        MessageType.PING,
        MessageType.GET_STATE,
        MessageType.GET_HISTORY,
        MessageType.LIST_THREADS,
        MessageType.LIST_GRAPHS,
        MessageType.SUBSCRIBE,
    }
)
"""Commands sent again on the next connection when the answer was lost: reads change nothing,
and a subscription dies with its connection. Runs, resumes, cancels and state updates are not
repeated: the caller gets :class:`ConnectionLostError` and decides."""


async def answer(waiter: Waiter) -> Any:
    """Wait for a sent command's answer: its value, or raise its error."""
    await waiter.done.wait()
    if waiter.error is not None:
        raise waiter.error
    return waiter.value


async def send_on(
    conn: Connection,
    command: Command,
    on_reply: OnReply | None,
    send_lock: anyio.Lock,
    *,
    priority: bool = False,
    bypass: bool = False,
) -> Waiter:
    """Wait for room in the window (unless ``bypass``), send ``command``, return its waiter.

    Raises :class:`BadRequestError` ``frame_too_large`` without sending anything (and with the
    room given back) when the command's frame is larger than the server takes.
    """
    waiter = Waiter(command, on_reply, holds_room=not bypass)
    if not bypass:
        try:
            await conn.window.acquire(priority=priority)
        except WindowClosed:
            raise NotSent(f"the connection closed before {command.type.value} was sent") from None
    try:
        async with send_lock:
            if conn.session.state is not SessionState.OPEN or conn.broken or conn.closed.is_set():
                raise NotSent(f"the connection closed before {command.type.value} was sent")
            try:
                id = conn.session.send(command)
            except ProtocolError as exc:
                raise BadRequestError(
                    f"{command.type.value} is too large to send: {exc.message}",
                    code=exc.code.value,
                    details=exc.details,
                ) from None
            conn.waiters[id] = waiter
            try:
                for text in conn.session.data_to_send():
                    await conn.ws.send(text)
                conn.last_sent = anyio.current_time()
            except ConnectionClosed:
                pass  # the reader fails the waiter when it sees the close
    except BaseException:
        if waiter.holds_room and not conn.closed.is_set() and waiter not in conn.waiters.values():
            conn.window.release()  # not sent: give the room back
        raise
    return waiter


def resolve(conn: Connection, message: Reply | ErrorReply) -> None:
    """Hand a ``reply`` or ``error`` frame to the command it answers (run in the reader, before
    any later frame is handled, so reply handlers see the state as of the answer)."""
    if isinstance(message, ErrorReply) and message.id is None:
        conn.last_error = message  # the server says why it is about to close
        return
    waiter: Waiter | None = conn.waiters.pop(message.id, None)  # type: ignore[arg-type]
    if waiter is None:
        return
    if waiter.holds_room:
        conn.window.release()
    if isinstance(message, ErrorReply):
        waiter.reject(error_from_reply(message))
        return
    try:
        value = message.result if waiter.on_reply is None else waiter.on_reply(conn, message.result)
    except Exception as exc:  # a handler bug must reach the caller, not kill the reader
        waiter.reject(exc)
    else:
        waiter.resolve(value)
