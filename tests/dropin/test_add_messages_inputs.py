"""The message shapes ``add_messages`` accepts, side by side with LangGraph 1.2.22 (langchain_core's
``convert_to_messages``): a ``[role, content]`` list is read as a ``(role, content)`` tuple (it is
what a JSON client sends for one), a list of another length or whose role is not a known role
string is refused, and a bare ``["user", "hi"]`` is two user messages."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install 'streamhil[langchain]')")
pytest.importorskip("langgraph", reason="the side-by-side tests need langgraph")

LIBRARIES = ["langgraph", "streamhil"]


def role_and_content(message: Any) -> tuple[str, Any]:
    """A message of either library as ``(role, content)``, LangChain's types named as streamhil's roles."""
    if isinstance(message, dict):
        return message["role"], message["content"]
    return {"human": "user", "ai": "assistant"}.get(message.type, message.type), message.content


def merged(name: str, right: Any) -> list[tuple[str, Any]]:
    add_messages = importlib.import_module(f"{name}.graph").add_messages
    return [role_and_content(m) for m in add_messages([], right)]


@pytest.mark.parametrize(
    "right",
    [
        [["user", "hi"]],
        [["ai", "hello"], ["system", "be brief"]],
        [["human", ["a part"]], ("assistant", "a tuple still works")],
        ["user", "hi"],
    ],
)
def test_a_role_content_list_is_read_as_a_tuple(right: Any) -> None:
    seen = {name: merged(name, right) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]


@pytest.mark.parametrize("bad", [[], ["user"], ["user", "hi", "extra"], [1, "hi"], [None, "hi"], ["wizard", "hi"]])
def test_a_list_that_is_not_role_and_content_is_refused(bad: list[Any]) -> None:
    # LangGraph raises NotImplementedError for a wrong length and ValueError for a bad role;
    # streamhil raises ValueError for both, as it does for such a tuple.
    with pytest.raises((ValueError, NotImplementedError)):
        merged("langgraph", [bad])
    with pytest.raises(ValueError):
        merged("streamhil", [bad])


def test_a_messages_graph_takes_role_content_lists_as_input() -> None:
    results = {}
    for name in LIBRARIES:
        graph = importlib.import_module(f"{name}.graph")

        def echo(state: Any) -> dict[str, Any]:
            return {"messages": [("ai", f"echo {role_and_content(state['messages'][-1])[1]}")]}

        builder = graph.StateGraph(graph.MessagesState)
        builder.add_node("echo", echo)
        builder.add_edge(graph.START, "echo")
        out = builder.compile().invoke({"messages": [["user", "hi"]]})
        results[name] = [role_and_content(m) for m in out["messages"]]
    assert results["streamhil"] == results["langgraph"] == [("user", "hi"), ("assistant", "echo hi")]
