"""Parallel interrupts, partial resume, Send fan-out and ordering (T19-T24, differences 2 and 9)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhil import END, START, Command, InMemorySaver, Send, StateGraph, interrupt
from streamhil.errors import AmbiguousResumeError, UnknownInterruptError

from .helpers import Calls, LogState, thread


def parallel_graph(calls: Calls) -> Any:
    """T19: START -> {a, b, ok}; [a, b, ok] -> after. a and b ask, ok just logs."""
    builder = StateGraph(LogState)
    builder.add_node("a", calls.asking("a", "qa"))
    builder.add_node("b", calls.asking("b", "qb"))
    builder.add_node("ok", calls.node("ok"))
    builder.add_node("after", calls.node("after"))
    for name in ("a", "b", "ok"):
        builder.add_edge(START, name)
    builder.add_edge(["a", "b", "ok"], "after")
    builder.add_edge("after", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_parallel_interrupts_with_a_finished_sibling() -> None:
    """T19: both questions are pending, ok's write is already in the state."""
    calls = Calls()
    graph = parallel_graph(calls)
    config = thread()
    result = graph.invoke({"log": ["start"]}, config)
    assert result["log"] == ["start", "ok"]
    qa, qb = result["__interrupt__"]
    assert (qa.value, qa.node, qb.value, qb.node) == ("qa", "a", "qb", "b")
    snap = graph.get_state(config)
    assert snap.values == {"log": ["start", "ok"]}
    assert snap.next == ("a", "b")
    assert snap.interrupts == (qa, qb)
    by_name = {t.name: t for t in snap.tasks}
    assert by_name["ok"].result == {"log": ["ok"]}
    assert by_name["a"].interrupts == (qa,) and by_name["b"].interrupts == (qb,)


def test_partial_resume_runs_only_the_answered_task() -> None:
    """T20-T22 with differences 2 and 3: scalar resume is ambiguous, an unknown id is refused,
    answering `a` re-runs only `a` (LangGraph re-runs `b` too), then `b` alone is pending."""
    calls = Calls()
    graph = parallel_graph(calls)
    config = thread()
    qa, qb = graph.invoke({"log": ["start"]}, config)["__interrupt__"]
    history_len = len(list(graph.get_state_history(config)))

    with pytest.raises(AmbiguousResumeError) as info:
        graph.invoke(Command(resume="X"), config)
    assert qa.id in str(info.value) and qb.id in str(info.value)
    with pytest.raises(UnknownInterruptError):
        graph.invoke(Command(resume={"0" * 32: "U"}), config)
    assert calls == {"a": 1, "b": 1, "ok": 1}
    assert len(list(graph.get_state_history(config))) == history_len

    result = graph.invoke(Command(resume={qa.id: "A"}), config)
    assert result == {"log": ["start", "a:A", "ok"], "__interrupt__": [qb]}
    assert calls == {"a": 2, "b": 1, "ok": 1}
    snap = graph.get_state(config)
    assert snap.interrupts == (qb,) and snap.next == ("b",)

    # Only b's interrupt is pending: invoke(None) runs nothing and returns it again.
    assert graph.invoke(None, config)["__interrupt__"] == [qb]
    assert calls == {"a": 2, "b": 1, "ok": 1}

    assert graph.invoke(Command(resume="B"), config) == {"log": ["start", "a:A", "b:B", "ok", "after"]}
    assert calls == {"a": 2, "b": 2, "ok": 1, "after": 1}


@pytest.mark.anyio
async def test_partial_resume_async() -> None:
    calls = Calls()
    graph = parallel_graph(calls)
    config = thread()
    qa, qb = (await graph.ainvoke({"log": ["start"]}, config))["__interrupt__"]
    result = await graph.ainvoke(Command(resume={qb.id: "B"}), config)
    assert result == {"log": ["start", "b:B", "ok"], "__interrupt__": [qa]}
    result = await graph.ainvoke(Command(resume={qa.id: "A"}), config)
    assert result == {"log": ["start", "a:A", "b:B", "ok", "after"]}
    assert calls == {"a": 2, "b": 2, "ok": 1, "after": 1}


