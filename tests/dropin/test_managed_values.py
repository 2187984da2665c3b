"""``langgraph.managed``'s ``RemainingSteps`` and ``IsLastStep``, side by side with LangGraph
1.2.22: the values each node and conditional edge sees, step by step, in a new run, a new input
on a finished thread, a subgraph (as a node and called from one) and ``update_state``; such keys
are no channels (not in the input, output or stored state; writes to them are ignored).

One deliberate difference: a resumed run counts its steps from its first one, as streamhil's
recursion limit does, so its nodes see one step fewer than LangGraph's (whose resumed runs may
run one step more); ``is_last_step`` is True on the last step streamhil allows."""

# (no `from __future__ import annotations`: the schemas below annotate with local names)

import dataclasses
import importlib
import operator
from typing import Annotated, Any, TypedDict

import pytest

HAS_LANGGRAPH = importlib.util.find_spec("langgraph") is not None


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def side_by_side(program: Any) -> Any:
    got = program("streamhil")
    if HAS_LANGGRAPH:
        assert got == program("langgraph")
    return got


def schema(name: str) -> Any:
    managed = lib(name, "managed")

    class State(TypedDict):
        log: Annotated[list, operator.add]
        remaining_steps: managed.RemainingSteps
        is_last_step: managed.IsLastStep

    return State


def logger(label: str, ask: bool = False, name: str = "streamhil") -> Any:
    def node(state: Any) -> Any:
        if ask:
            lib(name, "types").interrupt("go on?")
        return {"log": [(label, state["remaining_steps"], state["is_last_step"])]}

    return node


