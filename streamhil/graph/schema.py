"""Reads a state schema (TypedDict or dataclass) and its ``Annotated`` reducers into channel specs."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Annotated, get_args, get_origin, get_type_hints

from ..errors import InvalidSchemaError
from ..types import Overwrite

__all__ = ["ChannelSpec", "StateSchema", "read_schema"]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One state key: a plain value (at most one write per step) or a reducer that folds writes."""

    key: str
    reducer: Callable[[Any, Any], Any] | None = None
    default: Any = _MISSING  # the initial value, when the key has one

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True, slots=True)
class StateSchema:
    """The channels of a schema, plus how to build a node's input from the values."""

    cls: Any
    channels: dict[str, ChannelSpec]
    is_dataclass: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.channels)

    def initial_values(self) -> dict[str, Any]:
        """Values a fresh thread starts with: reducer keys whose type can be built empty."""
        out = {}
        for key, spec in self.channels.items():
            if spec.has_default:
                default = spec.default
                out[key] = default() if callable(default) else default
        return out

    def node_input(self, values: dict[str, Any]) -> Any:
        if self.is_dataclass:
            return self.cls(**{k: v for k, v in values.items() if k in self.channels})
        return {k: v for k, v in values.items() if k in self.channels}


def _reducer_of(annotation: Any, key: str) -> Callable[[Any, Any], Any] | None:
    if get_origin(annotation) is not Annotated:
        return None
    for meta in reversed(get_args(annotation)[1:]):
        if callable(meta) and not isinstance(meta, type):
            _check_reducer(meta, key)
            return meta
    return None


def _check_reducer(reducer: Callable[..., Any], key: str) -> None:
    try:
        params = list(inspect.signature(reducer).parameters.values())
    except (TypeError, ValueError):  # builtins without signatures (operator.add) are fine
        return
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in positional):
        return
    required = [p for p in positional if p.default is p.empty]
    if len(positional) < 2 or len(required) > 2:
        raise InvalidSchemaError(
            f"The reducer of key {key!r} must take exactly two positional arguments "
            f"(current, update); {getattr(reducer, '__name__', reducer)!r} takes {len(positional)}."
        )


def _empty_of(annotation: Any) -> Any:
    base = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    origin = get_origin(base) or base
    if origin in (list, dict, set, tuple, int, float, str, typing.Sequence, typing.MutableSequence):
        target = {typing.Sequence: list, typing.MutableSequence: list}.get(origin, origin)
        return target
    if isinstance(origin, type):
        try:
            origin()
        except Exception:
            return _MISSING
        return origin
    return _MISSING


def read_schema(cls: Any) -> StateSchema:
    """Turn a TypedDict or dataclass into channel specs; raise InvalidSchemaError otherwise."""
    if isinstance(cls, StateSchema):
        return cls
    is_dc = dataclasses.is_dataclass(cls) and isinstance(cls, type)
    if not is_dc and not (isinstance(cls, type) and hasattr(cls, "__annotations__")):
        raise InvalidSchemaError(
            f"A state schema must be a TypedDict or a dataclass; got {cls!r}."
        )
    try:
        hints = get_type_hints(cls, include_extras=True)
    except Exception as exc:  # unresolvable forward references
        raise InvalidSchemaError(f"Cannot read the annotations of {cls!r}: {exc}") from exc
    channels: dict[str, ChannelSpec] = {}
    dc_defaults: dict[str, Any] = {}
    if is_dc:
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                dc_defaults[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                dc_defaults[f.name] = f.default_factory
    for key, annotation in hints.items():
        if key.startswith("__"):
            raise InvalidSchemaError(f"State key {key!r} is reserved: names starting with '__' are the runtime's.")
        reducer = _reducer_of(annotation, key)
        default: Any = _MISSING
        if reducer is not None:
            default = dc_defaults.get(key, _empty_of(annotation))
        channels[key] = ChannelSpec(key, reducer, default)
    if not channels:
        raise InvalidSchemaError(f"State schema {cls!r} declares no keys.")
    return StateSchema(cls, channels, is_dc)


def reduce_value(spec: ChannelSpec, current: Any, update: Any, has_current: bool) -> Any:
    """Apply one write to a reducer channel."""
    if isinstance(update, Overwrite):
        return update.value
    if not has_current:
        if spec.has_default:
            current = spec.default() if callable(spec.default) else spec.default
        else:
            return update
    assert spec.reducer is not None
    return spec.reducer(current, update)
