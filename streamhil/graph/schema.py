"""Reads a state schema (TypedDict, dataclass or pydantic model) and its ``Annotated`` reducers into channel specs
(``ChannelSpec`` and ``StateSchema`` are the executor's, in ``streamhil.executor.spec``)."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any, Annotated, get_args, get_origin, get_type_hints

from ..errors import InvalidSchemaError
from ..executor.spec import MISSING, ChannelSpec, StateSchema
from ..executor.model_messages import langchain_messages_for, message_fields
from ..executor.state_objects import is_pydantic_model
from ..managed import is_managed_value

__all__ = ["ChannelSpec", "StateSchema", "read_schema"]

_MISSING = MISSING  # a channel without a default


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


def _manager_of(annotation: Any) -> Callable[[int], Any] | None:
    """The getter of a ``RemainingSteps`` / ``IsLastStep`` annotation (streamhil.managed)."""
    if get_origin(annotation) is not Annotated:
        return None
    for meta in get_args(annotation)[1:]:
        if is_managed_value(meta):
            getter: Callable[[int], Any] = meta.get
            return getter
    return None


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
    """Turn a TypedDict, dataclass or pydantic model into channel specs; raise
    InvalidSchemaError otherwise."""
    if isinstance(cls, StateSchema):
        return cls
    is_dc = dataclasses.is_dataclass(cls) and isinstance(cls, type)
    is_model = is_pydantic_model(cls)
    if not is_dc and not is_model and not (isinstance(cls, type) and hasattr(cls, "__annotations__")):
        raise InvalidSchemaError(
            f"A state schema must be a TypedDict, a dataclass or a pydantic model; got {cls!r}."
        )
    try:
        hints = get_type_hints(cls, include_extras=True)
    except Exception as exc:  # unresolvable forward references
        raise InvalidSchemaError(f"Cannot read the annotations of {cls!r}: {exc}") from exc
    if is_model:  # its fields only, not BaseModel's own class variables
        hints = {key: hints.get(key, field.annotation) for key, field in cls.model_fields.items()}
    dc_defaults: dict[str, Any] = {}
    if is_dc:
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                dc_defaults[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                dc_defaults[f.name] = f.default_factory
    channels: dict[str, ChannelSpec] = {}
    managed: dict[str, Callable[[int], Any]] = {}
    for key, annotation in hints.items():
        if key.startswith("__"):
            raise InvalidSchemaError(f"State key {key!r} is reserved: names starting with '__' are the runtime's.")
        manager = _manager_of(annotation)
        if manager is not None:  # not a channel: computed for each task (streamhil.managed)
            managed[key] = manager
            continue
        reducer = _reducer_of(annotation, key)
        default: Any = _MISSING
        if reducer is not None:
            # A pydantic reducer key starts empty, as in LangGraph; its model default is not used.
            default = dc_defaults.get(key, _empty_of(annotation))
        channels[key] = ChannelSpec(key, reducer, default)
    if not channels:
        raise InvalidSchemaError(f"State schema {cls!r} declares no keys.")
    # pydantic validates a field of LangChain messages: nodes get them as LangChain objects
    message_keys = message_fields(hints) if is_model else ()
    prepare = langchain_messages_for(message_keys) if message_keys else None
    return StateSchema(cls, channels, is_dc, is_model, prepare, managed)
