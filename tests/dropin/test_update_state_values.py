"""``update_state`` with values that are no update (a string, a number, a list), side by side with
LangGraph 1.2.22: both raise ``InvalidUpdateError`` ("Expected dict, got x") and change nothing.
streamhil's message names the caller's ``values`` (it used to say "Node 'work' returned 'x'", a
node the caller never named; found by a tester)."""

from __future__ import annotations

import importlib
from typing import Any, TypedDict

import pytest

LIBRARIES = ["streamhil", pytest.param("langgraph", marks=pytest.mark.skipif(
    importlib.util.find_spec("langgraph") is None, reason="langgraph is not installed"))]


class S(TypedDict, total=False):
    n: int


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("values", "as_node"), [("x", None), (5, None), ([1, 2], None), ("x", "work")])
def test_values_that_are_no_update_are_refused(library: str, values: Any, as_node: str | None) -> None:
    graph_mod = lib(library, "graph")
    b = graph_mod.StateGraph(S)
    b.add_node("work", lambda state: {"n": state.get("n", 0) + 1})
    b.add_edge(graph_mod.START, "work")
    graph = b.compile(checkpointer=lib(library, "checkpoint.memory").InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"n": 1}, config)
    before = graph.get_state(config)
    with pytest.raises(lib(library, "errors").InvalidUpdateError, match="(?i)expected dict") as refused:
        graph.update_state(config, values, as_node=as_node)
    assert graph.get_state(config).config == before.config  # nothing saved
    if library == "streamhil":
        message = str(refused.value)
        assert message.startswith(f"update_state: expected dict as values, got {type(values).__name__} {values!r}")
        assert "Node" not in message and "returned" not in message