def looping(name: str, *, ask: bool = False) -> Any:
    """a -> b (asks, when ``ask``) -> c, c looping until ``is_last_step``."""
    graph = lib(name, "graph")
    builder = graph.StateGraph(schema(name))
    builder.add_node("a", logger("a"))
    builder.add_node("b", logger("b", ask, name))
    builder.add_node("c", logger("c"))
    builder.add_edge(graph.START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_conditional_edges("c", lambda s: graph.END if s["is_last_step"] else "c")
    return builder


def test_a_loop_stops_gracefully_on_its_last_step() -> None:
    def program(name: str) -> Any:
        out = looping(name).compile().invoke({"log": []}, {"recursion_limit": 7})
        return [tuple(entry) for entry in out["log"]], sorted(out)

    log, keys = side_by_side(program)
    assert log == [("a", 6, False), ("b", 5, False), ("c", 4, False), ("c", 3, False), ("c", 2, False), ("c", 1, True)]
    assert keys == ["log"]  # not part of the output


def test_the_values_in_a_subgraph_count_its_own_steps() -> None:
    def program(name: str) -> Any:
        graph = lib(name, "graph")
        managed = lib(name, "managed")

        class Sub(TypedDict):
            log: Annotated[list, operator.add]
            remaining_steps: managed.RemainingSteps

        sub_builder = graph.StateGraph(Sub)
        sub_builder.add_node("s1", lambda s: {"log": [("s1", s["remaining_steps"])]})
        sub_builder.add_node("s2", lambda s: {"log": [("s2", s["remaining_steps"])]})
        sub_builder.add_edge(graph.START, "s1")
        sub_builder.add_edge("s1", "s2")
        sub = sub_builder.compile()
        builder = graph.StateGraph(schema(name))
        builder.add_node("p", logger("p"))
        builder.add_node("sub", sub)
        builder.add_node("call", lambda s: {"log": sub.invoke({"log": [], "remaining_steps": 99})["log"]})
        builder.add_node("q", logger("q"))
        builder.add_edge(graph.START, "p")
        builder.add_edge("p", "sub")
        builder.add_edge("sub", "call")
        builder.add_edge("call", "q")
        out = builder.compile().invoke({"log": [], "remaining_steps": 1}, {"recursion_limit": 10})
        return [tuple(entry) for entry in out["log"]]

    assert side_by_side(program) == [
        ("p", 9, False), ("p", 9, False), ("s1", 9), ("s2", 8), ("s1", 9), ("s2", 8), ("q", 6, False),
    ]


def test_a_new_input_on_a_finished_thread_counts_from_its_start() -> None:
    def program(name: str) -> Any:
        app = looping(name).compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": 5}
        app.invoke({"log": []}, config)
        second = app.invoke({"log": ["again"]}, config)
        return [tuple(entry) if isinstance(entry, list | tuple) else entry for entry in second["log"]]

    log = side_by_side(program)
    assert log[log.index("again") + 1 :] == [("a", 4, False), ("b", 3, False), ("c", 2, False), ("c", 1, True)]


def test_a_resumed_run_counts_from_its_first_step() -> None:
    def program(name: str) -> list[tuple[Any, ...]]:
        types = lib(name, "types")
        app = looping(name, ask=True).compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": 6}
        app.invoke({"log": []}, config)
        return [tuple(entry) for entry in app.invoke(types.Command(resume=True), config)["log"]]

    got = program("streamhil")
    assert got == [("a", 5, False), ("b", 6, False), ("c", 5, False), ("c", 4, False), ("c", 3, False),
                   ("c", 2, False), ("c", 1, True)]
    if HAS_LANGGRAPH:  # LangGraph: b sees 7 on the resume, and its loop runs one more step
        assert program("langgraph") == [("a", 5, False), ("b", 7, False)] + [("c", n, n == 1) for n in range(6, 0, -1)]


def test_managed_keys_are_not_channels() -> None:
    def program(name: str) -> Any:
        graph = lib(name, "graph")
        seen: list[Any] = []

        def route(state: Any) -> Any:
            seen.append((state["remaining_steps"], state["is_last_step"]))
            return graph.END

        builder = graph.StateGraph(schema(name))
        builder.add_node("w", lambda s: {"log": [list(s)], "remaining_steps": 3})  # the write is ignored
        builder.add_edge(graph.START, "w")
        builder.add_conditional_edges("w", route)
        app = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": 7}
        first = app.invoke({"log": [], "is_last_step": True}, config)
        app.update_state(config, {"log": ["x"], "remaining_steps": 1}, as_node="w")
        state = app.get_state(config)
        routed = list(seen)
        updates = list(app.stream({"log": []}, {**config, "configurable": {"thread_id": "u"}}, stream_mode="updates"))
        return first, routed, state.values, sorted(state.values), updates

    first, seen, values, keys, updates = side_by_side(program)
    assert updates == [{"w": {"log": [["log", "remaining_steps", "is_last_step"]]}}]  # the ignored write not shown
    assert first == {"log": [["log", "remaining_steps", "is_last_step"]]}  # channels first, as LangGraph
    assert seen == [(6, False), (2, False)]  # the run's route, then update_state's
    assert keys == ["log"]


def test_a_dataclass_state_gets_them_too() -> None:
    def program(name: str) -> Any:
        graph = lib(name, "graph")
        managed = lib(name, "managed")

        @dataclasses.dataclass
        class State:
            log: Annotated[list, operator.add] = dataclasses.field(default_factory=list)
            remaining_steps: managed.RemainingSteps = 0

        builder = graph.StateGraph(State)
        builder.add_node("a", lambda s: {"log": [s.remaining_steps]})
        builder.add_edge(graph.START, "a")
        return builder.compile().invoke(State(), {"recursion_limit": 4})

    assert side_by_side(program) == {"log": [3]}


def test_the_module_mirrors_langgraphs() -> None:
    from streamhil.managed import IsLastStep, RemainingSteps

    if HAS_LANGGRAPH:
        import langgraph.managed as lg

        assert sorted(lg.__all__) == ["IsLastStep", "RemainingSteps"]
    assert RemainingSteps.__origin__ is int and IsLastStep.__origin__ is bool  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", [2, 3])
def test_the_last_step_is_the_last_one_allowed(limit: int) -> None:
    from streamhil.errors import GraphRecursionError

    app = looping("streamhil").compile()
    log = app.invoke({"log": []}, {"recursion_limit": limit + 2})["log"]
    assert log[-1][2] is True
    with pytest.raises(GraphRecursionError):  # a graph that ignores it fails on the next step
        graph = lib("streamhil", "graph")
        builder = graph.StateGraph(schema("streamhil"))
        builder.add_node("c", logger("c"))
        builder.add_edge(graph.START, "c")
        builder.add_edge("c", "c")
        builder.compile().invoke({"log": []}, {"recursion_limit": limit})
