"""Assistant messages always carry ``tool_calls`` (``[]`` when there are none), as LangChain's
``AIMessage.tool_calls`` is ``[]``: the ported routing idiom ``state["messages"][-1]["tool_calls"]``
(LangGraph: ``.tool_calls``) routes a final answer to the end instead of raising ``KeyError``.
Side by side with LangGraph 1.2.22 (found by a tester porting the review-tool-calls tutorial)."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest

from streamhil.messages import add_messages, coerce_message

lc = pytest.importorskip("langchain_core.messages")
HAS_LANGGRAPH = importlib.util.find_spec("langgraph") is not None


def calls_of(message: Any) -> list[Any]:
    """What the ported idiom reads: ``.tool_calls`` on LangGraph's objects, ``["tool_calls"]`` on streamhil's dicts."""
    return message["tool_calls"] if isinstance(message, dict) else message.tool_calls


def run(lib: str) -> list[Any]:
    graph = importlib.import_module(f"{lib}.graph")
    message = importlib.import_module(f"{lib}.graph.message")
    memory = importlib.import_module(f"{lib}.checkpoint.memory")
    replies = iter([
        lc.AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "c1"}], id="a1"),
        lc.AIMessage("final answer", id="a2"),
    ])
    route_log: list[Any] = []

    def llm(state: Any) -> Any:
        return {"messages": [next(replies)]}

    def tools(state: Any) -> Any:
        return {"messages": [lc.ToolMessage("found", tool_call_id="c1", id="t1")]}

    def route(state: Any) -> str:
        last = state["messages"][-1]
        route_log.append(len(calls_of(last)))
        return graph.END if len(calls_of(last)) == 0 else "tools"

    builder = graph.StateGraph(message.MessagesState)
    builder.add_node("llm", llm)
    builder.add_node("tools", tools)
    builder.add_edge(graph.START, "llm")
    builder.add_conditional_edges("llm", route)
    builder.add_edge("tools", "llm")
    app = builder.compile(checkpointer=memory.InMemorySaver())  # through a checkpoint too
    out = app.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": uuid.uuid4().hex}})
    return route_log + [[len(calls_of(m)) for m in out["messages"] if not isinstance(m, (lc.HumanMessage, lc.ToolMessage)) and (isinstance(m, lc.AIMessage) or m["role"] == "assistant")]]


def test_the_routing_idiom_works_on_a_final_answer() -> None:
    got = run("streamhil")
    assert got == [1, 0, [1, 0]]
    if HAS_LANGGRAPH:
        assert got == run("langgraph")


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": "x"},
        {"role": "ai", "content": "x", "tool_calls": None},
        {"type": "ai", "content": "x", "tool_calls": []},
        ("assistant", "x"),
    ],
    ids=repr,
)
def test_every_assistant_message_has_tool_calls(message: Any) -> None:
    assert coerce_message(message)["tool_calls"] == []
    assert add_messages([], [lc.AIMessage("x")])[0]["tool_calls"] == []


def test_other_roles_do_not_get_the_key() -> None:
    for message in ("hi", {"role": "system", "content": "s"}, {"role": "user", "content": "u", "tool_calls": []},
                    {"role": "tool", "content": "r", "tool_call_id": "c"}):
        assert "tool_calls" not in coerce_message(message)
