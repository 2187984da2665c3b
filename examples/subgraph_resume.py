"""Interrupts inside subgraphs: as a node, and called from inside a node.

    python examples/subgraph_resume.py

On resume, the interrupted node of the subgraph runs again from its top; its finished nodes do
not. A node that *calls* a subgraph runs again from its top too, so code before the call
repeats; the subgraph itself picks up from its own checkpoint.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, TypedDict

from streamhil import START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt


class State(TypedDict):
    log: Annotated[list, operator.add]


entered: Counter[str] = Counter()


def sub_prepare(state: State) -> dict:
    entered["sub_prepare"] += 1
    return {"log": ["prepared"]}


def sub_ask(state: State) -> dict:
    entered["sub_ask"] += 1
    return {"log": [f"name: {interrupt('what is your name?')}"]}


def build_subgraph() -> CompiledStateGraph:
    sub = StateGraph(State)
    sub.add_node("sub_prepare", sub_prepare)
    sub.add_node("sub_ask", sub_ask)
    sub.add_edge(START, "sub_prepare")
    sub.add_edge("sub_prepare", "sub_ask")
    return sub.compile()


def build() -> CompiledStateGraph:
    subgraph = build_subgraph()

    def caller(state: State) -> dict:
        entered["caller"] += 1  # runs again on resume
        return {"log": subgraph.invoke({"log": []})["log"]}

    builder = StateGraph(State)
    builder.add_node("as_node", subgraph)
    builder.add_node("caller", caller)
    builder.add_edge(START, "as_node")
    builder.add_edge("as_node", "caller")
    return builder.compile(checkpointer=InMemorySaver())


def main() -> dict:
    graph = build()
    config = {"configurable": {"thread_id": "nested"}}
    result = graph.invoke({"log": []}, config)
    for answer in ("Ada", "Grace"):
        [question] = result["__interrupt__"]
        print(f"asked {question.value!r} in {question.node} (namespace {question.ns.split(':')[0]}...)")
        result = graph.invoke(Command(resume=answer), config)
    print("result:", result["log"])
    print("entered:", dict(sorted(entered.items())))
    return result


if __name__ == "__main__":
    main()
