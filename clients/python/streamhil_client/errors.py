"""Exceptions of the Python SDK.

::

    StreamhilClientError                 base; error replies carry code, message, id, path, details
     ├── BadRequestError                 family "request": the frame or a field was wrong
     ├── AuthError                       family "auth": unauthenticated / forbidden
     ├── NotFoundError                   family "not_found": thread, graph, checkpoint, interrupt, run
     ├── InvalidArgumentError            family "invalid": well-formed but not valid for this graph
     ├── ConflictError                   family "conflict": busy, pending, already answered...
     ├── ServerError                     family "server": the server failed or is going away
     ├── LimitError                      family "limit": too many commands in flight or runs; retry later
     ├── ConnectionLostError             the connection dropped before the answer came
     └── ClientClosedError               the client is closed (terminal close code, or exited)
"""

from __future__ import annotations

from typing import Any

from streamhil.protocol import ErrorFamily, ErrorReply, family_of

__all__ = [
    "StreamhilClientError",
    "BadRequestError",
    "AuthError",
    "NotFoundError",
    "InvalidArgumentError",
    "ConflictError",
    "ServerError",
    "LimitError",
    "ConnectionLostError",
    "ClientClosedError",
    "error_from_reply",
]


class StreamhilClientError(Exception):
    """An error reply from the server, or a failure of the connection."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        id: str | None = None,
        path: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.id = id
        self.path = path
        self.details = details or {}

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, id={self.id!r})"


class BadRequestError(StreamhilClientError):
    """The server could not read a command (a bug in the caller or the SDK)."""


class AuthError(StreamhilClientError):
    """Credentials missing or rejected, or the identity may not do this."""


class NotFoundError(StreamhilClientError):
    """The thing named does not exist or is not visible (``details["resource"]`` says which)."""


class InvalidArgumentError(StreamhilClientError):
    """Well-formed but not valid for this graph or thread."""


class ConflictError(StreamhilClientError):
    """The thread's state refuses the command: busy, interrupts pending, already answered..."""


class ServerError(StreamhilClientError):
    """The server failed handling the command, or is going away."""


class LimitError(StreamhilClientError):
    """A server limit refused the command (commands in flight, runs per identity); nothing was
    applied: retry once earlier commands or runs have finished."""


class ConnectionLostError(StreamhilClientError):
    """The connection dropped before the command was answered; it may or may not have been applied."""


class ClientClosedError(StreamhilClientError):
    """The client is closed: it was exited, or the server closed with a terminal code."""

    def __init__(self, message: str, *, close_code: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.close_code = close_code


_FAMILY_CLASS: dict[ErrorFamily, type[StreamhilClientError]] = {
    ErrorFamily.REQUEST: BadRequestError,
    ErrorFamily.AUTH: AuthError,
    ErrorFamily.NOT_FOUND: NotFoundError,
    ErrorFamily.INVALID: InvalidArgumentError,
    ErrorFamily.CONFLICT: ConflictError,
    ErrorFamily.SERVER: ServerError,
    ErrorFamily.LIMIT: LimitError,
}


def error_from_reply(reply: ErrorReply) -> StreamhilClientError:
    """The exception for an ``error`` frame, by the family of its code."""
    cls = _FAMILY_CLASS[family_of(reply.code)]
    return cls(reply.message, code=reply.code, id=reply.id, path=reply.path, details=reply.details)
