"""The public surface: ``streamhil.__all__`` is complete, unique and re-exports real names."""

from __future__ import annotations

import importlib
import inspect

import pytest

import streamhil

REQUIRED = {
    "StateGraph",
    "START",
    "END",
    "interrupt",
    "Command",
    "Send",
    "Interrupt",
    "StateSnapshot",
    "InMemorySaver",
    "MemorySaver",
    "get_stream_writer",
    "MessagesState",
    "add_messages",
    "GraphRecursionError",
    "InvalidUpdateError",
}


def test_all_has_the_required_names() -> None:
    assert REQUIRED <= set(streamhil.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(streamhil.__all__) == len(set(streamhil.__all__))


@pytest.mark.parametrize("name", sorted(streamhil.__all__))
def test_each_name_comes_from_a_public_submodule(name: str) -> None:
    """Every exported name exists and is the same object its defining submodule exports
    in that submodule's own ``__all__``."""
    obj = getattr(streamhil, name)
    owner = inspect.getmodule(obj)
    if owner is None or not owner.__name__.startswith("streamhil."):  # constants: find the module
        for candidate in ("constants", "types", "errors"):
            module = importlib.import_module(f"streamhil.{candidate}")
            if getattr(module, name, None) is obj:
                owner = module
                break
    assert owner is not None and owner.__name__.startswith("streamhil."), name
    assert name in getattr(owner, "__all__", ()), f"{owner.__name__}.__all__ lacks {name}"
    assert getattr(owner, name) is obj


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from streamhil import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(streamhil.__all__)


def test_langgraph_spellings() -> None:
    """The names a LangGraph user reaches for mean the same things."""
    assert streamhil.START == "__start__" and streamhil.END == "__end__"
    assert streamhil.MemorySaver is streamhil.InMemorySaver
    assert issubclass(streamhil.GraphRecursionError, RecursionError)
    assert issubclass(streamhil.InvalidUpdateError, ValueError)
    assert streamhil.Command.PARENT == "__parent__"
    assert list(streamhil.MessagesState.__annotations__) == ["messages"]


def test_errors_module_lists_the_whole_tree() -> None:
    from streamhil import errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if name == "is_invalid_resume":  # LangGraph's errors module exports this test too
            assert callable(obj)
            continue
        assert isinstance(obj, type) and issubclass(obj, BaseException), name
    for name in ("SyncCallError", "NodeTimeoutError", "ConfigError", "NothingPendingError", "AmbiguousResumeError"):
        assert name in errors.__all__
    assert not issubclass(errors.GraphInterrupt, Exception)