def test_resume_all_at_once_with_a_map() -> None:
    """Seed 001/004: two parallel human nodes answered with one map."""
    calls = Calls()
    graph = parallel_graph(calls)
    config = thread()
    interrupts = graph.invoke({"log": ["start"]}, config)["__interrupt__"]
    answers = {i.id: i.value.upper() for i in interrupts}
    assert graph.invoke(Command(resume=answers), config) == {"log": ["start", "a:QA", "b:QB", "ok", "after"]}
    assert calls == {"a": 2, "b": 2, "ok": 1, "after": 1}


class FanState(TypedDict):
    items: list[str]
    out: Annotated[list, operator.add]


def fan_out_graph(calls: Calls) -> Any:
    """T23: a router sends one ``worker`` task per item; each worker asks for approval."""

    def worker(arg: dict[str, Any]) -> dict[str, Any]:
        calls["worker"] += 1
        answer = interrupt(f"approve {arg['item']}?")
        return {"out": [f"{arg['item']}={answer}"]}

    builder = StateGraph(FanState)
    builder.add_node("start", lambda s: None)
    builder.add_node("worker", worker)
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", lambda s: [Send("worker", {"item": i}) for i in s["items"]])
    return builder.compile(checkpointer=InMemorySaver())


def test_send_fan_out_interrupts_and_map_resume() -> None:
    """T23: three push tasks, three interrupts in send order, one map answers all."""
    calls = Calls()
    graph = fan_out_graph(calls)
    config = thread()
    result = graph.invoke({"items": ["x", "y", "z"], "out": []}, config)
    assert [i.value for i in result["__interrupt__"]] == ["approve x?", "approve y?", "approve z?"]
    snap = graph.get_state(config)
    assert snap.next == ("worker", "worker", "worker")
    assert [t.path for t in snap.tasks] == [("__pregel_push", i, False) for i in range(3)]
    assert len({i.id for i in snap.interrupts}) == 3
    answers = {i.id: i.value.split()[1][0].upper() for i in snap.interrupts}
    result = graph.invoke(Command(resume=answers), config)
    assert result == {"items": ["x", "y", "z"], "out": ["x=X", "y=Y", "z=Z"]}
    assert calls["worker"] == 6


def test_send_fan_out_answered_one_by_one() -> None:
    """Difference 2 with Sends: each answer re-runs its own worker only; writes keep send order."""
    calls = Calls()
    graph = fan_out_graph(calls)
    config = thread()
    ix, iy, iz = graph.invoke({"items": ["x", "y", "z"], "out": []}, config)["__interrupt__"]
    assert graph.invoke(Command(resume={iz.id: "3"}), config)["__interrupt__"] == [ix, iy]
    assert graph.invoke(Command(resume={ix.id: "1"}), config)["__interrupt__"] == [iy]
    assert calls["worker"] == 5
    assert graph.invoke(Command(resume="2"), config)["out"] == ["x=1", "y=2", "z=3"]
    assert calls["worker"] == 6


