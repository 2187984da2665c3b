"""Where routing can lead, read from what the user declared: a branch's path map, or the
``-> Literal[...]`` / ``-> Command[Literal[...]]`` return annotation of a router or node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin, get_type_hints

from ..executor.spec import Branch
from ..types import Command

__all__ = ["branch_targets", "return_literal"]


def branch_targets(branch: Branch) -> list[str] | None:
    """The nodes a branch can reach, when its path map or its router's annotation says."""
    if branch.path_map is not None:
        return list(branch.path_map.values())
    return return_literal(branch.router)


def return_literal(fn: Callable[..., Any]) -> list[str] | None:
    """Names in a ``-> Literal[...]`` or ``-> Command[Literal[...]]`` return annotation."""
    try:
        hints = get_type_hints(fn)
    except Exception:
        return None
    ret = hints.get("return")
    if ret is None:
        return None
    if get_origin(ret) is Command or (isinstance(ret, type) and issubclass(ret, Command)):
        args = get_args(ret)
        if not args:
            return None
        ret = args[0]
    if get_origin(ret) is Literal:
        return [a for a in get_args(ret) if isinstance(a, str)]
    return None
