"""What :mod:`.serde` needs to know about pydantic models (v2, and v1 as ``pydantic.v1`` or
pydantic 1.x): which classes are models, their fields, and how to rebuild one.

pydantic is optional and never imported here: a class can only be a pydantic model once the
program has imported pydantic, so ``sys.modules`` is asked instead. A model is stored as its
fields (each through serde's own walk, so nested models, tuples and datetimes keep their types),
any extra values, and which fields were set explicitly; it is rebuilt with the model's
validation-free constructor (``model_construct``, v1's ``construct``), as LangGraph's
serialiser falls back to, so loading never re-runs validators and a stored value always loads.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["V1", "V2", "model_kind", "is_model", "extra_values", "fields_set", "construct"]

V2 = "pydantic"
"""serde's tag of a pydantic v2 model."""
V1 = "pydantic_v1"
"""serde's tag of a pydantic v1 model."""

ModelKind = tuple[str, tuple[str, ...]]
"""A model class's tag and its field names, in declaration order."""

_kinds: dict[type, ModelKind | None] = {}


def model_kind(cls: type) -> ModelKind | None:
    """``(tag, field names)`` if ``cls`` is a pydantic model class, else None (cached per class:
    a class that is not a model while pydantic is unloaded can never become one)."""
    try:
        return _kinds[cls]
    except KeyError:
        pass
    kind = _read_kind(cls)
    _kinds[cls] = kind
    return kind


def is_model(cls: type, tag: str) -> bool:
    """Whether ``cls`` is a pydantic model stored under ``tag``."""
    kind = model_kind(cls)
    return kind is not None and kind[0] == tag


def _read_kind(cls: type) -> ModelKind | None:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return None
    base = getattr(pydantic, "BaseModel", None)
    if isinstance(base, type) and issubclass(cls, base):
        if hasattr(base, "model_construct"):
            return V2, tuple(cls.model_fields)  # type: ignore[attr-defined]
        return V1, tuple(cls.__fields__)  # type: ignore[attr-defined]  # pydantic 1.x
    v1 = sys.modules.get("pydantic.v1")
    if v1 is not None and issubclass(cls, v1.BaseModel):
        return V1, tuple(cls.__fields__)  # type: ignore[attr-defined]
    return None


def extra_values(model: Any, tag: str) -> dict[str, Any] | None:
    """The values a model holds beyond its fields (``extra="allow"``), or None."""
    if tag == V2:
        return model.__pydantic_extra__
    fields = type(model).__fields__
    extra = {key: value for key, value in model.__dict__.items() if key not in fields}
    return extra or None


def fields_set(model: Any, tag: str) -> list[str]:
    """The names set explicitly when the model was made, sorted (LangGraph reads them when a
    model is a node's update)."""
    names = model.__pydantic_fields_set__ if tag == V2 else model.__fields_set__
    return sorted(names)


def construct(cls: Any, tag: str, values: dict[str, Any], set_names: list[str] | None) -> Any:
    """An instance of the model ``cls`` holding ``values``, without validation."""
    explicit = set(set_names) if set_names is not None else None
    if tag == V2:
        return cls.model_construct(_fields_set=explicit, **values)
    return cls.construct(_fields_set=explicit, **values)
