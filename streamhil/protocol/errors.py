"""Error codes of ``error`` frames, their families, and the protocol's own exceptions.

::

    ProtocolError (ValueError)       a frame that breaks the protocol; carries code, path, id
    InvalidState (RuntimeError)      the local application misused a session (Sans-I/O)
    EncodeError (TypeError)          a value the codec cannot turn into JSON
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "ErrorCode",
    "ErrorFamily",
    "ERROR_FAMILY",
    "family_of",
    "ProtocolError",
    "InvalidState",
    "EncodeError",
]


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` frame (``docs/protocol.md`` section 7)."""

    BAD_JSON = "bad_json"
    BAD_FRAME = "bad_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    DUPLICATE_ID = "duplicate_id"
    HELLO_EXPECTED = "hello_expected"
    UNEXPECTED_HELLO = "unexpected_hello"
    NOT_READY = "not_ready"
    UNSUPPORTED_VERSION = "unsupported_version"
    HELLO_TIMEOUT = "hello_timeout"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_ARGUMENT = "invalid_argument"
    THREAD_BUSY = "thread_busy"
    INTERRUPT_PENDING = "interrupt_pending"
    NOTHING_PENDING = "nothing_pending"
    AMBIGUOUS_RESUME = "ambiguous_resume"
    ALREADY_ANSWERED = "already_answered"
    NO_ACTIVE_RUN = "no_active_run"
    ALREADY_SUBSCRIBED = "already_subscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    SLOW_CONSUMER = "slow_consumer"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    INTERNAL_ERROR = "internal_error"
    SHUTTING_DOWN = "shutting_down"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    TOO_MANY_REQUESTS = "too_many_requests"
    TOO_MANY_RUNS = "too_many_runs"


class ErrorFamily(StrEnum):
    """Groups of error codes; the Python SDK raises one exception class per family."""

    REQUEST = "request"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"
    SERVER = "server"
    LIMIT = "limit"


_C = ErrorCode
_F = ErrorFamily
ERROR_FAMILY: dict[ErrorCode, ErrorFamily] = {
    _C.BAD_JSON: _F.REQUEST,
    _C.BAD_FRAME: _F.REQUEST,
    _C.FRAME_TOO_LARGE: _F.REQUEST,
    _C.UNKNOWN_TYPE: _F.REQUEST,
    _C.INVALID_FIELD: _F.REQUEST,
    _C.DUPLICATE_ID: _F.REQUEST,
    _C.HELLO_EXPECTED: _F.REQUEST,
    _C.UNEXPECTED_HELLO: _F.REQUEST,
    _C.NOT_READY: _F.REQUEST,
    _C.UNSUPPORTED_VERSION: _F.REQUEST,
    _C.HELLO_TIMEOUT: _F.REQUEST,
    _C.UNAUTHENTICATED: _F.AUTH,
    _C.FORBIDDEN: _F.AUTH,
    _C.NOT_FOUND: _F.NOT_FOUND,
    _C.INVALID_ARGUMENT: _F.INVALID,
    _C.THREAD_BUSY: _F.CONFLICT,
    _C.INTERRUPT_PENDING: _F.CONFLICT,
    _C.NOTHING_PENDING: _F.CONFLICT,
    _C.AMBIGUOUS_RESUME: _F.CONFLICT,
    _C.ALREADY_ANSWERED: _F.CONFLICT,
    _C.NO_ACTIVE_RUN: _F.CONFLICT,
    _C.ALREADY_SUBSCRIBED: _F.CONFLICT,
    _C.NOT_SUBSCRIBED: _F.CONFLICT,
    _C.SLOW_CONSUMER: _F.SERVER,
    _C.HEARTBEAT_TIMEOUT: _F.SERVER,
    _C.INTERNAL_ERROR: _F.SERVER,
    _C.SHUTTING_DOWN: _F.SERVER,
    _C.STORAGE_UNAVAILABLE: _F.SERVER,
    _C.TOO_MANY_REQUESTS: _F.LIMIT,
    _C.TOO_MANY_RUNS: _F.LIMIT,
}


def family_of(code: str) -> ErrorFamily:
    """The family of ``code``; codes this version does not know count as ``server``."""
    try:
        return ERROR_FAMILY[ErrorCode(code)]
    except ValueError:
        return ErrorFamily.SERVER


class ProtocolError(ValueError):
    """A frame that breaks the protocol.

    ``code`` is the error code to answer with, ``path`` the offending field (dotted keys and
    ``[i]`` indexes from the frame root) and ``id`` the command id when it could be read.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        path: str | None = None,
        id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.id = id
        self.details = details

    def __repr__(self) -> str:
        return f"ProtocolError(code={self.code.value!r}, message={self.message!r}, path={self.path!r})"


class InvalidState(RuntimeError):
    """The local application used a session in a way its state does not allow."""


class EncodeError(TypeError):
    """A value that cannot be encoded as JSON."""
