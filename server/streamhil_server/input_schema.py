"""A graph's input schema as ``list_graphs`` shows it: one ``{name, type, required}`` per key.

The types are JSON's (``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object``,
``any``), read from the annotations of the graph's input schema (a TypedDict or a dataclass), so a
UI can build a small form. ``Literal[...]`` of strings adds ``choices``; ``Optional[T]`` is ``T``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin, get_type_hints

from streamhil.graph.compiled import CompiledStateGraph
from streamhil.protocol import InputField

__all__ = ["input_fields", "json_type"]

_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
_NOT_REQUIRED = (typing.NotRequired,)
_REQUIRED = (typing.Required,)


def json_type(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    """The JSON type name of an annotation, and its choices (for a ``Literal``)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated or origin in _NOT_REQUIRED or origin in _REQUIRED:
        return json_type(get_args(annotation)[0])
    if origin is Literal:
        choices = get_args(annotation)
        kinds = {json_type(type(c))[0] for c in choices}
        return (kinds.pop() if len(kinds) == 1 else "any"), tuple(choices)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return json_type(inner[0]) if len(inner) == 1 else ("any", ())
    if annotation in _SCALARS:
        return _SCALARS[annotation], ()
    target = origin or annotation
    if isinstance(target, type):
        if issubclass(target, (str, bytes)):
            return "string", ()
        if issubclass(target, Mapping) or typing.is_typeddict(target) or dataclasses.is_dataclass(target):
            return "object", ()
        if issubclass(target, Sequence) or issubclass(target, (set, frozenset)):
            return "array", ()
    return "any", ()


def _required_keys(cls: Any, keys: Sequence[str], hints: Mapping[str, Any]) -> frozenset[str]:
    if typing.is_typeddict(cls):
        # Required[...] / NotRequired[...] read from the resolved hints: with string annotations
        # (``from __future__ import annotations``) TypedDict's own __required_keys__ misses them
        declared = set(getattr(cls, "__required_keys__", ()))
        for key, hint in hints.items():
            if get_origin(hint) in _REQUIRED:
                declared.add(key)
            elif get_origin(hint) in _NOT_REQUIRED:
                declared.discard(key)
        return frozenset(declared)
    if dataclasses.is_dataclass(cls):
        return frozenset(
            f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
    return frozenset(keys)


def input_fields(graph: CompiledStateGraph) -> tuple[InputField, ...]:
    """The fields a run's ``input`` may set, in declaration order (none for an ``@entrypoint``,
    whose input is any value)."""
    if graph.spec.entry is not None:
        return ()
    schema = graph.builder.input_schema
    cls = schema.cls
    try:
        hints = get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable annotations: the names are still known
        hints = {}
    required = _required_keys(cls, graph.input_keys, hints)
    out = []
    for key in graph.input_keys:
        kind, choices = json_type(hints.get(key, Any))
        out.append(InputField(name=key, type=kind, required=key in required, choices=choices))
    return tuple(out)
