"""RFC 6902 JSON Patch between two JSON documents: :func:`diff` makes one, :func:`apply` applies one.

The diff is small rather than minimal: objects are compared key by key, a list that only grew
gets ``add`` operations for its new items, and anything else that changed is replaced whole.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["diff", "apply", "PatchError"]


class PatchError(ValueError):
    """A patch that does not fit the document it is applied to."""


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _same(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1, and an int equals the float with the same value
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """The operations that turn ``old`` into ``new`` (both JSON data)."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": f"{path}/{_escape(str(key))}"})
        for key, value in new.items():
            where = f"{path}/{_escape(str(key))}"
            if key not in old:
                ops.append({"op": "add", "path": where, "value": value})
            elif not _same(old[key], value):
                ops.extend(diff(old[key], value, where))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(new) >= len(old):
        if all(_same(a, b) for a, b in zip(old, new)):
            return [{"op": "add", "path": f"{path}/{i}", "value": new[i]} for i in range(len(old), len(new))]
    if _same(old, new):
        return []
    return [{"op": "replace", "path": path, "value": new}]


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"a JSON pointer starts with '/', got {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if token == "-" and adding:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"{token!r} is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not adding):
        raise PatchError(f"array index {index} is out of range")
    return index


def apply(document: Any, patch: list[dict[str, Any]]) -> Any:
    """``document`` with ``patch`` applied (``add``, ``remove`` and ``replace``); the input is not changed."""
    doc = copy.deepcopy(document)
    for op in patch:
        kind, tokens, value = op.get("op"), _tokens(op.get("path", "")), copy.deepcopy(op.get("value"))
        if kind not in ("add", "remove", "replace"):
            raise PatchError(f"unsupported operation {kind!r}")
        if not tokens:
            if kind == "remove":
                raise PatchError("cannot remove the whole document")
            doc = value
            continue
        parent = doc
        for token in tokens[:-1]:
            if isinstance(parent, dict) and token in parent:
                parent = parent[token]
            elif isinstance(parent, list):
                parent = parent[_index(parent, token, adding=False)]
            else:
                raise PatchError(f"path {op['path']!r} does not exist")
        last = tokens[-1]
        if isinstance(parent, dict):
            if kind != "add" and last not in parent:
                raise PatchError(f"path {op['path']!r} does not exist")
            if kind == "remove":
                del parent[last]
            else:
                parent[last] = value
        elif isinstance(parent, list):
            index = _index(parent, last, adding=kind == "add")
            if kind == "add":
                parent.insert(index, value)
            elif kind == "remove":
                del parent[index]
            else:
                parent[index] = value
        else:
            raise PatchError(f"path {op['path']!r} does not exist")
    return doc
