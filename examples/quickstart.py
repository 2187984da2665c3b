"""Quickstart: a graph that pauses for a human, then resumes with their answer.

    python examples/quickstart.py

A node calls ``interrupt(question)``; the run stops and returns the question under
``__interrupt__``. ``Command(resume=answer)`` on the same thread runs that node again from its
first line, and this time ``interrupt()`` returns the answer.
"""

from __future__ import annotations

from typing import TypedDict

from streamhil import START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt


class State(TypedDict):
    some_text: str


def draft(state: State) -> dict[str, str]:
    return {"some_text": state["some_text"].capitalize() + "."}


def human_node(state: State) -> dict[str, str]:
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("draft", draft)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "human_node")
    return builder.compile(checkpointer=InMemorySaver())  # a checkpointer is required to resume


def main() -> dict[str, str]:
    graph = build()
    config = {"configurable": {"thread_id": "quickstart"}}

    result = graph.invoke({"some_text": "original text"}, config)
    [question] = result["__interrupt__"]
    print("paused in node:", question.node)
    print("question:", question.value)
    print("waiting on:", graph.get_state(config).next)

    final = graph.invoke(Command(resume="Edited text"), config)
    print("result:", final)
    print("steps saved:", [s.metadata["step"] for s in graph.get_state_history(config)])
    return final


if __name__ == "__main__":
    main()
