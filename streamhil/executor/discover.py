"""Which compiled graph a node function calls: the subgraph LangGraph sees in a node that runs
``sub.invoke(...)`` itself, for ``get_state``'s ``task.state`` and ``get_subgraphs()``.

LangGraph finds it by reading the function's source for the globals and closure variables it
uses; this reads the same names from the function's bytecode (no source needed). The first
compiled graph named there whose checkpoints are not turned off (``checkpointer=False``) counts.
"""

from __future__ import annotations

import dis
import functools
import inspect
import weakref
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType
from typing import Any

from .spec import GraphSpec, NodeSpec

__all__ = ["called_graph", "child_graph"]

_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF"})
_MISSING = object()
_cache: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def child_graph(node: NodeSpec | None) -> GraphSpec | None:
    """The subgraph whose checkpoints live under ``node``'s tasks, as LangGraph sees it: one
    added as the node, or one the node's function calls; None when its checkpoints are off."""
    if node is None:
        return None
    if node.subgraph is not None:
        return node.subgraph if node.subgraph.checkpointer is not False else None
    called = called_graph(node.fn)
    return called.spec if called is not None else None


def called_graph(fn: Callable[..., Any]) -> Any | None:
    """The compiled graph (an object with a ``GraphSpec`` as ``.spec``) that ``fn`` names as a
    global or closure variable, or None (``self.sub`` is not looked at, as in LangGraph).
    Cached per function."""
    try:
        found = _cache.get(fn, _MISSING)
    except TypeError:  # not weak-referenceable: look every time
        return _find(fn)
    if found is _MISSING:
        found = _find(fn)
        _cache[fn] = found
    return found


def _is_graph(value: Any) -> bool:
    spec = getattr(value, "spec", None)
    return isinstance(spec, GraphSpec) and spec.checkpointer is not False


def _find(fn: Callable[..., Any]) -> Any | None:
    while True:
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif inspect.ismethod(fn):
            fn = fn.__func__
        elif hasattr(fn, "__wrapped__") and callable(fn.__wrapped__):
            fn = fn.__wrapped__
        else:
            break
    if not isinstance(fn, FunctionType):
        return None
    closure = dict(zip(fn.__code__.co_freevars, map(_contents, fn.__closure__ or ()), strict=False))
    for name in _names(fn.__code__):
        value = closure[name] if name in closure else fn.__globals__.get(name)
        if value is not None and _is_graph(value):
            return value
    return None


def _contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a closure variable not assigned yet
        return None


def _names(code: CodeType) -> Iterator[str]:
    """The globals and closure variables ``code`` loads, and those of the functions, lambdas and
    comprehensions defined in it."""
    for instruction in dis.get_instructions(code):
        if instruction.opname in _LOADS:
            yield str(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names(const)
