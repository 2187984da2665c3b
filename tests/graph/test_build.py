"""Building and compiling: the typed errors of difference 11, schemas, add_sequence, entry points."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, StateGraph
from streamhil.errors import (
    DuplicateNodeError,
    GraphBuildError,
    InvalidSchemaError,
    InvalidUpdateError,
    NoEntryPointError,
    ReservedNameError,
    UnknownNodeError,
    UnreachableNodeError,
)

from .helpers import LogState, thread


def noop(state: Any) -> None:
    return None


@pytest.mark.parametrize(
    "error", [DuplicateNodeError, ReservedNameError, UnknownNodeError, NoEntryPointError, UnreachableNodeError, InvalidSchemaError]
)
def test_build_errors_are_value_errors(error: type[Exception]) -> None:
    assert issubclass(error, GraphBuildError) and issubclass(error, ValueError)


def test_duplicate_node() -> None:
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    with pytest.raises(DuplicateNodeError, match="'a'"):
        builder.add_node("a", noop)


@pytest.mark.parametrize("name", [START, END, "__interrupt__", "a|b", "a:b"])
def test_reserved_names(name: str) -> None:
    with pytest.raises(ReservedNameError):
        StateGraph(LogState).add_node(name, noop)


def test_unknown_node_in_edges() -> None:
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", "ghost")
    with pytest.raises(UnknownNodeError, match="'ghost'"):
        builder.compile()

    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")
    builder.add_edge("phantom", "a")
    with pytest.raises(UnknownNodeError, match="'phantom'"):
        builder.compile()

    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: "x", {"x": "nowhere"})
    with pytest.raises(UnknownNodeError, match="'nowhere'"):
        builder.compile()


def test_edges_to_and_from_the_wrong_end() -> None:
    builder = StateGraph(LogState)
    with pytest.raises(GraphBuildError, match="END"):
        builder.add_edge(END, "a")
    with pytest.raises(GraphBuildError, match="START"):
        builder.add_edge("a", START)


def test_no_entry_point() -> None:
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    with pytest.raises(NoEntryPointError, match="entry point"):
        builder.compile()


def test_unreachable_node_when_every_exit_is_declared() -> None:
    def a(state: LogState) -> Command[Literal["b"]]:
        return Command(goto="b")

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", noop, destinations=[END])
    builder.add_node("island", noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    builder.add_edge("island", END)
    with pytest.raises(UnreachableNodeError, match=r"'island' cannot be reached from START: add an edge"):
        builder.compile()


def test_a_node_with_a_static_edge_but_no_declared_destinations_may_reach_any_node() -> None:
    """It may return an undeclared Command(goto=...) (or call a subgraph that sends one with
    Command.PARENT), as in LangGraph: nothing is called unreachable."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: Command(goto="extra", update={"log": ["a"]}))
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_node("extra", lambda s: {"log": ["extra"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    assert builder.compile().invoke({"log": []}) == {"log": ["a", "b", "extra"]}


def test_undeclared_exits_are_not_checked_for_reachability() -> None:
    """A router without a path map may go anywhere, so nothing is called unreachable."""
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: "b")
    assert builder.compile().invoke({"log": []}) == {"log": ["b"]}


def test_command_literal_declares_destinations() -> None:
    def a(state: LogState) -> Command[Literal["b"]]:
        return Command(goto="b")

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"log": []}) == {"log": ["b"]}


def test_add_sequence_and_entry_points() -> None:
    def one(state: LogState) -> dict[str, Any]:
        return {"log": ["one"]}

    builder = StateGraph(LogState)
    builder.add_sequence([one, ("two", lambda s: {"log": ["two"]})])
    builder.set_entry_point("one")
    builder.set_finish_point("two")
    assert builder.compile().invoke({"log": []}) == {"log": ["one", "two"]}
    with pytest.raises(GraphBuildError):
        StateGraph(LogState).add_sequence([])


def test_conditional_entry_point_with_path_map() -> None:
    builder = StateGraph(LogState)
    builder.add_node("left", lambda s: {"log": ["left"]})
    builder.add_node("right", lambda s: {"log": ["right"]})
    builder.set_conditional_entry_point(lambda s: s["log"][0], {"l": "left", "r": "right"})
    graph = builder.compile()
    assert graph.invoke({"log": ["r"]}) == {"log": ["r", "right"]}
    with pytest.raises(InvalidUpdateError, match="path_map"):
        graph.invoke({"log": ["x"]})


def three(a: Any, b: Any, c: Any) -> Any:
    return a


class Bad(TypedDict):
    x: Annotated[list, three]


def test_invalid_schema_and_reducer() -> None:
    with pytest.raises(InvalidSchemaError):
        StateGraph(int)

    with pytest.raises(InvalidSchemaError, match="two positional"):
        StateGraph(Bad)


