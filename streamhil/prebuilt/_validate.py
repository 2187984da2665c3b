"""Check a JSON value against the subset of JSON Schema that tool schemas use.

Understood keywords: ``type`` (one or a list), ``enum``, ``const``, ``anyOf``/``oneOf``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``prefixItems``,
``minItems``/``maxItems``. Other keywords are ignored, so a hand-written schema still works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["schema_errors"]

_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
    list: "array",
    dict: "object",
}


def _json_type(value: Any) -> str:
    for py, name in _TYPE_NAMES.items():
        if type(value) is py:
            return name
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _matches_type(value: Any, expected: str) -> bool:
    actual = _json_type(value)
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == expected


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1``."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def schema_errors(schema: Mapping[str, Any], value: Any, path: str = "args") -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``"path: problem"`` lines (empty when it fits)."""
    errors: list[str] = []
    _check(schema, value, path, errors)
    return errors


def _check(schema: Mapping[str, Any], value: Any, path: str, errors: list[str]) -> None:
    options = schema.get("anyOf", schema.get("oneOf"))
    if options is not None:
        if not any(not schema_errors(option, value, path) for option in options):
            errors.append(f"{path}: {_show(value)} matches none of the allowed forms")
            return
    if "enum" in schema and not any(_same(value, allowed) for allowed in schema["enum"]):
        errors.append(f"{path}: {_show(value)} is not one of {schema['enum']!r}")
        return
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"{path}: must be {schema['const']!r}, got {_show(value)}")
        return
    expected = schema.get("type")
    if expected is not None:
        allowed = [expected] if isinstance(expected, str) else list(expected)
        if not any(_matches_type(value, t) for t in allowed):
            errors.append(f"{path}: expected {' or '.join(allowed)}, got {_json_type(value)} {_show(value)}")
            return
    kind = _json_type(value)
    if kind == "object":
        _check_object(schema, value, path, errors)
    elif kind == "array":
        _check_array(schema, value, path, errors)


def _check_object(schema: Mapping[str, Any], value: Mapping[str, Any], path: str, errors: list[str]) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in value:
            errors.append(f"{path}.{key}: required but missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        where = f"{path}.{key}"
        if not isinstance(key, str):
            errors.append(f"{path}: keys must be strings, got {_show(key)}")
        elif key in properties:
            _check(properties[key], item, where, errors)
        elif extra is False:
            known = ", ".join(properties) or "none"
            errors.append(f"{where}: unexpected argument (known: {known})")
        elif isinstance(extra, Mapping):
            _check(extra, item, where, errors)


def _check_array(schema: Mapping[str, Any], value: list[Any], path: str, errors: list[str]) -> None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and len(value) < low:
        errors.append(f"{path}: needs at least {low} items, got {len(value)}")
    if high is not None and len(value) > high:
        errors.append(f"{path}: takes at most {high} items, got {len(value)}")
    prefix = schema.get("prefixItems", ())
    for i, item in enumerate(value):
        if i < len(prefix):
            _check(prefix[i], item, f"{path}[{i}]", errors)
        elif "items" in schema and isinstance(schema["items"], Mapping):
            _check(schema["items"], item, f"{path}[{i}]", errors)
