"""Text frame ↔ message. Decoding validates strictly and raises :class:`ProtocolError`
naming the offending field; encoding uses orjson.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import is_dataclass
from enum import Enum
from typing import Any

import orjson

from ._fields import Fields, json_type
from ._integers import MAX_INTEGER, MIN_INTEGER, WIDE_FLOAT, describe_wide_integer, wide_integer, wide_integer_problem
from .errors import EncodeError, ErrorCode, ProtocolError
from .events import BaseEvent, event_from_wire, make_event
from .commands import COMMAND_TYPES, Command
from .messages import (
    MAX_ID_LENGTH,
    MAX_NESTING_DEPTH,
    ErrorReply,
    Hello,
    MessageType,
    Reply,
    Welcome,
)
from .notices import Notice, notice_from_wire
from .results import RESULT_TYPES, Result

__all__ = [
    "dumps",
    "loads_object",
    "frame_size",
    "check_frame_size",
    "too_deep",
    "nesting_problem",
    "loads_body",
    "wide_integer_problem",
    "decode_client_frame",
    "decode_server_frame",
    "decode_server_object",
    "loads_server_message",
    "encode",
    "encode_reply",
    "encode_error",
    "encode_event",
    "ServerFrame",
    "ClientFrame",
]

ClientFrame = Hello | Command
ServerFrame = Welcome | Reply | ErrorReply | BaseEvent | Notice

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, tuple):  # NamedTuple subclasses that orjson does not take
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """``value`` as compact JSON text; raises :class:`EncodeError` for what JSON cannot hold."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise EncodeError(f"cannot encode frame: {exc}") from exc


