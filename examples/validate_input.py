"""Validate a human's answer inside the graph: ask again until it is valid.

    python examples/validate_input.py

Each ``interrupt()`` call in a node has a position. On every resume the node runs from the top
and earlier calls return their earlier answers, so a loop of questions works. Each question
has its own id (``Interrupt.index`` is its position in the node).
"""

from __future__ import annotations

from typing import TypedDict

from streamhil import END, START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt


class State(TypedDict):
    age: int


def get_valid_age(state: State) -> dict[str, int]:
    prompt = "Please enter your age (must be a non-negative integer)."
    while True:
        user_input = interrupt(prompt)
        try:
            age = int(user_input)
            if age < 0:
                raise ValueError("Age must be non-negative.")
            return {"age": age}
        except (ValueError, TypeError):
            prompt = f"'{user_input}' is not valid. Please enter a non-negative integer for age."


def report_age(state: State) -> None:
    print(f"Human is {state['age']} years old.")


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("get_valid_age", get_valid_age)
    builder.add_node("report_age", report_age)
    builder.add_edge(START, "get_valid_age")
    builder.add_edge("get_valid_age", "report_age")
    builder.add_edge("report_age", END)
    return builder.compile(checkpointer=InMemorySaver())


def main() -> dict[str, int]:
    graph = build()
    config = {"configurable": {"thread_id": "age"}}
    result = graph.invoke({}, config)
    for answer in ("not a number", "-10", "25"):
        [question] = result["__interrupt__"]
        print(f"Q{question.index}: {question.value}")
        print(f"A{question.index}: {answer}")
        result = graph.invoke(Command(resume=answer), config)
    print("result:", result)
    return result


if __name__ == "__main__":
    main()
