"""State given as an object rather than a dict: a dataclass instance or a pydantic model.

pydantic is optional and never imported here: a class can only be a pydantic model once the
user's program has imported pydantic, so ``sys.modules`` is asked instead.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

__all__ = ["is_pydantic_model", "is_state_object", "object_updates"]


def is_pydantic_model(cls: Any) -> bool:
    """Whether ``cls`` is a pydantic (v2) ``BaseModel`` subclass."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)


def is_state_object(value: Any) -> bool:
    """Whether ``value`` is a dataclass instance or a pydantic model instance."""
    if isinstance(value, type):
        return False
    return dataclasses.is_dataclass(value) or is_pydantic_model(type(value))


def object_updates(value: Any) -> dict[str, Any]:
    """The state updates a dataclass or pydantic instance stands for.

    A dataclass gives all its fields. A pydantic model gives its fields too, except one that is
    ``None``, has ``None`` as its default and was not set explicitly (LangGraph's rule, so that
    returning ``Model(x=1)`` does not blank out the other optional keys).
    """
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    fields = type(value).model_fields
    explicit = value.model_fields_set
    return {
        key: getattr(value, key)
        for key, field in fields.items()
        if getattr(value, key) is not None or field.default is not None or key in explicit
    }