def frame_size(text: str) -> int:
    """Size of ``text`` in UTF-8 bytes (what ``max_frame_bytes`` counts)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _too_large(text: str, limit: int) -> bool:
    if len(text) > limit:
        return True
    if len(text) * 4 <= limit:
        return False
    return frame_size(text) > limit


def check_frame_size(text: str, max_frame_bytes: int, *, id: str | None = None) -> None:
    """Raise :class:`ProtocolError` ``frame_too_large`` when ``text`` is larger than
    ``max_frame_bytes`` UTF-8 bytes (the server refuses such a frame; a client checks first)."""
    if _too_large(text, max_frame_bytes):
        size = frame_size(text)
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"frame of {size} bytes is larger than max_frame_bytes={max_frame_bytes}",
            id=id,
            details={"max_frame_bytes": max_frame_bytes, "frame_bytes": size},
        )


_LEADING_ID = re.compile(
    r'[ \t\n\r]*\{[ \t\n\r]*(?:"type"[ \t\n\r]*:[ \t\n\r]*"[a-z_]{1,64}"[ \t\n\r]*,[ \t\n\r]*)?'
    r'"id"[ \t\n\r]*:[ \t\n\r]*"([^"\\]{1,256})"'
)
"""A frame that opens with its ``id`` (first, or right after ``type``, as clients write them)."""

_LEADING_ID_SPAN = 512


def _leading_id(text: str) -> str | None:
    """The ``id`` of a frame too large to parse, read from its first bytes when it opens with
    it (``{"type": "…", "id": "…"``: a member of the top-level object, so nothing else can be
    mistaken for it); None otherwise. Lets the client match the ``frame_too_large`` error."""
    found = _LEADING_ID.match(text[:_LEADING_ID_SPAN])
    return found.group(1) if found else None


class _TooDeepToParse(ProtocolError):
    """``bad_json`` only because the text nests deeper than the parser goes (1024 levels)."""


def loads_object(text: str | bytes) -> dict[str, Any]:
    """Parse one frame into a JSON object, or raise ``bad_json`` / ``bad_frame``."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        error = _TooDeepToParse if "depth limit" in str(exc) else ProtocolError
        raise error(ErrorCode.BAD_JSON, f"frame is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame must be a JSON object, got {json_type(value)}")
    return value


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
"""Strings (skipped whole) and the brackets that open and close arrays and objects."""


def _cut_below(text: str, level: int) -> str:
    """``text`` with every array or object at nesting ``level`` (the outermost is level 0)
    replaced by ``[]``: parseable by a parser with a depth limit, and still nested one level
    deeper than ``level - 1``, at the same path, so :func:`too_deep` names it."""
    out: list[str] = []
    depth, start, skipping = 0, 0, False
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            if depth == level and not skipping:
                out.append(text[start : match.start()])
                skipping = True
            depth += 1
        else:
            depth -= 1
            if depth == level and skipping:
                out.append("[]")
                start = match.end()
                skipping = False
    out.append(text[start:] if not skipping else "")
    return "".join(out)


def too_deep(value: Any, limit: int = MAX_NESTING_DEPTH) -> str | None:
    """The path of the first array or object nested deeper than ``limit`` (the value itself is
    level 0) in parsed JSON, or None."""
    return _scan(value, limit)[0]


def nesting_problem(value: Any) -> tuple[str, str] | None:
    """``(path, message)`` when parsed JSON nests deeper than :data:`MAX_NESTING_DEPTH`, as the
    WebSocket protocol refuses it; for request bodies outside it (the HTTP APIs)."""
    path = too_deep(value)
    return None if path is None else (path, _too_deep_message(path))


def _too_deep_message(path: str) -> str:
    return f"{path if len(path) <= 80 else path[:40] + '…' + path[-20:]}: nested deeper than {MAX_NESTING_DEPTH} levels"


def loads_body(text: str | bytes) -> Any:
    """Parse a request body (``orjson.JSONDecodeError`` when it is not JSON). A body nested
    deeper than the parser goes (1024 levels) is parsed cut one level below the limit, so
    :func:`nesting_problem` names its path instead of it being mistaken for bad JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth limit" not in str(exc):
            raise
    # (what is cut always fails nesting_problem, so a replaced bad byte is never used)
    text = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return orjson.loads(_cut_below(text, MAX_NESTING_DEPTH + 1))


def _scan(value: Any, limit: int = MAX_NESTING_DEPTH) -> tuple[str | None, bool]:
    """One walk of parsed JSON: :func:`too_deep`'s path, and whether it holds a float large
    enough to be an integer the parser widened (``_integers``). Classes are compared, not
    ``isinstance``: parsed JSON holds plain dicts, lists and floats (and it is the faster test)."""
    wide = False
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        children: Iterable[tuple[Any, Any]]
        if isinstance(item, dict):
            children = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if depth > limit:
            return path or "$", wide
        for key, child in children:
            cls = child.__class__
            if cls is dict or cls is list:
                child_path = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
                stack.append((child, child_path, depth + 1))
            elif cls is float and not -WIDE_FLOAT < child < WIDE_FLOAT:
                wide = True
    return None, wide


def _check_values(text: str | bytes, obj: Mapping[str, Any], id: str | None) -> None:
    """Refuse a frame nested too deep, or holding an integer wider than 64 bits (which the
    parser would have turned into a float), with ``invalid_field`` and the value's path."""
    path, wide = _scan(obj)
    if path is not None:
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            _too_deep_message(path),
            path=path,
            id=id,
            details={"max_nesting_depth": MAX_NESTING_DEPTH},
        )
    found = wide_integer(text, obj) if wide else None
    if found is not None:
        path = found[0]
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            describe_wide_integer(*found),
            path=path,
            id=id,
            details={"min_integer": MIN_INTEGER, "max_integer": MAX_INTEGER},
        )


def _frame_type(obj: Mapping[str, Any], id: str | None) -> str:
    kind = obj.get("type")
    if kind is None:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame has no type field", path="type", id=id)
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_FRAME, "type must be a string", path="type", id=id)
    return kind


_MAX_ECHOED_ID = 256
"""An ``id`` that is not a valid one (1-64 characters) is still echoed in the error about the
frame when it is a string up to this long, so the client can match the answer."""


def _readable_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("id")
    if isinstance(value, str) and len(value) <= _MAX_ECHOED_ID:
        return value
    return None


