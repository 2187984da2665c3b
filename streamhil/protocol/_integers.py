"""Integers wider than 64 bits in a client frame: refused rather than rounded.

orjson parses integers from -2**63 to 2**64-1 exactly and turns wider ones into floats without a
word (and cannot encode them either). A frame's walk (``codec._scan``) notes any float that large;
only then is the text read again to tell an integer literal (refused: :func:`wide_integer`) from a
float one such as ``1e20`` (kept). Frames without such a float cost nothing more.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MIN_INTEGER", "MAX_INTEGER", "WIDE_FLOAT", "wide_integer", "describe_wide_integer", "wide_integer_problem"]

MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1
WIDE_FLOAT = 9.2e18
"""A parsed float at least this large (either sign) may be an integer the parser widened."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?')
"""Strings (skipped whole) and numbers."""


def _wide_literals(text: str) -> dict[float, str]:
    """Each integer literal of ``text`` outside the 64-bit range, by the float it parsed to."""
    found: dict[float, str] = {}
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"' or "." in token or "e" in token or "E" in token:
            continue
        number = int(token)
        if not MIN_INTEGER <= number <= MAX_INTEGER:
            found.setdefault(float(number), token)
    return found


def _path_of(value: Any, targets: dict[float, str]) -> tuple[str, str] | None:
    """The path (as ``codec.too_deep`` writes them) and literal of the first float in ``value``
    that one of ``targets`` parsed to."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            child_path = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            if isinstance(child, (dict, list)):
                stack.append((child, child_path))
            elif isinstance(child, float) and child in targets:
                return child_path, targets[child]
    return None


def wide_integer(text: str | bytes, value: Any) -> tuple[str, str] | None:
    """``(path, literal)`` of an integer in the frame ``text`` (parsed as ``value``, a JSON object
    or array) that does not fit in 64 bits, or None (the wide floats were float literals)."""
    literals = _wide_literals(text if isinstance(text, str) else text.decode("utf-8", "replace"))
    if not literals:
        return None
    return _path_of(value, literals) or ("$", next(iter(literals.values())))


def describe_wide_integer(path: str, literal: str) -> str:
    """The error message for :func:`wide_integer`'s finding."""
    shown = literal if len(literal) <= 40 else f"{literal[:20]}…{literal[-8:]} ({len(literal.lstrip('-'))} digits)"
    return (
        f"{path}: the integer {shown} does not fit in 64 bits (integers go from -2**63 to 2**64-1); "
        "send a wider one as a string"
    )


def _has_wide_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append(child)
            elif isinstance(child, float) and not -WIDE_FLOAT < child < WIDE_FLOAT:
                return True
    return False


def wide_integer_problem(text: str | bytes, value: Any) -> tuple[str, str] | None:
    """``(path, message)`` when the JSON ``text``, parsed as ``value``, holds an integer wider
    than 64 bits; for request bodies outside the WebSocket protocol (the LangGraph HTTP API)."""
    if not isinstance(value, (dict, list)) or not _has_wide_float(value):
        return None
    found = wide_integer(text, value)
    return None if found is None else (found[0], describe_wide_integer(*found))
