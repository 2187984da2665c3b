"""Sans-I/O protocol sessions: :class:`ServerSession` and :class:`ClientSession`.

Both are fed with ``receive_text`` / ``receive_bytes`` / ``receive_close`` and drained with
``events_received()`` and ``data_to_send()``; they never await and never raise on peer input.
Bad peer input becomes an ``error`` frame in ``data_to_send()``; when the frame stream cannot go
on, the session also sets ``close_code`` and moves to ``CLOSED``, and the I/O layer sends the
queued frames and then closes the socket with ``close_code``. Misuse by the local application
raises :class:`~.errors.InvalidState`.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .close_codes import CloseCode
from .codec import (
    ClientFrame,
    ServerFrame,
    check_frame_size,
    decode_client_frame,
    decode_server_object,
    encode,
    encode_error,
    encode_reply,
    loads_server_message,
)
from .errors import ErrorCode, InvalidState, ProtocolError
from .events import BaseEvent
from .notices import Notice
from .commands import Command
from .messages import (
    DEFAULT_MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Capabilities,
    ErrorReply,
    Hello,
    Limits,
    MessageType,
    Reply,
    Welcome,
)

__all__ = ["SessionState", "ConnectionClosed", "ServerSession", "ClientSession", "CLOSE_ERROR_CODES"]


class SessionState(Enum):
    """``CONNECTING`` until the handshake completes, then ``OPEN``, then ``CLOSED``."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection (``code`` is ``None`` when it just dropped)."""

    code: int | None
    reason: str = ""


CLOSE_ERROR_CODES: dict[CloseCode, ErrorCode] = {
    CloseCode.RECONNECT: ErrorCode.SHUTTING_DOWN,
    CloseCode.SLOW_CONSUMER: ErrorCode.SLOW_CONSUMER,
    CloseCode.INTERNAL_ERROR: ErrorCode.INTERNAL_ERROR,
    CloseCode.HEARTBEAT_TIMEOUT: ErrorCode.HEARTBEAT_TIMEOUT,
    CloseCode.HELLO_EXPECTED: ErrorCode.HELLO_EXPECTED,
    CloseCode.UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
    CloseCode.TOO_MANY_ATTEMPTS: ErrorCode.UNAUTHENTICATED,
    CloseCode.FORBIDDEN: ErrorCode.FORBIDDEN,
    CloseCode.HELLO_TIMEOUT: ErrorCode.HELLO_TIMEOUT,
    CloseCode.UNSUPPORTED_VERSION: ErrorCode.UNSUPPORTED_VERSION,
}
"""The error code of the ``error`` frame :meth:`ServerSession.fail` sends before each close code."""


def _short_reason(reason: str, limit: int = 123) -> str:
    data = reason.encode("utf-8", "replace")
    if len(data) <= limit:
        return reason
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


