"""Approve or reject: a human decides which path the graph takes.

    python examples/approve_or_reject.py

The approval node returns ``Command(goto=...)``; its ``Command[Literal[...]]`` annotation
declares where it may go, so the graph still compiles with every node reachable.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from streamhil import END, START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt


class State(TypedDict):
    llm_output: str
    decision: str


def generate_llm_output(state: State) -> dict[str, str]:
    return {"llm_output": "This is the generated output."}


def human_approval(state: State) -> Command[Literal["approved_path", "rejected_path"]]:
    decision = interrupt({"question": "Do you approve the following output?", "llm_output": state["llm_output"]})
    if decision == "approve":
        return Command(goto="approved_path", update={"decision": "approved"})
    return Command(goto="rejected_path", update={"decision": "rejected"})


def approved_path(state: State) -> None:
    print("approved path taken")


def rejected_path(state: State) -> None:
    print("rejected path taken")


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("generate_llm_output", generate_llm_output)
    builder.add_node("human_approval", human_approval)
    builder.add_node("approved_path", approved_path)
    builder.add_node("rejected_path", rejected_path)
    builder.add_edge(START, "generate_llm_output")
    builder.add_edge("generate_llm_output", "human_approval")
    builder.add_edge("approved_path", END)
    builder.add_edge("rejected_path", END)
    return builder.compile(checkpointer=InMemorySaver())


def main() -> list[dict[str, str]]:
    graph = build()
    results = []
    for answer in ("approve", "reject"):
        config = {"configurable": {"thread_id": f"review-{answer}"}}
        [question] = graph.invoke({}, config)["__interrupt__"]
        print("asked:", question.value["question"])
        result = graph.invoke(Command(resume=answer), config)
        print(f"{answer} ->", result)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
