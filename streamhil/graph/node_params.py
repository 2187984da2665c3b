"""How a node is called: the keyword parameters the runtime fills in (LangGraph's rules, read from
the node's signature), and LangChain Runnables as nodes.

LangGraph injects, by parameter name (positional-or-keyword or keyword-only):

- ``config``: the run's config (streamhil passes it whatever the annotation);
- ``writer`` annotated ``StreamWriter`` (or not annotated): the ``custom`` stream writer;
- ``store`` annotated ``BaseStore`` or ``BaseStore | None`` (or not annotated): the object given
  to ``compile(store=...)``, or None;
- ``runtime`` and ``previous``, whatever their annotation: the ``Runtime``, and None.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_args

from ..types import StreamWriter

__all__ = ["injected_parameters", "is_runnable", "runnable_node"]

_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_EMPTY = inspect.Parameter.empty


def _names(annotation: Any) -> set[str]:
    """The type names an annotation mentions (``"BaseStore | None"`` → {BaseStore, None})."""
    if isinstance(annotation, str):
        text = annotation.strip("'\" ")
        optional = text.startswith("Optional[")
        text = text.removeprefix("Optional[").removesuffix("]") if optional else text
        return {part.strip() for part in text.split("|")} | ({"None"} if optional else set())
    args = get_args(annotation)
    if args:
        return {n for a in args for n in _names(a)}
    return {"None" if annotation is type(None) else getattr(annotation, "__name__", repr(annotation))}


def _is_store(annotation: Any) -> bool:
    return annotation is _EMPTY or _names(annotation) in ({"BaseStore"}, {"BaseStore", "None"})


def _is_writer(annotation: Any) -> bool:
    return annotation is _EMPTY or annotation == StreamWriter or annotation == "StreamWriter"


def injected_parameters(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of ``fn`` the runtime fills in."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    out: list[str] = []
    for name, param in params.items():
        if param.kind not in _KINDS:
            continue
        if name in ("config", "runtime", "previous"):
            out.append(name)
        elif name == "writer" and _is_writer(param.annotation):
            out.append(name)
        elif name == "store" and _is_store(param.annotation):
            out.append(name)
    return tuple(out)


def is_runnable(value: Any) -> bool:
    """Whether ``value`` is a LangChain Runnable (found by its classes, without importing
    langchain-core), or another non-callable object with an ``invoke`` method."""
    for cls in type(value).__mro__:
        if cls.__name__ == "Runnable" and cls.__module__.startswith("langchain_core.runnables"):
            return True
    return not callable(value) and callable(getattr(value, "invoke", None))


def runnable_node(runnable: Any) -> Callable[..., Any]:
    """A sync node calling ``runnable.invoke(state, config)``, as LangGraph calls a Runnable node
    (it runs in a worker thread, so ``interrupt()`` and ``get_config()`` work inside it)."""

    def call(state: Any, *, config: dict[str, Any]) -> Any:
        return runnable.invoke(state, config)

    call.__name__ = runnable_name(runnable) or "runnable"
    return call


def runnable_name(runnable: Any) -> str | None:
    """A Runnable's own name (``get_name()``), as LangGraph names a node added without one."""
    get_name = getattr(runnable, "get_name", None)
    name = get_name() if callable(get_name) else getattr(runnable, "name", None)
    return name if isinstance(name, str) else None
