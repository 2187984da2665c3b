from __future__ import annotations

import pytest

from streamhil.protocol import ERROR_FAMILY, ErrorCode, ErrorFamily, ErrorReply
from streamhil_client import (
    AuthError,
    BadRequestError,
    ConflictError,
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    ServerError,
    StreamhilClientError,
)
from streamhil_client.errors import error_from_reply

CLASSES = {
    ErrorFamily.REQUEST: BadRequestError,
    ErrorFamily.AUTH: AuthError,
    ErrorFamily.NOT_FOUND: NotFoundError,
    ErrorFamily.INVALID: InvalidArgumentError,
    ErrorFamily.CONFLICT: ConflictError,
    ErrorFamily.SERVER: ServerError,
    ErrorFamily.LIMIT: LimitError,
}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_each_code_raises_its_family_class(code: ErrorCode) -> None:
    reply = ErrorReply(id="7", code=code.value, message="m", path="p", details={"k": 1})
    error = error_from_reply(reply)
    assert type(error) is CLASSES[ERROR_FAMILY[code]]
    assert (error.code, error.message, error.id, error.path, error.details) == (code.value, "m", "7", "p", {"k": 1})
    assert str(error) == f"[{code.value}] m"


def test_unknown_codes_are_server_errors() -> None:
    error = error_from_reply(ErrorReply(id=None, code="brand_new", message="m"))
    assert isinstance(error, ServerError) and isinstance(error, StreamhilClientError)