class _Session:
    __slots__ = ("state", "close_code", "close_reason", "protocol_error", "_out", "_events")

    def __init__(self) -> None:
        self.state = SessionState.CONNECTING
        self.close_code: int | None = None
        self.close_reason = ""
        self.protocol_error: str | None = None
        """Why the session failed because of the peer, if it did."""
        self._out: list[str] = []
        self._events: list[Any] = []

    def data_to_send(self) -> list[str]:
        """Frames to write, in order; each call returns the frames queued since the last one."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[Any]:
        """Messages received since the last call, in order."""
        events, self._events = self._events, []
        return events

    def _closed(self, code: int | None, reason: str) -> None:
        self.state = SessionState.CLOSED
        self.close_code = code
        self.close_reason = _short_reason(reason)

    def receive_close(self, code: int | None, reason: str = "") -> None:
        """The peer closed the connection, or it dropped (``code=None``)."""
        if self.state is SessionState.CLOSED:
            return
        self._closed(code, reason)
        self._events.append(ConnectionClosed(code, reason))


class ServerSession(_Session):
    """The server's side of one connection.

    ``events_received()`` yields :class:`Hello` (check its ``token``, then call
    :meth:`send_welcome` or :meth:`fail` with ``UNAUTHENTICATED``), then valid commands, whose ids
    are pending until :meth:`send_reply` or :meth:`send_error` answers them, and finally
    :class:`ConnectionClosed` when the client closes.
    """

    __slots__ = ("max_frame_bytes", "supported_versions", "hello", "welcome", "_pending", "parser_exc")

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        supported_versions: Iterable[int] = (PROTOCOL_VERSION,),
    ) -> None:
        super().__init__()
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be >= 1, got {max_frame_bytes}")
        self.max_frame_bytes = max_frame_bytes
        self.supported_versions = tuple(sorted(set(supported_versions)))
        self.hello: Hello | None = None
        self.welcome: Welcome | None = None
        self._pending: dict[str, MessageType] = {}
        self.parser_exc: BaseException | None = None
        """An unexpected exception raised while decoding a frame (a bug), kept for logs."""

    @property
    def pending_ids(self) -> frozenset[str]:
        """Ids of received commands not answered yet."""
        return frozenset(self._pending)

    @property
    def pending_count(self) -> int:
        """How many received commands are not answered yet."""
        return len(self._pending)

    # --- input ---------------------------------------------------------------------------

    def receive_text(self, text: str) -> None:
        """Feed one text frame from the client."""
        if self.state is SessionState.CLOSED:
            return
        try:
            frame = decode_client_frame(text, max_frame_bytes=self.max_frame_bytes)
        except ProtocolError as exc:
            self._reject(exc)
            return
        except Exception as exc:  # a bug in decoding must not escape into the I/O layer
            self.parser_exc = exc
            self.fail(CloseCode.INTERNAL_ERROR, "internal error while decoding a frame")
            return
        self._accept(frame)

    def receive_bytes(self, data: bytes) -> None:
        """Feed one binary frame from the client (always refused: the protocol is text)."""
        if self.state is SessionState.CLOSED:
            return
        self._reject(ProtocolError(ErrorCode.BAD_FRAME, "binary frames are not supported; send JSON text frames"))

    def _reject(self, exc: ProtocolError) -> None:
        if self.hello is None:
            self._fail_from_peer(
                CloseCode.HELLO_EXPECTED,
                f"the first frame must be a valid hello: {exc.message}",
                path=exc.path,
            )
            return
        self._queue_error(exc.id, exc.code, exc.message, path=exc.path, details=exc.details)

    def _accept(self, frame: ClientFrame) -> None:
        if isinstance(frame, Hello):
            if self.hello is not None:
                self._queue_error(None, ErrorCode.UNEXPECTED_HELLO, "hello was already received on this connection")
                return
            if frame.protocol_version not in self.supported_versions:
                self._fail_from_peer(
                    CloseCode.UNSUPPORTED_VERSION,
                    f"protocol_version {frame.protocol_version} is not supported; this server speaks "
                    + ", ".join(map(str, self.supported_versions)),
                    path="protocol_version",
                    details={"supported": list(self.supported_versions)},
                )
                return
            self.hello = frame
            self._events.append(frame)
            return
        if self.hello is None:
            self._fail_from_peer(
                CloseCode.HELLO_EXPECTED, f"the first frame must be a hello, got {frame.type.value}", path="type"
            )
            return
        if self.state is SessionState.CONNECTING:
            self._queue_error(
                frame.id, ErrorCode.NOT_READY, f"{frame.type.value} sent before welcome; wait for welcome"
            )
            return
        if frame.id in self._pending:
            self._queue_error(
                frame.id, ErrorCode.DUPLICATE_ID, f"command id {frame.id!r} is still unanswered", path="id"
            )
            return
        self._pending[frame.id] = frame.type
        self._events.append(frame)

    def _queue_error(
        self,
        id: str | None,
        code: ErrorCode,
        message: str,
        *,
        path: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self._out.append(encode_error(id, code, message, path=path, details=details))

    def _fail_from_peer(
        self, close_code: CloseCode, message: str, *, path: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        self.protocol_error = message
        self._queue_error(None, CLOSE_ERROR_CODES[close_code], message, path=path, details=details)
        self._closed(close_code, message)
        self._pending.clear()

    # --- output --------------------------------------------------------------------------

    def _require_open(self, what: str) -> None:
        if self.state is not SessionState.OPEN:
            raise InvalidState(f"cannot {what}: session is {self.state.value}")

    def send_welcome(
        self,
        *,
        session_id: str | None = None,
        epoch: str,
        identity: str | None = None,
        capabilities: Capabilities | None = None,
        limits: Limits | None = None,
        server: Mapping[str, str] | None = None,
        batch: bool = False,
    ) -> Welcome:
        """Accept the hello: send ``welcome`` and open the session. ``batch``: whether this
        server batches frames for a client that asks (the welcome says it only if the hello
        asked; see :attr:`batched`)."""
        if self.state is not SessionState.CONNECTING or self.hello is None:
            raise InvalidState(f"cannot send welcome: session is {self.state.value} and hello is {self.hello!r}")
        welcome = Welcome(
            protocol_version=self.hello.protocol_version,
            session_id=session_id or uuid.uuid4().hex,
            epoch=epoch,
            identity=identity,
            capabilities=capabilities or Capabilities(),
            limits=limits or Limits(max_frame_bytes=self.max_frame_bytes),
            **({"server": dict(server)} if server is not None else {}),
            batch=batch and self.hello.batch,
        )
        self._out.append(encode(welcome))
        self.state = SessionState.OPEN
        self.welcome = welcome
        return welcome

    @property
    def batched(self) -> bool:
        """Whether the I/O layer may send several queued frames as one message (a JSON array of
        the frames, ``"[" + ",".join(frames) + "]"``): the hello asked and the welcome agreed."""
        return self.welcome is not None and self.welcome.batch

    def send_reply(self, id: str, result: Any) -> None:
        """Answer command ``id`` with success; ``result`` is a result dataclass or a mapping."""
        self._require_open("send a reply")
        if id not in self._pending:
            raise InvalidState(f"no unanswered command with id {id!r}")
        frame = encode_reply(id, result)  # may raise EncodeError; the id stays pending then
        del self._pending[id]
        self._out.append(frame)

    def send_error(
        self,
        id: str | None,
        code: ErrorCode | str,
        message: str,
        *,
        path: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Answer command ``id`` with an error (``id=None``: about the connection)."""
        if self.state is SessionState.CLOSED:
            raise InvalidState("cannot send an error: session is closed")
        code = ErrorCode(code)
        if id is not None:
            if id not in self._pending:
                raise InvalidState(f"no unanswered command with id {id!r}")
            del self._pending[id]
        self._queue_error(id, code, message, path=path, details=details)

    def send_event(self, event: BaseEvent) -> None:
        """Send one thread event."""
        self._require_open("send an event")
        self._out.append(encode(event))

    def send_event_frame(self, frame: str) -> None:
        """Send an event frame already encoded with :func:`~.codec.encode_event` (fan-out)."""
        self._require_open("send an event")
        self._out.append(frame)

    def send_notice(self, notice: Notice) -> None:
        """Send one ``notice`` (to a connection that sent ``watch_threads``)."""
        self._require_open("send a notice")
        self._out.append(encode(notice))

    def fail(self, code: CloseCode, reason: str = "", *, message: str | None = None) -> None:
        """Close the connection with a 4xxx ``code``, after an ``error`` frame (id ``null``)
        carrying the matching error code. Does nothing if already closed."""
        if self.state is SessionState.CLOSED:
            return
        code = CloseCode(code)
        error_code = CLOSE_ERROR_CODES.get(code)
        if error_code is not None:
            self._queue_error(None, error_code, message or reason or error_code.value)
        self._closed(code, reason or (error_code.value if error_code else ""))
        self._pending.clear()

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close without an error frame (normal closure). Does nothing if already closed."""
        if self.state is SessionState.CLOSED:
            return
        self._closed(code, reason)
        self._pending.clear()


class ClientSession(_Session):
    """The client's side of one connection.

    Creating it queues the ``hello``. ``events_received()`` yields :class:`Welcome`, then
    :class:`Reply` (with the typed result for its command), :class:`ErrorReply`, thread events,
    and :class:`ConnectionClosed`. A server that breaks the protocol fails the session with 1002.
    """

    __slots__ = ("token", "protocol_version", "batch", "welcome", "_pending", "_lengths", "_ids")

    def __init__(
        self,
        *,
        token: str | None = None,
        protocol_version: int = PROTOCOL_VERSION,
        client_info: Mapping[str, str] | None = None,
        batch: bool = False,
    ) -> None:
        super().__init__()
        self.token = token
        self.protocol_version = protocol_version
        self.batch = batch
        """Whether the hello asks the server to batch frames (several in one message)."""
        self.welcome: Welcome | None = None
        self._pending: dict[str, MessageType] = {}
        self._lengths: dict[str, int] = {}  # unanswered command id -> length of its frame
        self._ids = itertools.count(1)
        hello = Hello(
            protocol_version=protocol_version,
            token=token,
            client=None if client_info is None else dict(client_info),
            batch=batch,
        )
        self._out.append(encode(hello))

    @property
    def batched(self) -> bool:
        """Whether the server may send several frames in one message (negotiated in the handshake)."""
        return self.welcome is not None and self.welcome.batch

    @property
    def pending(self) -> Mapping[str, MessageType]:
        """Unanswered command ids and their types."""
        return dict(self._pending)

    def send(self, command: Command) -> str:
        """Queue ``command`` with a fresh id (unless it has one) and return the id.

        Raises :class:`ProtocolError` ``frame_too_large`` (queuing nothing) when its frame is
        larger than the welcome's ``limits.max_frame_bytes``: the server would refuse it.
        """
        if self.state is not SessionState.OPEN:
            raise InvalidState(f"cannot send {command.type.value}: session is {self.state.value}")
        id = command.id
        if not id:
            id = str(next(self._ids))
            while id in self._pending:
                id = str(next(self._ids))
            command = dataclasses.replace(command, id=id)
        elif id in self._pending:
            raise InvalidState(f"command id {id!r} is still unanswered")
        frame = encode(command)
        if self.welcome is not None:
            check_frame_size(frame, self.welcome.limits.max_frame_bytes)
        self._pending[id] = command.type
        self._lengths[id] = len(frame)
        self._out.append(frame)
        return id

    def receive_text(self, text: str) -> None:
        """Feed one text message from the server: a frame, or (when batching was negotiated) a
        JSON array of frames, each then handled as if it had come alone, in order."""
        if self.state is SessionState.CLOSED:
            return
        try:
            message = loads_server_message(text)
        except ProtocolError as exc:
            self._violation(f"bad frame from server: {exc.message}")
            return
        if type(message) is dict:
            self._receive_object(message)
            return
        if not self.batched:
            self._violation("the server sent a JSON array (a batch of frames), which this connection did not negotiate")
            return
        if not message:
            self._violation("the server sent an empty batch of frames")
            return
        for obj in message:
            if not self._receive_object(obj):
                return  # a bad frame ends the batch with the session

    def _receive_object(self, obj: Any) -> bool:
        """Decode and accept one parsed frame; False once the session failed."""
        try:
            frame = decode_server_object(obj, pending=self._pending)
        except ProtocolError as exc:
            self._violation(f"bad frame from server: {exc.message}")
            return False
        except Exception as exc:  # a bug in decoding must not escape into the I/O layer
            self._violation(f"could not decode a server frame: {type(exc).__name__}: {exc}")
            return False
        self._accept(frame)
        return self.protocol_error is None

    def receive_bytes(self, data: bytes) -> None:
        """Feed one binary frame from the server (a protocol violation)."""
        if self.state is SessionState.CLOSED:
            return
        self._violation("the server sent a binary frame")

    def _accept(self, frame: ServerFrame) -> None:
        if isinstance(frame, Welcome):
            if self.state is not SessionState.CONNECTING:
                self._violation("the server sent a second welcome")
                return
            if frame.protocol_version != self.protocol_version:
                self._violation(f"the server answered with protocol_version {frame.protocol_version}")
                return
            if frame.batch and not self.batch:
                self._violation("the server turned batching on, which the hello did not ask for")
                return
            self.welcome = frame
            self.state = SessionState.OPEN
            self._events.append(frame)
            return
        if isinstance(frame, ErrorReply):
            if frame.id is None and frame.code == ErrorCode.FRAME_TOO_LARGE:
                frame = self._oversize_command(frame)
            if frame.id is not None:
                if frame.id not in self._pending:
                    self._violation(f"error for {frame.id!r}, which is not an unanswered command")
                    return
                self._answered(frame.id)
            self._events.append(frame)
            return
        if self.state is SessionState.CONNECTING:
            self._violation(f"the server sent {frame.type.value if isinstance(frame, Reply) else 'an event'} before welcome")
            return
        if isinstance(frame, Reply):
            self._answered(frame.id)
        self._events.append(frame)

    def _answered(self, id: str) -> None:
        del self._pending[id]
        self._lengths.pop(id, None)

    def _oversize_command(self, error: ErrorReply) -> ErrorReply:
        """An id-less ``frame_too_large`` (from a server that could not read the refused frame's
        id) answers the largest unanswered command: that one gets no other answer. ``send()``
        refuses what it knows to be too large, so this only happens when the server counts
        differently."""
        if self.state is not SessionState.OPEN or not self._pending:
            return error
        largest = max(self._pending, key=lambda id: self._lengths.get(id, 0))
        return dataclasses.replace(error, id=largest)

    def _violation(self, message: str) -> None:
        self.protocol_error = message
        self._closed(CloseCode.PROTOCOL_ERROR, message)
        self._pending.clear()
        self._lengths.clear()
