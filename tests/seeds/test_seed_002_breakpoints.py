"""Seed 002: the older "Human-in-the-loop" concept page: static breakpoints, dynamic breakpoints,
approval / editing / input patterns, reviewing tool calls, time travel (replay and fork)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, StateGraph, interrupt
from streamhil.errors import NothingPendingError


class Flow(TypedDict):
    log: Annotated[list, operator.add]
    user_input: str
    tool_call: str


def flow_graph(calls: list[str], names: list[str], **compile_kwargs: Any) -> Any:
    """START -> names... -> END; each node logs its name and what it saw."""

    def make(name: str) -> Any:
        def node(state: Flow) -> dict[str, Any]:
            calls.append(name)
            seen = state.get("user_input") or state.get("tool_call") or ""
            return {"log": [f"{name}({seen})" if seen else name]}

        return node

    builder = StateGraph(Flow)
    for name in names:
        builder.add_node(name, make(name))
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=InMemorySaver(), **compile_kwargs)


def test_static_breakpoints_compile_time() -> None:
    """interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]: each None continues."""
    calls: list[str] = []
    graph = flow_graph(
        calls, ["node_a", "node_b", "node_c", "node_d"], interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]
    )
    thread_config = {"configurable": {"thread_id": "1"}}
    stops = []
    graph.invoke({"log": []}, thread_config)
    stops.append((tuple(calls), graph.get_state(thread_config).next))
    for _ in range(3):
        graph.invoke(None, thread_config)
        stops.append((tuple(calls), graph.get_state(thread_config).next))
    assert stops == [
        ((), ("node_a",)),
        (("node_a", "node_b"), ("node_c",)),
        (("node_a", "node_b", "node_c"), ("node_d",)),
        (("node_a", "node_b", "node_c", "node_d"), ()),
    ]


def test_breakpoint_before_the_human_step_with_values_stream() -> None:
    calls: list[str] = []
    graph = flow_graph(calls, ["plan", "step_for_human_in_the_loop", "finish"], interrupt_before=["step_for_human_in_the_loop"])
    thread_config = {"configurable": {"thread_id": "1"}}
    assert list(graph.stream({"log": []}, thread_config, stream_mode="values")) == [
        {"log": []},
        {"log": ["plan"]},
    ]
    # The first event of a continued run is the current state.
    assert list(graph.stream(None, thread_config, stream_mode="values")) == [
        {"log": ["plan"]},
        {"log": ["plan", "step_for_human_in_the_loop"]},
        {"log": ["plan", "step_for_human_in_the_loop", "finish"]},
    ]


class InputState(TypedDict):
    input: str
    log: Annotated[list, operator.add]


def dynamic_breakpoint_graph(runs: list[str]) -> Any:
    """The page raises NodeInterrupt (deprecated, not in streamhil); interrupt() is the same pause."""

    def my_node(state: InputState) -> dict[str, Any]:
        runs.append(state["input"])
        if len(state["input"]) > 5:
            interrupt(f"Received input that is longer than 5 characters: {state['input']}")
        return {"log": [f"my_node saw {state['input']}"]}

    builder = StateGraph(InputState)
    builder.add_node("my_node", my_node)
    builder.add_node("after", lambda s: {"log": ["after"]})
    builder.add_edge(START, "my_node")
    builder.add_edge("my_node", "after")
    return builder.compile(checkpointer=InMemorySaver())


def test_dynamic_breakpoint_rerun_then_edit_state() -> None:
    runs: list[str] = []
    graph = dynamic_breakpoint_graph(runs)
    thread_config = {"configurable": {"thread_id": "dyn"}}
    events = list(graph.stream({"input": "hello world", "log": []}, thread_config, stream_mode="values"))
    [intr] = events[-1]["__interrupt__"]
    assert intr.value == "Received input that is longer than 5 characters: hello world"

    # With no change to the state the node would just pause again. LangGraph re-runs it;
    # streamhil leaves the unanswered node parked and returns the same interrupt (difference 2).
    events = list(graph.stream(None, thread_config, stream_mode="values"))
    assert events[-1]["__interrupt__"] == (intr,)
    assert runs == ["hello world"]

    graph.update_state(config=thread_config, values={"input": "foo"})
    events = list(graph.stream(None, thread_config, stream_mode="values"))
    assert events[-1] == {"input": "foo", "log": ["my_node saw foo", "after"]}
    assert runs == ["hello world", "foo"]


def test_dynamic_breakpoint_skip_the_node() -> None:
    runs: list[str] = []
    graph = dynamic_breakpoint_graph(runs)
    thread_config = {"configurable": {"thread_id": "skip"}}
    graph.invoke({"input": "hello world", "log": []}, thread_config)
    graph.update_state(config=thread_config, values=None, as_node="my_node")
    events = list(graph.stream(None, thread_config, stream_mode="values"))
    assert events[-1] == {"input": "hello world", "log": ["after"]}
    assert runs == ["hello world"]


def test_resuming_with_and_without_the_command_primitive() -> None:
    """A dynamic interrupt takes Command(resume=..., update=...); a static breakpoint takes
    update_state + invoke(None). (A resume value at a static breakpoint is refused: difference 3.)"""

    def ask(state: InputState) -> dict[str, Any]:
        return {"log": [f"{state['input']}:{interrupt('q')}"]}

    builder = StateGraph(InputState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "cmd"}}
    graph.invoke({"input": "in", "log": []}, config=config)
    assert graph.invoke(Command(resume="yes", update={"input": "edited"}), config=config)["log"] == ["edited:yes"]

    calls: list[str] = []
    static = flow_graph(calls, ["a", "b"], interrupt_before=["b"])
    config = {"configurable": {"thread_id": "static"}}
    static.invoke({"log": []}, config=config)
    with pytest.raises(NothingPendingError):
        static.invoke(Command(resume="yes"), config=config)
    static.update_state(config, {"user_input": "note"})
    assert static.invoke(None, config=config)["log"] == ["a", "b(note)"]


def test_approval_pattern() -> None:
    calls: list[str] = []
    graph = flow_graph(calls, ["node_1", "node_2"], interrupt_before=["node_2"])
    thread = {"configurable": {"thread_id": "approve"}}
    list(graph.stream({"log": []}, thread, stream_mode="values"))
    assert calls == ["node_1"] and graph.get_state(thread).next == ("node_2",)
    events = list(graph.stream(None, thread, stream_mode="values"))
    assert events[-1]["log"] == ["node_1", "node_2"]


def test_editing_pattern() -> None:
    calls: list[str] = []
    graph = flow_graph(calls, ["node_1", "node_2"], interrupt_before=["node_2"])
    thread = {"configurable": {"thread_id": "edit"}}
    list(graph.stream({"log": []}, thread, stream_mode="values"))
    graph.update_state(thread, {"user_input": "new state"})
    events = list(graph.stream(None, thread, stream_mode="values"))
    assert events[-1]["log"] == ["node_1", "node_2(new state)"]


def test_input_pattern_update_as_node() -> None:
    """update_state(..., as_node="human_input") runs the update as that node: it is skipped."""
    calls: list[str] = []
    graph = flow_graph(calls, ["agent", "human_input", "respond"], interrupt_before=["human_input"])
    thread = {"configurable": {"thread_id": "input"}}
    list(graph.stream({"log": []}, thread, stream_mode="values"))
    graph.update_state(thread, {"user_input": "blue"}, as_node="human_input")
    assert graph.get_state(thread).next == ("respond",)
    events = list(graph.stream(None, thread, stream_mode="values"))
    assert events[-1]["log"] == ["agent", "respond(blue)"]
    assert calls == ["agent", "respond"]


@pytest.mark.parametrize("edit", [True, False], ids=["edited", "approved"])
def test_reviewing_tool_calls(edit: bool) -> None:
    calls: list[str] = []
    graph = flow_graph(calls, ["llm", "human_review", "run_tool"], interrupt_before=["human_review"])
    thread = {"configurable": {"thread_id": f"tools-{edit}"}}
    list(graph.stream({"log": [], "tool_call": "original tool call"}, thread, stream_mode="values"))
    if edit:
        graph.update_state(thread, {"tool_call": "updated tool call"}, as_node="human_review")
    events = list(graph.stream(None, thread, stream_mode="values"))
    if edit:
        assert events[-1]["log"] == ["llm(original tool call)", "run_tool(updated tool call)"]
        assert "human_review" not in calls
    else:
        assert events[-1]["log"] == [
            "llm(original tool call)",
            "human_review(original tool call)",
            "run_tool(original tool call)",
        ]


def test_time_travel_replay() -> None:
    """Replaying from an earlier checkpoint re-runs only what comes after it."""
    calls: list[str] = []
    app = flow_graph(calls, ["a", "b", "c"])
    thread = {"configurable": {"thread_id": "1"}}
    for _ in app.stream({"log": []}, thread, stream_mode="values"):
        pass
    all_checkpoints = []
    for state in app.get_state_history(thread):
        all_checkpoints.append(state)
    xxx = next(s for s in all_checkpoints if s.next == ("b",)).config["configurable"]["checkpoint_id"]
    calls.clear()
    config = {"configurable": {"thread_id": "1", "checkpoint_id": xxx}}
    events = list(app.stream(None, config, stream_mode="values"))
    assert events[0] == {"log": ["a"]}
    assert events[-1] == {"log": ["a", "b", "c"]}
    assert calls == ["b", "c"]


def test_time_travel_fork() -> None:
    """update_state on a past checkpoint forks it; running the fork follows the new path."""
    calls: list[str] = []
    app = flow_graph(calls, ["a", "b", "c"])
    thread = {"configurable": {"thread_id": "1"}}
    app.invoke({"log": []}, thread)
    xxx = next(s for s in app.get_state_history(thread) if s.next == ("b",)).config["configurable"]["checkpoint_id"]
    config = {"configurable": {"thread_id": "1", "checkpoint_id": xxx}}
    fork = app.update_state(config, {"user_input": "updated state"})
    xxx_fork = fork["configurable"]["checkpoint_id"]
    assert xxx_fork != xxx
    calls.clear()
    events = list(app.stream(None, {"configurable": {"thread_id": "1", "checkpoint_id": xxx_fork}}, stream_mode="values"))
    assert events[-1]["log"] == ["a", "b(updated state)", "c(updated state)"]
    assert calls == ["b", "c"]
    assert len([s for s in app.get_state_history(thread) if s.next == ("b",)]) == 2
