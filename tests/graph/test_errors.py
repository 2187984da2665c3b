"""Errors and limits: concurrent writes, bad returns, recursion limit, failure recovery,
reducer defaults, Overwrite, joins (T59-T61, T66, T69, T70; differences 6 and 7)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import END, START, InMemorySaver, Overwrite, StateGraph
from streamhil.errors import ConfigError, GraphRecursionError, InvalidUpdateError

from .helpers import Calls, LogState, chain, thread


class Plain(TypedDict):
    x: str


def test_concurrent_update_of_a_plain_key() -> None:
    """T59."""
    builder = StateGraph(Plain)
    builder.add_node("a", lambda s: {"x": "a"})
    builder.add_node("b", lambda s: {"x": "b"})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    with pytest.raises(InvalidUpdateError, match="At key 'x': Can receive only one value per step"):
        builder.compile().invoke({"x": ""})


def test_bad_return_value() -> None:
    """T60: a non-dict return is an error; None is fine; an unknown key is named (difference 6)."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: "oops")
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="Expected dict|expected dict"):
        builder.compile().invoke({"log": []})

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: None)
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"log": ["in"]}) == {"log": ["in"]}

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"], "mystery": 1})
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="'mystery'") as info:
        builder.compile().invoke({"log": []})
    assert "'a'" in str(info.value)


@pytest.mark.parametrize(
    ("length", "outcomes"),
    [(1, ["ERR", "ok", "ok"]), (3, ["ERR", "ERR", "ERR", "ok"])],
)
def test_recursion_limit_counts_steps_with_tasks(length: int, outcomes: list[str]) -> None:
    """T61 / difference 7: a chain of N nodes needs recursion_limit >= N+1 (the hidden
    __start__ step counts)."""
    names = [f"n{i}" for i in range(length)]
    got = []
    for limit in range(1, len(outcomes) + 1):
        graph = chain(names, Calls())
        try:
            graph.invoke({"log": []}, {**thread(), "recursion_limit": limit})
            got.append("ok")
        except GraphRecursionError:
            got.append("ERR")
    assert got == outcomes


def test_recursion_error_is_raised_before_the_step_that_exceeds_it() -> None:
    """Difference 7: LangGraph raises after finishing a 1-node graph with limit 1; streamhil
    stops before running n0, so the saved state has n0 still to do."""
    calls = Calls()
    graph = chain(["n0"], calls)
    config = {**thread(), "recursion_limit": 1}
    with pytest.raises(GraphRecursionError, match="Recursion limit of 1 reached"):
        graph.invoke({"log": []}, config)
    assert calls == {}
    snap = graph.get_state(config)
    assert snap.next == ("n0",)
    assert graph.invoke(None, config) == {"log": ["n0"]}  # a fresh budget per invocation


class Counter(TypedDict):
    x: int


def test_self_loop_recursion_limit() -> None:
    """Difference 7: limit 5 leaves {'x': 4} with the loop still next (LangGraph: {'x': 5})."""
    builder = StateGraph(Counter)
    builder.add_node("loop", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "loop")
    builder.add_edge("loop", "loop")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {**thread(), "recursion_limit": 5}
    with pytest.raises(GraphRecursionError) as info:
        graph.invoke({"x": 0}, config)
    assert isinstance(info.value, RecursionError)
    assert "recursion_limit" in str(info.value)
    snap = graph.get_state(config)
    assert snap.values == {"x": 4} and snap.next == ("loop",)


@pytest.mark.parametrize("limit", [0, -1, "5"])
def test_bad_recursion_limit(limit: Any) -> None:
    graph = chain(["a"], Calls())
    with pytest.raises(ConfigError, match="recursion_limit"):
        graph.invoke({"log": []}, {**thread(), "recursion_limit": limit})


def flaky_graph(calls: Calls, fail_times: int = 1) -> Any:
    """flaky and ok run in parallel; flaky fails (the first time) only once ok has finished."""
    done: dict[str, Any] = {}

    async def ok(state: LogState) -> dict[str, Any]:
        calls["ok"] += 1
        done.setdefault("ok", anyio.Event()).set()
        return {"log": ["ok"]}

    async def flaky(state: LogState) -> dict[str, Any]:
        calls["flaky"] += 1
        if calls["flaky"] <= fail_times:
            await done.setdefault("ok", anyio.Event()).wait()
            raise ValueError("transient")
        return {"log": ["flaky"]}

    builder = StateGraph(LogState)
    builder.add_node("flaky", flaky)
    builder.add_node("ok", ok)
    builder.add_edge(START, "flaky")
    builder.add_edge(START, "ok")
    return builder.compile(checkpointer=InMemorySaver())


