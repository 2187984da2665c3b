"""Time travel: replay from an earlier checkpoint, or fork it with an edit.

    python examples/time_travel.py

Every superstep saves a checkpoint. ``get_state_history`` lists them newest first. Running
with a past ``checkpoint_id`` replays from there (earlier nodes are not run again);
``update_state`` on a past checkpoint creates a branch with the edit.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from streamhil import END, START, CompiledStateGraph, InMemorySaver, StateGraph


class State(TypedDict):
    topic: str
    log: Annotated[list, operator.add]


runs: list[str] = []


def pick_topic(state: State) -> dict:
    runs.append("pick_topic")
    return {"topic": "cats", "log": ["topic: cats"]}


def write_joke(state: State) -> dict:
    runs.append("write_joke")
    return {"log": [f"a joke about {state['topic']}"]}


def build() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("pick_topic", pick_topic)
    builder.add_node("write_joke", write_joke)
    builder.add_edge(START, "pick_topic")
    builder.add_edge("pick_topic", "write_joke")
    builder.add_edge("write_joke", END)
    return builder.compile(checkpointer=InMemorySaver())


def main() -> dict:
    graph = build()
    config = {"configurable": {"thread_id": "jokes"}}
    graph.invoke({"log": []}, config)
    for snap in graph.get_state_history(config):
        print(f"{snap.metadata['source']:5} step {snap.metadata['step']:2} next={snap.next}")

    before_joke = next(s for s in graph.get_state_history(config) if s.next == ("write_joke",))
    runs.clear()
    replayed = graph.invoke(None, before_joke.config)
    print("replay ran:", runs, "->", replayed["log"])

    fork = graph.update_state(before_joke.config, {"topic": "dogs"})
    runs.clear()
    forked = graph.invoke(None, fork)
    print("fork ran:", runs, "->", forked["log"])
    return forked


if __name__ == "__main__":
    main()
