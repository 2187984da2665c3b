"""LangChain messages for pydantic state fields.

The state keeps messages as plain dicts (see :mod:`streamhil.messages`). A pydantic state whose
field is declared as LangChain messages (``Annotated[list[AnyMessage], add_messages]``) validates
only LangChain message objects, so the values given to the model (a node's or router's input, a
``version="v2"`` output) have their message dicts converted with langchain_core first, as
LangGraph's nodes receive them. langchain_core is never imported here: a field can only name its
classes once the program has imported it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard, get_args

__all__ = ["message_fields", "langchain_messages_for", "with_langchain_messages"]

_MAX_DEPTH = 8  # deep enough for Annotated[list[Annotated[Union[...], ...]], ...]
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def message_fields(hints: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys whose annotation holds a LangChain message class (``BaseMessage`` or a subclass,
    anywhere inside ``list[...]``, ``Union``, ``Annotated``...)."""
    messages = sys.modules.get("langchain_core.messages")
    base = getattr(messages, "BaseMessage", None)
    if base is None:
        return ()
    return tuple(key for key, annotation in hints.items() if _names_class(annotation, base, 0))


def _names_class(annotation: Any, base: type, depth: int) -> bool:
    if isinstance(annotation, type) and not get_args(annotation):
        try:
            return issubclass(annotation, base)
        except TypeError:
            return False
    if depth >= _MAX_DEPTH:
        return False
    return any(_names_class(arg, base, depth + 1) for arg in get_args(annotation))


def langchain_messages_for(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``StateSchema.prepare`` converting the message dicts under ``keys``."""
    return functools.partial(with_langchain_messages, keys=keys)


def with_langchain_messages(values: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``values`` with the message dicts under ``keys`` (a list of them, or one) as LangChain
    messages; everything else, LangChain messages included, is left as it is."""
    from .langchain_messages import langchain_message  # langchain_core is loaded: a field names it

    out = dict(values)
    for key in keys:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [langchain_message(m) if _is_message_dict(m) else m for m in value]
        elif _is_message_dict(value):
            out[key] = langchain_message(value)
    return out


def _is_message_dict(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping) and value.get("role") in _ROLES
