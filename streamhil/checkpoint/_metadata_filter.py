"""A listing's metadata filter as SQL terms, so that checkpoints it drops are never loaded.

``alist(filter=...)`` keeps the checkpoints whose metadata has every filter key with a value
Python finds equal (``metadata.get(key) == value``, as LangGraph's ``InMemorySaver``). The
terms made here are a *necessary* condition of that, tested in SQL on the metadata column
alone: a row they drop could not match, so its blobs and writes are never read, and a filter
that matches nothing costs an index scan, not a load of the whole history. The exact check
(:func:`._records.matches`) still runs in Python on the rows they keep, so results are the
same as without them.

Only exact ``str``, ``bool``, ``int`` (64-bit) and finite ``float`` values become terms; a key
with any other value (``None``, which also matches a missing key, a container, a tagged type)
is left to Python. A number also passes the booleans Python finds equal to it (``True == 1``),
and a stored value that is a JSON object always passes: it may be a tagged value (a
``Decimal``, an ``IntEnum``) equal to a plain scalar.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite
from typing import Any

import orjson

__all__ = ["postgres_terms", "sqlite_terms"]

_INT64 = range(-(2**63), 2**63)


def _scalar_items(filter: Mapping[str, Any] | None) -> list[tuple[str, str | bool | int | float]]:
    """The ``(key, value)`` pairs of ``filter`` that SQL can pre-check."""
    items: list[tuple[str, str | bool | int | float]] = []
    for key, value in (filter or {}).items():
        kind = type(value)
        if type(key) is str and (
            kind is str or kind is bool or (kind is int and value in _INT64) or (kind is float and isfinite(value))
        ):
            items.append((key, value))
    return items


def _equal_json(value: str | bool | int | float) -> list[Any]:
    """The JSON scalars Python finds equal to ``value`` (up to numeric equality)."""
    if isinstance(value, str):
        return [value]
    if value == 1:
        return [1, True]
    if value == 0:
        return [0, False]
    return [value]


def postgres_terms(filter: Mapping[str, Any] | None, column: str) -> tuple[list[str], dict[str, Any]]:
    """WHERE terms and their named (``%(name)s``) parameters pre-checking ``filter`` on the
    ``json`` metadata ``column``."""
    terms: list[str] = []
    params: dict[str, Any] = {}
    for n, (key, value) in enumerate(_scalar_items(filter)):
        field = f"({column} -> %(meta_key{n})s::text)::jsonb"
        terms.append(
            f"(jsonb_typeof({field}) = 'object' OR %(meta_values{n})s::jsonb @> jsonb_build_array({field}))"
        )
        params[f"meta_key{n}"] = key
        params[f"meta_values{n}"] = orjson.dumps(_equal_json(value)).decode()
    return terms, params


def sqlite_terms(filter: Mapping[str, Any] | None, column: str) -> tuple[list[str], dict[str, Any]]:
    """WHERE terms and their named (``:name``) parameters pre-checking ``filter`` on the JSON
    text metadata ``column``. (``json_each`` gives ``true``/``false`` as 1/0 and compares
    numbers by value, as Python does.)"""
    terms: list[str] = []
    params: dict[str, Any] = {}
    for n, (key, value) in enumerate(_scalar_items(filter)):
        terms.append(
            f"EXISTS (SELECT 1 FROM json_each({column}) AS m"
            f" WHERE m.key = :meta_key{n} AND (m.type = 'object' OR m.value = :meta_value{n}))"
        )
        params[f"meta_key{n}"] = key
        params[f"meta_value{n}"] = value
    return terms, params
