"""Subgraphs: as a node, called inside a node (sync and async), two levels deep, persistence
modes, Command.PARENT routing, editing a subgraph's state (T53-T58)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, Send, StateGraph, get_stream_writer, interrupt
from streamhil.checkpoint.base import thread_config
from streamhil._ids import interrupt_id

from .helpers import Calls, LogState, thread


def child_graph(calls: Calls, **compile_kwargs: Any) -> Any:
    """sub_pre -> sub_ask (interrupts)."""
    sub = StateGraph(LogState)
    sub.add_node("sub_pre", calls.node("sub_pre"))
    sub.add_node("sub_ask", calls.asking("sub_ask", "sq"))
    sub.add_edge(START, "sub_pre")
    sub.add_edge("sub_pre", "sub_ask")
    return sub.compile(**compile_kwargs)


def parent_graph(calls: Calls) -> Any:
    """T53: parent_pre -> child (a compiled subgraph as a node)."""
    parent = StateGraph(LogState)
    parent.add_node("parent_pre", calls.node("parent_pre"))
    parent.add_node("child", child_graph(calls))
    parent.add_edge(START, "parent_pre")
    parent.add_edge("parent_pre", "child")
    return parent.compile(checkpointer=InMemorySaver())


def test_subgraph_interrupt_streams_at_both_levels() -> None:
    """T53."""
    calls = Calls()
    graph = parent_graph(calls)
    config = thread("sg")
    parts = list(graph.stream({"log": []}, config, subgraphs=True))
    snap = graph.get_state(config)
    [task] = snap.tasks
    child_ns = f"child:{task.id}"
    [intr] = snap.interrupts
    assert parts == [
        ((), {"parent_pre": {"log": ["parent_pre"]}}),
        ((child_ns,), {"sub_pre": {"log": ["sub_pre"]}}),
        ((child_ns,), {"__interrupt__": (intr,)}),
        ((), {"__interrupt__": (intr,)}),
    ]
    assert task.interrupts == (intr,)
    assert intr.node == "sub_ask"
    assert intr.ns.startswith(f"{child_ns}|sub_ask:")
    assert intr.id == interrupt_id(intr.ns, 0)
    assert task.state == {"configurable": {"thread_id": "sg", "checkpoint_ns": child_ns}}
    # Without subgraphs=True, the child's own events are not shown.
    other = thread()
    assert [p for p in graph.stream({"log": []}, other)][-1] == {"__interrupt__": tuple(graph.get_state(other).interrupts)}
    assert len(list(graph.stream({"log": []}, thread()))) == 2


def test_nested_snapshot() -> None:
    """T53: get_state(subgraphs=True) nests the child's snapshot in the task."""
    graph = parent_graph(Calls())
    config = thread("nest")
    graph.invoke({"log": []}, config)
    parent_snap = graph.get_state(config)
    snap = graph.get_state(config, subgraphs=True)
    child = snap.tasks[0].state
    assert child.values == {"log": ["parent_pre", "sub_pre"]}
    assert child.next == ("sub_ask",)
    assert child.interrupts == snap.interrupts
    assert child.config["configurable"]["checkpoint_ns"] == f"child:{snap.tasks[0].id}"
    assert child.metadata["parents"] == {"": parent_snap.config["configurable"]["checkpoint_id"]}
    # The child's snapshot can also be read with its own config.
    direct = graph.get_state(parent_snap.tasks[0].state)
    assert (direct.values, direct.next) == (child.values, child.next)


def test_subgraph_resume() -> None:
    """T54: only the interrupted inner node re-runs; the subgraph's full state is its update,
    so the parent's reducer duplicates the shared prefix (LangGraph does the same, §6 R14)."""
    calls = Calls()
    graph = parent_graph(calls)
    config = thread()
    graph.invoke({"log": []}, config)
    child_ns = f"child:{graph.get_state(config).tasks[0].id}"
    parts = list(graph.stream(Command(resume="ANS"), config, subgraphs=True))
    assert parts == [
        ((child_ns,), {"sub_ask": {"log": ["sub_ask:ANS"]}}),
        ((), {"child": {"log": ["parent_pre", "sub_pre", "sub_ask:ANS"]}}),
    ]
    assert calls == {"parent_pre": 1, "sub_pre": 1, "sub_ask": 2}
    assert graph.get_state(config).values == {"log": ["parent_pre", "parent_pre", "sub_pre", "sub_ask:ANS"]}