def decode_client_frame(text: str, *, max_frame_bytes: int) -> ClientFrame:
    """Decode a frame a client sent: ``hello`` or a command. Raises :class:`ProtocolError`."""
    if _too_large(text, max_frame_bytes):
        check_frame_size(text, max_frame_bytes, id=_leading_id(text))
    try:
        obj = loads_object(text)
    except _TooDeepToParse:
        # deeper than the parser goes: parse it cut at one level below the limit, so the
        # answer names the command, the path and the limit as for any too-deep frame
        obj = loads_object(_cut_below(text if isinstance(text, str) else text.decode(), MAX_NESTING_DEPTH + 1))
    id = _readable_id(obj)
    _check_values(text, obj, id)
    kind = _frame_type(obj, id)
    if kind == MessageType.HELLO:
        fields = Fields(obj)
        fields.text("type")
        hello = Hello.from_wire(fields)
        fields.finish()
        return hello
    try:
        cls = COMMAND_TYPES[MessageType(kind)]
    except (ValueError, KeyError):
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown command type {kind[:64]!r}; expected one of {', '.join(COMMAND_TYPES)}",
            path="type",
            id=id,
            details={"type": kind[:64]},
        ) from None
    if id is None or not 1 <= len(id) <= MAX_ID_LENGTH:
        raw = obj.get("id")
        problem = "required field is missing" if raw is None else f"must be a string of 1-{MAX_ID_LENGTH} characters"
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"id: {problem}", path="id", id=id)
    fields = Fields(obj, id=id)
    fields.text("type")
    fields.text("id")
    command = cls.from_wire(fields)
    fields.finish()
    return command


def decode_server_frame(text: str | bytes, *, pending: Mapping[str, MessageType]) -> ServerFrame:
    """Decode a frame the server sent. ``pending`` maps unanswered command ids to their type,
    so that a ``reply`` gets its typed result. Raises :class:`ProtocolError`."""
    return decode_server_object(loads_object(text), pending=pending)


def loads_server_message(text: str | bytes) -> dict[str, Any] | list[Any]:
    """Parse one WebSocket message from the server: a frame (a JSON object) or, on a connection
    that negotiated batching, an array of frames. Raises ``bad_json`` / ``bad_frame``; the
    elements of an array are checked by :func:`decode_server_object`."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"frame is not valid JSON: {exc}") from None
    if not isinstance(value, (dict, list)):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame must be a JSON object, got {json_type(value)}")
    return value


def decode_server_object(obj: Any, *, pending: Mapping[str, MessageType]) -> ServerFrame:
    """Decode a server frame already parsed into a dict (an element of a batch, or a frame
    parsed by :func:`loads_server_message`): nothing is parsed or serialised again.
    Raises :class:`ProtocolError`."""
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame must be a JSON object, got {json_type(obj)}")
    kind = _frame_type(obj, None)
    fields = Fields(obj, strict=False)
    if kind == MessageType.EVENT:
        return event_from_wire(fields)
    if kind == MessageType.NOTICE:
        return notice_from_wire(fields)
    if kind == MessageType.REPLY:
        id = fields.text("id", required=True, max_len=None)
        command = pending.get(id)
        if command is None:
            raise fields.fail("id", f"reply to {id!r}, which is not an unanswered command")
        result_fields = fields.sub("result", required=True, strict=False)
        if result_fields is None:  # unreachable: required=True raises first
            raise fields.fail("result", "required field is missing")
        result: Result = RESULT_TYPES[command].from_wire(result_fields)
        return Reply(id=id, command=command, result=result)
    if kind == MessageType.ERROR:
        return ErrorReply.from_wire(fields)
    if kind == MessageType.WELCOME:
        return Welcome.from_wire(fields)
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown server frame type {kind[:64]!r}", path="type")


def encode(message: Any) -> str:
    """Encode any message dataclass (``to_wire()``) as a text frame."""
    return dumps(message.to_wire())


def _result_to_wire(result: Any) -> Any:
    if isinstance(result, Mapping):
        return dict(result)
    to_wire = getattr(result, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    if is_dataclass(result):
        raise EncodeError(f"{type(result).__name__} has no to_wire()")
    raise EncodeError(f"a reply result must be a result dataclass or a mapping, got {type(result).__name__}")


def encode_reply(id: str, result: Any) -> str:
    """A ``reply`` frame for command ``id``."""
    return dumps({"type": "reply", "id": id, "result": _result_to_wire(result)})


def encode_error(
    id: str | None,
    code: ErrorCode | str,
    message: str,
    *,
    path: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """An ``error`` frame."""
    code_text = code.value if isinstance(code, Enum) else str(code)
    return dumps(
        {
            "type": "error",
            "id": id,
            "code": code_text,
            "message": message,
            "path": path,
            "details": None if details is None else dict(details),
        }
    )


def encode_event(
    event: str,
    *,
    thread_id: str,
    run_id: str | None,
    seq: int,
    data: Any = None,
    ns: tuple[str, ...] | list[str] = (),
) -> str:
    """An ``event`` frame, validated by building its typed event first."""
    return encode(make_event(event, thread_id=thread_id, run_id=run_id, seq=seq, data=data, ns=ns))