def test_failure_recovery_keeps_finished_siblings() -> None:
    """T66: the error surfaces; ok's write is kept; invoke(None) re-runs only flaky."""
    calls = Calls()
    graph = flaky_graph(calls)
    config = thread()
    with pytest.raises(ValueError, match="transient"):
        graph.invoke({"log": []}, config)
    snap = graph.get_state(config)
    assert snap.next == ("flaky",)
    assert snap.values == {"log": ["ok"]}
    by_name = {t.name: t for t in snap.tasks}
    assert by_name["flaky"].error == "ValueError('transient')"
    assert by_name["ok"].result == {"log": ["ok"]}
    assert graph.invoke(None, config) == {"log": ["flaky", "ok"]}
    assert calls == {"flaky": 2, "ok": 1}


@pytest.mark.anyio
async def test_failure_recovery_async() -> None:
    calls = Calls()
    graph = flaky_graph(calls)
    config = thread()
    with pytest.raises(ValueError, match="transient"):
        await graph.ainvoke({"log": []}, config)
    assert await graph.ainvoke(None, config) == {"log": ["flaky", "ok"]}
    assert calls == {"flaky": 2, "ok": 1}


class Mixed(TypedDict):
    items: Annotated[list, operator.add]
    name: str
    count: Annotated[int, operator.add]


def test_reducer_keys_start_empty() -> None:
    """T69: reducer keys whose type can be built empty start at T()."""
    builder = StateGraph(Mixed)
    builder.add_node("a", lambda s: {"name": "n"})
    builder.add_edge(START, "a")
    assert builder.compile().invoke({}) == {"items": [], "name": "n", "count": 0}


def test_overwrite_bypasses_the_reducer() -> None:
    """T69."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": Overwrite(["reset"])})
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"log": ["x", "y"]}) == {"log": ["reset"]}


def test_two_overwrites_in_one_step() -> None:
    """T69."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": Overwrite(["a"])})
    builder.add_node("b", lambda s: {"log": Overwrite(["b"])})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    with pytest.raises(InvalidUpdateError, match="one Overwrite"):
        builder.compile().invoke({"log": []})


def test_overwrite_in_update_state() -> None:
    graph = chain(["a", "b"], Calls(), interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": ["in"]}, config)
    graph.update_state(config, {"log": Overwrite(["fresh"])})
    assert graph.invoke(None, config) == {"log": ["fresh", "b"]}


def test_update_state_with_an_unknown_key_names_the_key_not_a_node() -> None:
    """The caller named no node: the error says which key the state lacks (a documented
    difference: LangGraph drops it silently)."""
    graph = chain(["a", "b"], Calls(), interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": ["in"]}, config)
    with pytest.raises(InvalidUpdateError, match="update_state: the graph's state has no key 'logg'; its keys are 'log'") as refused:
        graph.update_state(config, {"logg": ["x"]})
    assert "Node" not in str(refused.value)
    assert graph.get_state(config).next == ("b",)  # nothing saved


def join_graph(calls: Calls, *, join: bool) -> Any:
    """T70: x -> z and y -> y2 -> z; z runs twice with plain edges, once with a join."""
    builder = StateGraph(LogState)
    for name in ("x", "y", "y2", "z"):
        builder.add_node(name, calls.node(name))
    builder.add_edge(START, "x")
    builder.add_edge(START, "y")
    builder.add_edge("y", "y2")
    if join:
        builder.add_edge(["x", "y2"], "z")
    else:
        builder.add_edge("x", "z")
        builder.add_edge("y2", "z")
    builder.add_edge("z", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_separate_edges_run_the_target_twice() -> None:
    calls = Calls()
    assert join_graph(calls, join=False).invoke({"log": []}, thread()) == {"log": ["x", "y", "y2", "z", "z"]}
    assert calls["z"] == 2


def test_join_runs_the_target_once() -> None:
    calls = Calls()
    assert join_graph(calls, join=True).invoke({"log": []}, thread()) == {"log": ["x", "y", "y2", "z"]}
    assert calls["z"] == 1


def test_join_waits_across_an_interrupt() -> None:
    """A join whose source interrupts fires after the answer, once."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("x", calls.asking("x"))
    builder.add_node("y", calls.node("y"))
    builder.add_node("z", calls.node("z"))
    builder.add_edge(START, "x")
    builder.add_edge(START, "y")
    builder.add_edge(["x", "y"], "z")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    from streamhil import Command

    assert graph.invoke(Command(resume="A"), config) == {"log": ["x:A", "y", "z"]}
    assert calls == {"x": 2, "y": 1, "z": 1}


def test_values_that_cannot_be_stored_are_a_typed_error() -> None:
    """A state value or interrupt payload the checkpointer cannot store fails with
    SerializationError (a TypeError) naming the channel; nothing half-written is left."""
    from streamhil import interrupt
    from streamhil.errors import SerializationError

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": [object()]})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with pytest.raises(SerializationError, match="'log'") as info:
        graph.invoke({"log": []}, config)
    assert isinstance(info.value, TypeError)
    assert graph.get_state(config).next == ("a",)

    builder = StateGraph(LogState)
    builder.add_node("ask", lambda s: {"log": [interrupt(object())]})
    builder.add_edge(START, "ask")
    with pytest.raises(SerializationError, match="__interrupt__"):
        builder.compile(checkpointer=InMemorySaver()).invoke({"log": []}, thread())