@pytest.mark.anyio
async def test_subgraph_resume_async() -> None:
    calls = Calls()
    graph = parent_graph(calls)
    config = thread()
    with anyio.fail_after(5):
        [intr] = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
        result = await graph.ainvoke(Command(resume={intr.id: "A"}), config)
    assert result["log"][-1] == "sub_ask:A"
    assert calls == {"parent_pre": 1, "sub_pre": 1, "sub_ask": 2}


class Outer(TypedDict):
    log: Annotated[list, operator.add]
    extra: str


def test_subgraph_output_is_filtered_to_parent_keys() -> None:
    """Difference 6: a subgraph's keys the parent lacks are dropped silently."""

    class Inner(TypedDict):
        log: Annotated[list, operator.add]
        private: str

    sub = StateGraph(Inner)
    sub.add_node("s", lambda s: {"private": "p", "log": ["s"]})
    sub.add_edge(START, "s")
    parent = StateGraph(Outer)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    assert parent.compile().invoke({"log": [], "extra": "e"}) == {"log": ["s"], "extra": "e"}


def two_level_graph(calls: Calls) -> Any:
    inner = StateGraph(LogState)
    inner.add_node("inner_ask", calls.asking("inner_ask", "deep"))
    inner.add_edge(START, "inner_ask")
    mid = StateGraph(LogState)
    mid.add_node("inner", inner.compile())
    mid.add_edge(START, "inner")
    outer = StateGraph(LogState)
    outer.add_node("mid", mid.compile())
    outer.add_edge(START, "mid")
    return outer.compile(checkpointer=InMemorySaver())


def test_two_levels_of_nesting() -> None:
    """T55: the interrupt is emitted at three levels; its id hashes the full namespace."""
    calls = Calls()
    graph = two_level_graph(calls)
    config = thread()
    parts = [p for p in graph.stream({"log": []}, config, subgraphs=True) if "__interrupt__" in p[1]]
    [intr] = graph.get_state(config).interrupts
    namespaces = [ns for ns, _ in parts]
    assert [len(ns) for ns in namespaces] == [2, 1, 0]
    mid_seg, inner_seg = namespaces[0]
    assert mid_seg.startswith("mid:") and inner_seg.startswith("inner:")
    assert namespaces[1] == (mid_seg,)
    assert all(p[1]["__interrupt__"] == (intr,) for p in parts)
    assert intr.ns.startswith(f"{mid_seg}|{inner_seg}|inner_ask:")
    assert intr.id == interrupt_id(intr.ns, 0)
    nested = graph.get_state(config, subgraphs=True).tasks[0].state.tasks[0].state
    assert nested.next == ("inner_ask",)
    assert graph.invoke(Command(resume="R"), config)["log"][-1] == "inner_ask:R"
    assert calls == {"inner_ask": 2}


def wrapper_graph(calls: Calls, calls_per_node: int = 1) -> Any:
    """T56: a node that calls a compiled subgraph with ``invoke`` (sync node)."""
    sub = child_graph(calls)

    def wrapper(state: LogState) -> dict[str, Any]:
        calls["wrapper"] += 1
        out: list[str] = []
        for _ in range(calls_per_node):
            out += sub.invoke({"log": []})["log"]
        return {"log": out}

    builder = StateGraph(LogState)
    builder.add_node("wrapper", wrapper)
    builder.add_edge(START, "wrapper")
    return builder.compile(checkpointer=InMemorySaver())