def test_invalid_checkpointer() -> None:
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")
    with pytest.raises(TypeError, match="checkpointer"):
        builder.compile(checkpointer="memory")


@dataclass
class DataState:
    name: str = ""
    items: Annotated[list, operator.add] = field(default_factory=list)


def test_dataclass_state_schema() -> None:
    """Nodes receive the dataclass; output is a plain dict."""
    seen: list[Any] = []

    def a(state: DataState) -> dict[str, Any]:
        seen.append(state)
        return {"items": [f"{state.name}-a"]}

    builder = StateGraph(DataState)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"name": s.name.upper(), "items": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    assert graph.invoke({"name": "n"}, config) == {"name": "N", "items": ["n-a", "b"]}
    assert isinstance(seen[0], DataState) and seen[0].name == "n"
    assert graph.get_state(config).values == {"name": "N", "items": ["n-a", "b"]}


def test_graph_input_with_unknown_key() -> None:
    """Difference 11: LangGraph drops unknown input keys; streamhil names them."""
    builder = StateGraph(LogState)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with pytest.raises(InvalidUpdateError, match="'bogus'"):
        graph.invoke({"log": [], "bogus": 1}, config)
    with pytest.raises(InvalidUpdateError, match="Expected dict"):
        graph.invoke("just a string", thread())


def test_input_and_output_schemas() -> None:
    class Full(TypedDict):
        question: str
        scratch: str
        answer: str

    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    builder = StateGraph(Full, input_schema=In, output_schema=Out)
    builder.add_node("think", lambda s: {"scratch": s["question"] * 2})
    builder.add_node("say", lambda s: {"answer": s["scratch"].upper()})
    builder.add_edge(START, "think")
    builder.add_edge("think", "say")
    assert builder.compile().invoke({"question": "hi"}) == {"answer": "HIHI"}


def _narrow_output_run(library: str) -> dict[str, Any]:
    """The same asking graph with an output schema, built with ``library`` (streamhil or
    langgraph): what each surface shows."""
    import importlib

    graph_mod = importlib.import_module(f"{library}.graph")
    types = importlib.import_module(f"{library}.types")
    memory = importlib.import_module(f"{library}.checkpoint.memory")

    class Full(TypedDict):
        secret: str
        answer: str

    class Out(TypedDict):
        answer: str

    def think(state: Full) -> dict[str, Any]:
        return {"answer": f"{state['secret']}:{types.interrupt('ok?')}"}

    builder = graph_mod.StateGraph(Full, output_schema=Out)
    builder.add_node("think", think)
    builder.add_edge(graph_mod.START, "think")
    graph = builder.compile(checkpointer=memory.InMemorySaver())
    config = thread()
    paused = graph.invoke({"secret": "s"}, config)
    seen: dict[str, Any] = {"paused": sorted(paused), "state": graph.get_state(config).values}
    chunks = list(graph.stream(types.Command(resume="y"), config, stream_mode=["values", "checkpoints"]))
    seen["values"] = [chunk for mode, chunk in chunks if mode == "values"]
    seen["checkpoints"] = [chunk["values"] for mode, chunk in chunks if mode == "checkpoints"]
    seen["final_state"] = graph.get_state(config).values
    other = thread()
    graph.invoke({"secret": "t"}, other)
    seen["returned"] = graph.invoke(types.Command(resume="z"), other)
    return seen


def test_an_output_schema_narrows_only_what_the_run_returns() -> None:
    """get_state, the `values` stream and checkpoints show the whole state; invoke returns the
    output schema's keys (as LangGraph 1.2.22 does)."""
    ours = _narrow_output_run("streamhil")
    assert ours["state"] == {"secret": "s"}
    assert ours["values"] == [{"secret": "s"}, {"secret": "s", "answer": "s:y"}]
    assert ours["final_state"] == {"secret": "s", "answer": "s:y"}
    assert ours["returned"] == {"answer": "t:z"}
    assert ours == _narrow_output_run("langgraph")


def test_v2_values_parts_with_a_dataclass_output_schema_are_instances_of_it() -> None:
    """(LangGraph 1.2.22 raises TypeError here: it builds the output class from the whole state.)"""

    @dataclass
    class Full:
        secret: str = ""
        answer: str = ""

    @dataclass
    class Out:
        answer: str = ""

    builder = StateGraph(Full, output_schema=Out)
    builder.add_node("n", lambda s: {"answer": s.secret.upper()})
    builder.add_edge(START, "n")
    graph = builder.compile()
    parts = list(graph.stream(Full(secret="x"), stream_mode="values", version="v2"))
    assert [p["data"] for p in parts] == [Out(answer=""), Out(answer="X")]
    assert list(graph.stream(Full(secret="x"), stream_mode="values")) == [
        {"secret": "x", "answer": ""}, {"secret": "x", "answer": "X"}
    ]
    assert graph.invoke(Full(secret="y"), version="v2").value == Out(answer="Y")