@pytest.mark.anyio
async def test_ordering_is_deterministic_while_completion_order_is_not() -> None:
    """T24 / difference 9: updates stream in completion order (b, y, a, x here), but the
    invoke output, the snapshot and the reducer all use task order (a, b, y, x)."""
    order: list[str] = []

    class Gate:
        def __init__(self) -> None:
            self.events: dict[str, anyio.Event] = {}

        def __getitem__(self, name: str) -> anyio.Event:
            return self.events.setdefault(name, anyio.Event())

    def build(gate: Gate) -> Any:
        async def a(state: LogState) -> dict[str, Any]:
            await gate["y"].wait()
            order.append("a")
            gate["a"].set()
            return {"log": [interrupt("qa")]}

        async def b(state: LogState) -> dict[str, Any]:
            order.append("b")
            gate["b"].set()
            return {"log": [interrupt("qb")]}

        async def y(state: LogState) -> dict[str, Any]:
            await gate["b"].wait()
            order.append("y")
            gate["y"].set()
            return {"log": ["y"]}

        async def x(state: LogState) -> dict[str, Any]:
            await gate["a"].wait()
            order.append("x")
            return {"log": ["x"]}

        builder = StateGraph(LogState)
        for name, fn in (("a", a), ("b", b), ("y", y), ("x", x)):
            builder.add_node(name, fn)
            builder.add_edge(START, name)
        return builder.compile(checkpointer=InMemorySaver())

    graph = build(Gate())
    config = thread()
    with anyio.fail_after(5):
        updates = [part async for part in graph.astream({"log": []}, config, stream_mode="updates")]
    assert order == ["b", "y", "a", "x"]
    assert [next(iter(u)) for u in updates] == ["__interrupt__", "y", "__interrupt__", "x"]
    assert [u["__interrupt__"][0].value for u in updates if "__interrupt__" in u] == ["qb", "qa"]
    snap = await graph.aget_state(config)
    assert [t.name for t in snap.tasks] == ["a", "b", "y", "x"]
    assert [i.value for i in snap.interrupts] == ["qa", "qb"]
    assert snap.values == {"log": ["x", "y"]}  # reducer in path order, not completion order

    order.clear()
    graph = build(Gate())
    with anyio.fail_after(5):
        result = await graph.ainvoke({"log": []}, thread())
    assert order == ["b", "y", "a", "x"]
    assert [i.value for i in result["__interrupt__"]] == ["qa", "qb"]
    assert result["log"] == ["x", "y"]


def test_push_tasks_come_first_in_interrupt_order() -> None:
    """Difference 9: `__interrupt__` lists push (Send) tasks first, then nodes by registration."""
    calls = Calls()

    def pusher(arg: dict[str, Any]) -> dict[str, Any]:
        return {"log": [interrupt(f"push {arg['n']}")]}

    builder = StateGraph(LogState)
    builder.add_node("zz", calls.asking("zz", "pull zz"))
    builder.add_node("aa", pusher)
    builder.add_node("fan", lambda s: None)
    builder.add_edge(START, "fan")
    builder.add_conditional_edges("fan", lambda s: [Send("aa", {"n": 0}), "zz", Send("aa", {"n": 1})])
    graph = builder.compile(checkpointer=InMemorySaver())
    result = graph.invoke({"log": []}, thread())
    assert [i.value for i in result["__interrupt__"]] == ["push 0", "push 1", "pull zz"]


def test_reducer_applies_pull_tasks_before_sends() -> None:
    """§2.4: at the barrier pull tasks apply by node name, then Sends in send order."""
    builder = StateGraph(LogState)
    builder.add_node("fan", lambda s: None)
    builder.add_node("zz", lambda s: {"log": ["pull-zz"]})
    builder.add_node("aa", lambda arg: {"log": [f"push-{arg}"]})
    builder.add_edge(START, "fan")
    builder.add_conditional_edges("fan", lambda s: [Send("aa", "cats"), "zz", Send("aa", "dogs")])
    graph = builder.compile()
    assert graph.invoke({"log": []}) == {"log": ["pull-zz", "push-cats", "push-dogs"]}


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_answering_in_any_order_runs_each_asker_exactly_twice(data: st.DataObject) -> None:
    """Difference 2, as a property: however the questions of n parallel askers are answered
    (any grouping into maps, any order), each asker runs once to ask and once to finish, the
    pending set shrinks by exactly the answered ids, and the final log is in node order."""
    n = data.draw(st.integers(min_value=1, max_value=4), label="askers")
    names = [f"n{i}" for i in range(n)]
    calls = Calls()
    builder = StateGraph(LogState)
    for name in names:
        builder.add_node(name, calls.asking(name, f"q{name}"))
        builder.add_edge(START, name)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    pending = graph.invoke({"log": []}, config)["__interrupt__"]
    assert [i.node for i in pending] == names
    order = data.draw(st.permutations(pending), label="order")
    while order:
        k = data.draw(st.integers(min_value=1, max_value=len(order)), label="batch")
        batch, order = order[:k], order[k:]
        result = graph.invoke(Command(resume={i.id: i.node.upper() for i in batch}), config)
        left = result.get("__interrupt__", [])
        assert [i.id for i in left] == [i.id for i in pending if i not in batch]
        pending = left
    assert result == {"log": [f"{name}:{name.upper()}" for name in names]}
    assert calls == {name: 2 for name in names}