def test_subgraph_called_in_a_sync_node() -> None:
    """T56: the calling node re-runs from the top; the subgraph resumes from its checkpoint."""
    calls = Calls()
    graph = wrapper_graph(calls)
    config = thread()
    parts = list(graph.stream({"log": []}, config, subgraphs=True))
    [task] = graph.get_state(config).tasks
    assert parts[0][0] == (f"wrapper:{task.id}",)
    assert parts[-1][0] == ()
    assert graph.invoke(Command(resume="A"), config) == {"log": ["sub_pre", "sub_ask:A"]}
    assert calls == {"wrapper": 2, "sub_pre": 1, "sub_ask": 2}


def test_two_subgraph_calls_in_one_node() -> None:
    """T56: call-order namespaces `wrapper:<tid>` and `wrapper:<tid>|1`; one resume per interrupt."""
    calls = Calls()
    graph = wrapper_graph(calls, calls_per_node=2)
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    [task] = graph.get_state(config).tasks
    assert first.ns.startswith(f"wrapper:{task.id}|sub_ask:")
    [second] = graph.invoke(Command(resume="A1"), config)["__interrupt__"]
    assert second.ns.startswith(f"wrapper:{task.id}|1|sub_ask:")
    assert second.id != first.id
    assert graph.invoke(Command(resume="A2"), config) == {"log": ["sub_pre", "sub_ask:A1", "sub_pre", "sub_ask:A2"]}
    assert calls["wrapper"] == 3 and calls["sub_pre"] == 2


@pytest.mark.anyio
async def test_subgraph_called_in_an_async_node() -> None:
    calls = Calls()
    sub = child_graph(calls)

    async def wrapper(state: LogState) -> dict[str, Any]:
        calls["wrapper"] += 1
        return {"log": (await sub.ainvoke({"log": ["w"]}))["log"]}

    builder = StateGraph(LogState)
    builder.add_node("wrapper", wrapper)
    builder.add_edge(START, "wrapper")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        result = await graph.ainvoke({"log": []}, config)
        assert [i.value for i in result["__interrupt__"]] == ["sq"]
        assert await graph.ainvoke(Command(resume="B"), config) == {"log": ["w", "sub_pre", "sub_ask:B"]}
    assert calls == {"wrapper": 2, "sub_pre": 1, "sub_ask": 2}


class Hist(TypedDict):
    hist: Annotated[list, operator.add]
    seen: Annotated[list, operator.add]


@pytest.mark.parametrize("mode", [None, True, False], ids=["inherit", "persist", "none"])
def test_subgraph_persistence_modes(mode: Any) -> None:
    """T57: None = fresh per parent task; True = persists across parent runs under the node's
    name; False = never checkpointed."""
    sub = StateGraph(Hist)
    sub.add_node("s", lambda s: {"hist": [len(s["hist"])]})
    sub.add_edge(START, "s")
    child = sub.compile(checkpointer=mode)

    def call(state: Hist) -> dict[str, Any]:
        out = child.invoke({"hist": []})
        return {"seen": [f"sub saw hist={out['hist'][:-1]}"]}

    builder = StateGraph(Hist)
    builder.add_node("call", call)
    builder.add_edge(START, "call")
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    config = thread()
    graph.invoke({"hist": [], "seen": []}, config)
    result = graph.invoke({"hist": []}, config)
    expected = {None: "sub saw hist=[]", True: "sub saw hist=[0]", False: "sub saw hist=[]"}[mode]
    assert result["seen"] == ["sub saw hist=[]", expected]
    thread_id = config["configurable"]["thread_id"]
    task_ids = [s.tasks[0].id for s in graph.get_state_history(config) if s.next == ("call",)]
    assert len(task_ids) == 2

    async def saved(ns: str) -> bool:
        return await saver.aget_tuple(thread_config(thread_id, ns)) is not None

    per_task = [anyio.run(saved, f"call:{tid}") for tid in task_ids]
    stable = anyio.run(saved, "call")
    assert (per_task, stable) == {None: ([True, True], False), True: ([False, False], True), False: ([False, False], False)}[mode]


