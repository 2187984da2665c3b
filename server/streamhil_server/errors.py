"""The one exception server code raises to answer a command with an ``error`` frame."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamhil.protocol import ErrorCode

from .storage.health import unavailable_cause

__all__ = ["CommandError", "not_found", "storage_unavailable"]


class CommandError(Exception):
    """A command that cannot be carried out; becomes an ``error`` frame with this ``code``."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        path: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.details = None if details is None else dict(details)

    def __repr__(self) -> str:
        return f"CommandError(code={self.code.value!r}, message={self.message!r}, path={self.path!r})"


def not_found(resource: str, name: str, *, path: str | None = None) -> CommandError:
    """``not_found`` for a thread, graph, checkpoint, interrupt or run."""
    return CommandError(
        ErrorCode.NOT_FOUND, f"{resource} {name!r} not found", path=path, details={"resource": resource}
    )


def storage_unavailable(exc: BaseException) -> CommandError | None:
    """``storage_unavailable`` if ``exc`` comes from the storage being unavailable (its
    database cannot be reached), else None: the command may be retried once it is back."""
    cause = unavailable_cause(exc)
    return None if cause is None else CommandError(ErrorCode.STORAGE_UNAVAILABLE, str(cause))
