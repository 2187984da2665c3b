"""Parallel interrupts: two reviewers asked at once, answered separately or together.

    python examples/parallel_interrupts.py

Each interrupt has an id. Answer one with ``Command(resume={id: value})``: only the node that
asked it runs again; the other stays parked with the same id until its own answer arrives.
A plain ``Command(resume=value)`` is refused while several questions wait (it would be
ambiguous). One map can also answer all of them at once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, TypedDict

from streamhil import END, START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt
from streamhil.errors import AmbiguousResumeError


class State(TypedDict):
    draft: str
    reviews: Annotated[list, operator.add]


def make_reviewer(name: str) -> Callable[[State], dict[str, list[str]]]:
    def reviewer(state: State) -> dict[str, list[str]]:
        verdict = interrupt({"reviewer": name, "draft": state["draft"]})
        return {"reviews": [f"{name}: {verdict}"]}

    return reviewer


def publish(state: State) -> None:
    print("publishing with", state["reviews"])


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("legal", make_reviewer("legal"))
    builder.add_node("style", make_reviewer("style"))
    builder.add_node("publish", publish)
    builder.add_edge(START, "legal")
    builder.add_edge(START, "style")
    builder.add_edge(["legal", "style"], "publish")  # a join: publish waits for both
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def main() -> list[dict]:
    graph = build()
    results = []

    one_by_one = {"configurable": {"thread_id": "one-by-one"}}
    legal, style = graph.invoke({"draft": "v1", "reviews": []}, one_by_one)["__interrupt__"]
    print("waiting on:", [i.value["reviewer"] for i in (legal, style)])
    try:
        graph.invoke(Command(resume="ok"), one_by_one)
    except AmbiguousResumeError:
        print("a plain answer is ambiguous with two questions pending")
    result = graph.invoke(Command(resume={style.id: "fine"}), one_by_one)
    print("still waiting on:", [i.value["reviewer"] for i in result["__interrupt__"]])
    result = graph.invoke(Command(resume={legal.id: "approved"}), one_by_one)
    print("one by one ->", result)
    results.append(result)

    at_once = {"configurable": {"thread_id": "at-once"}}
    pending = graph.invoke({"draft": "v2", "reviews": []}, at_once)["__interrupt__"]
    result = graph.invoke(Command(resume={i.id: "ok" for i in pending}), at_once)
    print("at once ->", result)
    results.append(result)
    return results


if __name__ == "__main__":
    main()