def test_false_checkpointer_subgraph_still_resumes_a_simple_interrupt() -> None:
    """T57: with checkpointer=False a single-node interrupt still resumes correctly."""
    calls = Calls()
    sub = StateGraph(LogState)
    sub.add_node("sub_ask", calls.asking("sub_ask", "q"))
    sub.add_edge(START, "sub_ask")
    parent = StateGraph(LogState)
    parent.add_node("child", sub.compile(checkpointer=False))
    parent.add_edge(START, "child")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    assert graph.invoke(Command(resume="ok"), config) == {"log": ["sub_ask:ok"]}


def test_editing_subgraph_state_while_interrupted() -> None:
    """T58: update_state on the child's config; the resumed inner node sees the edit."""

    class Note(TypedDict):
        log: Annotated[list, operator.add]
        note: str

    def sub_ask(state: Note) -> dict[str, Any]:
        answer = interrupt("q")
        return {"log": [f"{state.get('note')}:{answer}"]}

    sub = StateGraph(Note)
    sub.add_node("sub_ask", sub_ask)
    sub.add_edge(START, "sub_ask")
    parent = StateGraph(Note)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": [], "note": "orig"}, config)
    child_config = graph.get_state(config).tasks[0].state
    new_config = graph.update_state(child_config, {"note": "edited-in-sub"})
    assert new_config["configurable"]["checkpoint_ns"] == child_config["configurable"]["checkpoint_ns"]
    assert graph.get_state(child_config).values["note"] == "edited-in-sub"
    result = graph.invoke(Command(resume="A"), config)
    assert result["log"] == ["edited-in-sub:A"]


def test_subgraph_events_need_subgraphs_true() -> None:
    """§2.8: a child's custom events reach the parent stream only with subgraphs=True, tagged
    with the child's namespace; with a list of modes the parts are (ns, mode, payload)."""

    def shout(state: LogState) -> dict[str, Any]:
        get_stream_writer()({"from": "child"})
        return {"log": ["shout"]}

    sub = StateGraph(LogState)
    sub.add_node("shout", shout)
    sub.add_edge(START, "shout")
    parent = StateGraph(LogState)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    graph = parent.compile(checkpointer=InMemorySaver())
    assert list(graph.stream({"log": []}, thread(), stream_mode="custom")) == []
    parts = list(graph.stream({"log": []}, thread(), stream_mode=["custom", "updates"], subgraphs=True))
    assert [(len(ns), mode) for ns, mode, _ in parts] == [(1, "custom"), (1, "updates"), (0, "updates")]
    (child_ns,), _, payload = parts[0]
    assert child_ns.startswith("child:") and payload == {"from": "child"}
    assert parts[1][1:] == ("updates", {"shout": {"log": ["shout"]}})
    assert parts[2] == ((), "updates", {"child": {"log": ["shout"]}})


def test_parallel_subgraph_interrupts_from_sends() -> None:
    """Three Send tasks into a subgraph node each interrupt; answering one re-runs only it."""
    calls = Calls()
    sub = StateGraph(LogState)
    sub.add_node("q", calls.asking("q"))
    sub.add_edge(START, "q")
    builder = StateGraph(LogState)
    builder.add_node("fan", lambda s: None)
    builder.add_node("child", sub.compile())
    builder.add_edge(START, "fan")
    builder.add_conditional_edges("fan", lambda s: [Send("child", {"log": [str(i)]}) for i in range(3)])
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    first = graph.invoke({"log": []}, config)["__interrupt__"]
    assert len({i.ns.split("|")[0] for i in first}) == 3
    result = graph.invoke(Command(resume={first[1].id: "B"}), config)
    assert result["__interrupt__"] == [first[0], first[2]]
    assert calls["q"] == 4
    result = graph.invoke(Command(resume={i.id: "X" for i in result["__interrupt__"]}), config)
    assert result == {"log": ["0", "q:X", "1", "q:B", "2", "q:X"]}
    assert calls["q"] == 6


