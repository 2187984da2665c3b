"""Static breakpoints and state edits: pause before a node, edit the state, or act as the node.

    python examples/breakpoints_and_edits.py

``interrupt_before=[...]`` stops the run before those nodes (no question, no payload).
``invoke(None, config)`` continues. ``update_state`` edits the paused state; with
``as_node="x"`` the edit counts as x's output, so x is skipped.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from streamhil import END, START, CompiledStateGraph, InMemorySaver, StateGraph


class State(TypedDict):
    tool_call: str
    log: Annotated[list, operator.add]


def llm(state: State) -> dict:
    return {"tool_call": "search('weather in Pariss')", "log": ["llm"]}


def human_review(state: State) -> dict:
    return {"log": ["human_review (no edit)"]}


def run_tool(state: State) -> dict:
    return {"log": [f"run_tool: {state['tool_call']}"]}


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("llm", llm)
    builder.add_node("human_review", human_review)
    builder.add_node("run_tool", run_tool)
    builder.add_edge(START, "llm")
    builder.add_edge("llm", "human_review")
    builder.add_edge("human_review", "run_tool")
    builder.add_edge("run_tool", END)
    return builder.compile(checkpointer=InMemorySaver(), interrupt_before=["human_review"])


def main() -> list[dict]:
    graph = build()
    results = []

    approve = {"configurable": {"thread_id": "approve"}}
    graph.invoke({"log": []}, approve)
    print("paused before:", graph.get_state(approve).next)
    results.append(graph.invoke(None, approve))
    print("approved ->", results[-1]["log"])

    edit = {"configurable": {"thread_id": "edit"}}
    graph.invoke({"log": []}, edit)
    graph.update_state(edit, {"tool_call": "search('weather in Paris')", "log": ["human edited"]}, as_node="human_review")
    print("after the edit, next:", graph.get_state(edit).next)
    results.append(graph.invoke(None, edit))
    print("edited ->", results[-1]["log"])
    return results


if __name__ == "__main__":
    main()
