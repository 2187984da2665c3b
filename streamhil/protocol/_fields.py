"""Typed reads of one JSON object's fields, each failure naming the field's path."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from .errors import ErrorCode, ProtocolError

__all__ = ["Fields", "json_type", "UNSET", "Unset"]


class Unset:
    """The type of :data:`UNSET`: a field that was not given at all (``null`` is a value)."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fits(value: object, min_len: int, max_len: int | None, choices: Collection[str] | None) -> bool:
    """Whether ``value`` passes :meth:`Fields.check_str` (checked without building its path)."""
    return (
        type(value) is str
        and len(value) >= min_len
        and (max_len is None or len(value) <= max_len)
        and (choices is None or value in choices)
    )


class Fields:
    """Reads fields of ``obj``; with ``strict``, :meth:`finish` refuses fields never read.

    Every failure raises :class:`ProtocolError` with ``invalid_field`` (or ``code``) and the path.
    """

    __slots__ = ("obj", "prefix", "id", "strict", "code", "_seen")

    def __init__(
        self,
        obj: Mapping[str, Any],
        *,
        prefix: str = "",
        id: str | None = None,
        strict: bool = True,
        code: ErrorCode = ErrorCode.INVALID_FIELD,
    ) -> None:
        self.obj = obj
        self.prefix = prefix
        self.id = id
        self.strict = strict
        self.code = code
        self._seen: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, path: str, message: str) -> ProtocolError:
        return ProtocolError(self.code, f"{path}: {message}", path=path, id=self.id)

    def _get(self, key: str, required: bool) -> Any:
        if self.strict:
            self._seen.add(key)
        value = self.obj.get(key, UNSET)
        if required and (value is UNSET or value is None):
            raise self.fail(self.path(key), "required field is missing")
        return value

    def _expected(self, key: str, what: str, value: object) -> ProtocolError:
        return self.fail(self.path(key), f"expected {what}, got {json_type(value)} {_short(value)}")

    def raw(self, key: str) -> Any:
        """The value as given, or :data:`UNSET` when the key is absent."""
        return self._get(key, False)

    def any(self, key: str, *, required: bool = False) -> Any:
        """Any JSON value; absent reads as ``None``."""
        value = self._get(key, required)
        return None if value is UNSET else value

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        min_len: int = 1,
        max_len: int | None = None,
        choices: Collection[str] | None = None,
        default: str | None = None,
    ) -> Any:
        value = self._get(key, required)
        if value is UNSET or value is None:
            return default
        if _fits(value, min_len, max_len, choices):
            return value  # the usual case: no error path built
        return self.check_str(self.path(key), value, min_len=min_len, max_len=max_len, choices=choices)

    def check_str(
        self,
        path: str,
        value: object,
        *,
        min_len: int = 1,
        max_len: int | None = None,
        choices: Collection[str] | None = None,
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected string, got {json_type(value)} {_short(value)}")
        if choices is not None and value not in choices:
            raise self.fail(path, f"expected one of {', '.join(choices)}, got {_short(value)}")
        if len(value) < min_len:
            raise self.fail(path, "must not be empty" if min_len == 1 else f"shorter than {min_len}")
        if max_len is not None and len(value) > max_len:
            raise self.fail(path, f"longer than {max_len} characters")
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
        default: int | None = None,
    ) -> Any:
        value = self._get(key, required)
        if value is UNSET or value is None:
            return default
        if type(value) is int and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value  # the usual case
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._expected(key, "integer", value)
        if minimum is not None and value < minimum:
            raise self.fail(self.path(key), f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(self.path(key), f"must be <= {maximum}, got {value}")
        return value

    def boolean(self, key: str, *, required: bool = False, default: bool | None = None) -> Any:
        value = self._get(key, required)
        if value is UNSET or value is None:
            return default
        if not isinstance(value, bool):
            raise self._expected(key, "boolean", value)
        return value

    def mapping(self, key: str, *, required: bool = False) -> Any:
        """A JSON object (returned as a dict), or ``None`` when absent."""
        value = self._get(key, required)
        if value is UNSET or value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._expected(key, "object", value)
        return dict(value)

    def sub(self, key: str, *, required: bool = False, strict: bool | None = None) -> Fields | None:
        """A nested object read with its own :class:`Fields` (paths prefixed), or ``None``."""
        value = self.mapping(key, required=required)
        if value is None:
            return None
        return Fields(
            value,
            prefix=self.path(key),
            id=self.id,
            strict=self.strict if strict is None else strict,
            code=self.code,
        )

    def array(self, key: str, *, required: bool = False) -> Any:
        value = self._get(key, required)
        if value is UNSET or value is None:
            return None
        if not isinstance(value, list):
            raise self._expected(key, "array", value)
        return value

    def texts(
        self,
        key: str,
        *,
        required: bool = False,
        choices: Collection[str] | None = None,
        unique: bool = True,
        non_empty: bool = False,
        max_len: int | None = None,
    ) -> Any:
        """An array of strings as a tuple, or ``None`` when absent."""
        items = self.array(key, required=required)
        if items is None:
            return None
        if (
            (items or not non_empty)
            and all(_fits(item, 1, max_len, choices) for item in items)
            and (not unique or len(set(items)) == len(items))
        ):
            return tuple(items)  # the usual case: no error path built
        base = self.path(key)
        out: list[str] = []
        for i, item in enumerate(items):
            text = self.check_str(f"{base}[{i}]", item, choices=choices, max_len=max_len)
            if unique and text in out:
                raise self.fail(f"{base}[{i}]", f"duplicate {text!r}")
            out.append(text)
        if non_empty and not out:
            raise self.fail(base, "must not be empty")
        return tuple(out)

    def finish(self) -> None:
        """With ``strict``, refuse keys that were never read."""
        if not self.strict:
            return
        for key in self.obj:
            if key not in self._seen:
                raise self.fail(self.path(str(key)), "unknown field")