def test_breakpoint_compiled_into_a_subgraph_pauses_the_parent() -> None:
    """Seed 002: "When using sub-graphs, specify the interrupt_before and interrupt_after values
    when compiling the subgraph." Checked on LangGraph 1.2.22: the parent stops with the child
    next and no payload; invoke(None) continues inside the child, then the parent."""
    calls = Calls()
    sub = StateGraph(LogState)
    sub.add_node("s1", calls.node("s1"))
    sub.add_node("s2", calls.node("s2"))
    sub.add_edge(START, "s1")
    sub.add_edge("s1", "s2")
    parent = StateGraph(LogState)
    parent.add_node("child", sub.compile(interrupt_before=["s2"]))
    parent.add_node("after", calls.node("after"))
    parent.add_edge(START, "child")
    parent.add_edge("child", "after")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": []}
    snap = graph.get_state(config)
    assert (snap.next, snap.interrupts) == (("child",), ())
    assert calls == {"s1": 1}
    assert list(graph.stream({"log": []}, thread()))[-1] == {"__interrupt__": ()}
    assert graph.invoke(None, config) == {"log": ["s1", "s2", "after"]}
    assert calls == {"s1": 2, "s2": 1, "after": 1}  # s1 also ran once on the streamed second thread


def test_parallel_interrupts_inside_a_subgraph_and_beside_it() -> None:
    """A child with two parallel askers next to a root asker: one map can answer a child's
    question and the root's together; the child's other question stays pending with its id."""
    calls = Calls()
    sub = StateGraph(LogState)
    for name in ("x", "y"):
        sub.add_node(name, calls.asking(name))
        sub.add_edge(START, name)
    parent = StateGraph(LogState)
    parent.add_node("child", sub.compile())
    parent.add_node("root_ask", calls.asking("root_ask"))
    parent.add_edge(START, "child")
    parent.add_edge(START, "root_ask")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    by_value = {i.value: i for i in graph.invoke({"log": []}, config)["__interrupt__"]}
    assert list(by_value) == ["qx", "qy", "qroot_ask"]
    result = graph.invoke(Command(resume={by_value["qx"].id: "X", by_value["qroot_ask"].id: "R"}), config)
    assert result == {"log": ["root_ask:R"], "__interrupt__": [by_value["qy"]]}
    assert calls == {"x": 2, "y": 1, "root_ask": 2}
    assert graph.invoke(Command(resume="Y"), config) == {"log": ["x:X", "y:Y", "root_ask:R"]}
    assert calls == {"x": 2, "y": 2, "root_ask": 2}


def test_two_questions_in_one_subgraph_node() -> None:
    calls = Calls()

    def multi(state: LogState) -> dict[str, Any]:
        calls["multi"] += 1
        return {"log": [interrupt("q1") + interrupt("q2")]}

    sub = StateGraph(LogState)
    sub.add_node("multi", multi)
    sub.add_edge(START, "multi")
    parent = StateGraph(LogState)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    [second] = graph.invoke(Command(resume="A"), config)["__interrupt__"]
    assert (first.index, second.index) == (0, 1) and first.ns == second.ns
    assert second.id == interrupt_id(second.ns, 1)
    assert graph.invoke(Command(resume={second.id: "B"}), config) == {"log": ["AB"]}
    assert calls["multi"] == 3


def test_update_state_of_the_parent_while_a_subgraph_waits() -> None:
    """T40 for subgraphs, streamhil's way: editing the parent keeps the subgraph's question
    pending under its id (LangGraph drops it and asks again with a new id)."""
    calls = Calls()
    sub = StateGraph(LogState)
    sub.add_node("sq", calls.asking("sq"))
    sub.add_edge(START, "sq")
    parent = StateGraph(LogState)
    parent.add_node("pre", calls.node("pre"))
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "pre")
    parent.add_edge("pre", "child")
    graph = parent.compile(checkpointer=InMemorySaver())
    config = thread()
    [old] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.update_state(config, {"log": ["note"]}, as_node="pre")
    snap = graph.get_state(config)
    assert (snap.next, snap.interrupts) == (("child",), (old,))
    [again] = graph.invoke(None, config)["__interrupt__"]
    assert again == old
    result = graph.invoke(Command(resume={old.id: "Z"}), config)
    assert calls == {"pre": 1, "sq": 2}
    assert result["log"][-1] == "sq:Z" and result["log"][:2] == ["pre", "note"]
