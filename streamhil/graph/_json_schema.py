"""A compiled graph's input and output schemas as pydantic models and JSON schemas, built the way
LangGraph builds them (``get_input_jsonschema``, ``input_schema``...). pydantic is optional: only
these calls need it, and they raise ImportError naming it when it is missing."""

from __future__ import annotations

import dataclasses
from inspect import isclass
from typing import Any, get_type_hints

try:
    import pydantic
except ImportError:  # the core works without it; only the schema calls need it
    pydantic = None  # type: ignore[assignment]

__all__ = ["context_json_schema", "json_schema", "optional_fields_model", "root_model", "runnable_name"]


def _pydantic() -> Any:
    if pydantic is None:
        raise ImportError("A graph's input and output schemas are built with pydantic: pip install pydantic")
    return pydantic


def runnable_name(name: str, suffix: str) -> str:
    """LangChain's ``Runnable.get_name(suffix)``: ``LangGraphInput``, or ``my_graph_input``."""
    return name + suffix.title() if name[:1].isupper() else f"{name}_{suffix.lower()}"


def _is_model(cls: Any) -> bool:
    return isclass(cls) and issubclass(cls, _pydantic().BaseModel)


def _is_typeddict(cls: Any) -> bool:
    """A ``typing`` or ``typing_extensions`` TypedDict class."""
    return isclass(cls) and issubclass(cls, dict) and hasattr(cls, "__required_keys__")


def _types(cls: Any) -> dict[str, Any]:
    """The keys' types, reducers and other ``Annotated`` metadata left out."""
    try:
        return get_type_hints(cls)
    except Exception:  # forward references that do not resolve: leave those keys untyped
        return dict.fromkeys(getattr(cls, "__annotations__", {}), Any)


def _default(cls: Any, key: str) -> Any:
    """A dataclass field's default (its factory's value), else ``...`` (required)."""
    if dataclasses.is_dataclass(cls):
        for field in dataclasses.fields(cls):
            if field.name == key:
                if field.default is not dataclasses.MISSING:
                    return field.default
                if field.default_factory is not dataclasses.MISSING:
                    return field.default_factory()
    return ...


def json_schema(cls: Any, keys: tuple[str, ...], name: str) -> dict[str, Any]:
    """The JSON schema of ``cls``: a pydantic model's or a TypedDict's own; for another class
    (a dataclass), a model named ``name`` of its ``keys``."""
    pd = _pydantic()
    if _is_model(cls):
        return cls.model_json_schema()
    if _is_typeddict(cls):
        return pd.TypeAdapter(cls).json_schema()
    types = _types(cls)
    fields = {key: (types.get(key, Any), _default(cls, key)) for key in keys}
    return pd.create_model(name, **fields).model_json_schema()


def root_model(cls: Any, name: str) -> Any:
    """``cls`` if it is a pydantic model, else a root model named ``name`` wrapping it."""
    pd = _pydantic()
    if _is_model(cls):
        return cls
    return type(name, (pd.RootModel[cls],), {"__module__": __name__})


def optional_fields_model(cls: Any, keys: tuple[str, ...], name: str) -> Any:
    """A model named ``name`` of ``keys`` with their types, each optional (default None)."""
    types = _types(cls)
    return _pydantic().create_model(name, **{key: (types.get(key, Any), None) for key in keys})


def context_json_schema(cls: Any) -> dict[str, Any]:
    """The JSON schema of a ``context_schema``: a pydantic model, TypedDict or dataclass."""
    pd = _pydantic()
    if _is_model(cls):
        return cls.model_json_schema()
    if _is_typeddict(cls) or dataclasses.is_dataclass(cls):
        return pd.TypeAdapter(cls).json_schema()
    raise ValueError(f"Invalid context schema type: {cls!r}. Must be a BaseModel, TypedDict or dataclass.")
