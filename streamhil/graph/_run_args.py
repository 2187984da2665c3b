"""The run arguments every entry point shares: the run ``context`` (LangGraph's
``invoke(..., context=...)``, read by nodes as ``runtime.context``), and the error for a keyword
argument an entry point does not take, naming the method the caller called."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..executor.state_objects import is_pydantic_model

__all__ = ["coerce_context", "refuse_unknown_kwargs"]

_LANGGRAPH_ONLY = {
    "print_mode": "prints parts to the console",
    "output_keys": "picks the output's keys (use the graph's output_schema)",
    "checkpoint_during": "says whether to save checkpoints during the run (deprecated there: use durability='async' or 'exit')",
    "control": "takes a RunControl, for LangGraph Platform's run draining",
}
"""LangGraph run arguments streamhil does not take, and what they do there."""


def coerce_context(context_schema: Any, context: Any) -> Any:
    """The run's context as nodes see it, as LangGraph's: a dict given for a dataclass or
    pydantic ``context_schema`` becomes an instance of it; anything else is kept as it is."""
    if context is None or context_schema is None:
        return context
    schema_is_class = is_pydantic_model(context_schema) or (
        isinstance(context_schema, type) and dataclasses.is_dataclass(context_schema)
    )
    if isinstance(context, dict) and schema_is_class:
        return context_schema(**context)
    return context


def refuse_unknown_kwargs(method: str, kwargs: Mapping[str, Any], accepted: Iterable[str] = ()) -> None:
    """Raise ``TypeError`` for the first of ``kwargs`` not in ``accepted``, naming ``method``
    (``"CompiledStateGraph.invoke"``, as called) and, for a LangGraph argument streamhil does not
    have, what it does there. LangGraph ignores arguments it does not know; streamhil refuses
    them, so a typo or a missing feature is not silent."""
    allowed = set(accepted)
    for name in kwargs:
        if name in allowed:
            continue
        if name in _LANGGRAPH_ONLY:
            raise TypeError(
                f"{method}() got the keyword argument {name!r}, which streamhil does not support: in "
                f"LangGraph it {_LANGGRAPH_ONLY[name]}. See docs/langgraph-differences.md."
            )
        raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
