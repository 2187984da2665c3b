"""GraphSpec (executor/spec.py) and the pure routing built on it (runner.writes_from_return,
routes_for), with specs written by hand: no StateGraph involved."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import pytest

from streamhil.constants import END, START
from streamhil.errors import InvalidUpdateError, ParentCommand
from streamhil.executor.runner import routes_for, writes_from_return
from streamhil.executor.spec import Branch, ChannelSpec, GraphSpec, NodeSpec, StateSchema
from streamhil.types import Command, Send

STATE = StateSchema(dict, {"q": ChannelSpec("q"), "log": ChannelSpec("log", operator.add, list)})


def node(name: str) -> NodeSpec:
    return NodeSpec(name=name, fn=lambda state: None, is_async=False)


def pick(state: dict[str, Any]) -> Any:
    return state["q"]


SPEC = GraphSpec(
    name="hand-made",
    schema=STATE,
    nodes={"a": node("a"), "b": node("b"), "c": node("c")},
    edges=((START, "a"), ("a", "b"), ("a", "c"), ("c", END)),
    branches={"b": (Branch(pick, {"yes": "c", "no": END}, False, "pick"),)},
    input_schema=StateSchema(dict, {"q": ChannelSpec("q"), "extra": ChannelSpec("extra")}),
    output_schema=StateSchema(dict, {"log": ChannelSpec("log")}),
)


def test_derived_fields() -> None:
    assert SPEC.node_order == {"a": 0, "b": 1, "c": 2}
    assert SPEC.static_targets == {START: ("a",), "a": ("b", "c")}  # edges into END lead nowhere
    assert SPEC.channels is STATE.channels
    assert SPEC.input_keys == ("q",)  # input keys the state has
    assert SPEC.output_keys == ("log",)
    assert SPEC.saver is None


def test_a_spec_cannot_be_changed_after_it_is_made() -> None:
    with pytest.raises(AttributeError):
        SPEC.name = "other"  # type: ignore[misc]


def test_initial_values_build_a_fresh_default_each_time() -> None:
    first, second = STATE.initial_values(), STATE.initial_values()
    assert first == {"log": []} and first["log"] is not second["log"]


def test_node_input_keeps_the_schema_keys_and_builds_dataclasses() -> None:
    @dataclass
    class State:
        q: str = ""
        log: list[str] = field(default_factory=list)

    schema = StateSchema(State, {"q": ChannelSpec("q"), "log": ChannelSpec("log")}, is_dataclass=True)
    assert schema.node_input({"q": "x", "other": 1}) == State(q="x")
    assert STATE.node_input({"q": "x", "other": 1}) == {"q": "x"}


def test_a_return_value_becomes_writes_and_gotos() -> None:
    assert writes_from_return(SPEC, "a", {"q": 1, "log": ["x"]}) == ([("q", 1), ("log", ["x"])], [], {"q": 1, "log": ["x"]})
    assert writes_from_return(SPEC, "a", None) == ([], [], None)
    writes, gotos, _ = writes_from_return(SPEC, "a", Command(update={"q": 2}, goto=["b", Send("c", 3)]))
    assert writes == [("q", 2)] and gotos == ["b", Send("c", 3)]


def test_bad_return_values_are_refused_by_name() -> None:
    with pytest.raises(InvalidUpdateError, match="Node 'a' wrote unknown state key 'nope'; the state has keys 'q', 'log'"):
        writes_from_return(SPEC, "a", {"nope": 1})
    assert writes_from_return(SPEC, "a", {"nope": 1}, lenient=True)[0] == []
    with pytest.raises(InvalidUpdateError, match="expected dict, got int"):
        writes_from_return(SPEC, "a", 7)
    with pytest.raises(InvalidUpdateError, match="Command\\(goto='zz'\\), an unknown node"):
        writes_from_return(SPEC, "a", Command(goto="zz"))
    with pytest.raises(ParentCommand):
        writes_from_return(SPEC, "a", Command(graph=Command.PARENT, goto="x"))


@pytest.mark.anyio
async def test_routes_follow_static_edges_and_branches_on_the_updated_state() -> None:
    assert await routes_for(SPEC, "a", {"q": "no"}, [], 25) == ["b", "c"]
    assert await routes_for(SPEC, "b", {"q": "no"}, [("q", "yes")], 25) == ["c"]  # its own write applied
    assert await routes_for(SPEC, "b", {"q": "yes"}, [("q", "no")], 25) == []  # END
    with pytest.raises(InvalidUpdateError, match="returned 'maybe', which is not in its path_map"):
        await routes_for(SPEC, "b", {"q": "maybe"}, [], 25)
    with pytest.raises(KeyError):  # as LangGraph raises there: `except KeyError` written for it still works
        await routes_for(SPEC, "b", {"q": "maybe"}, [], 25)
