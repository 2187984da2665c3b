"""Dynamic interrupts: result shapes, snapshots, resume, ids, several interrupts in one node
(LangGraph acceptance cases T1-T17, T62-T64, adapted where streamhil deliberately differs)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, Interrupt, StateGraph, interrupt
from streamhil.errors import (
    AlreadyAnsweredError,
    CheckpointError,
    ConfigError,
    EmptyInputError,
    GraphInterrupt,
    NothingPendingError,
    ResumeError,
    UnknownInterruptError,
)
from streamhil._ids import interrupt_id

from .helpers import Calls, LogState, thread


class AskState(TypedDict):
    x: str
    answer: str


def ask_graph(calls: Calls, checkpointer: Any = None) -> Any:
    """T1's graph: ``pre`` adds "!" to x, then ``ask`` interrupts and stores the answer."""

    def pre(state: AskState) -> dict[str, Any]:
        calls["pre"] += 1
        return {"x": state["x"] + "!"}

    def ask(state: AskState) -> dict[str, Any]:
        calls["ask"] += 1
        answer = interrupt({"question": "name?", "x": state["x"]})
        return {"answer": answer}

    builder = StateGraph(AskState)
    builder.add_node("pre", pre)
    builder.add_node("ask", ask)
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


# -- T1-T4: one interrupt -------------------------------------------------------------------------


def test_interrupt_result_shape() -> None:
    """T1: the state so far plus an ``__interrupt__`` list whose Interrupt says where it came from."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    result = graph.invoke({"x": "hi"}, config)
    assert set(result) == {"x", "__interrupt__"}
    assert result["x"] == "hi!"
    assert isinstance(result["__interrupt__"], list)
    [intr] = result["__interrupt__"]
    assert isinstance(intr, Interrupt)
    assert intr.value == {"question": "name?", "x": "hi!"}
    [task] = graph.get_state(config).tasks
    # streamhil's Interrupt also carries node, task id, namespace and position (difference 1).
    assert (intr.node, intr.task_id, intr.ns, intr.index) == ("ask", task.id, f"ask:{task.id}", 0)
    assert intr.id == interrupt_id(f"ask:{task.id}", 0)
    assert len(intr.id) == 32 and int(intr.id, 16) >= 0
    assert repr(intr) == f"Interrupt(value={intr.value!r}, id={intr.id!r}, response_schema=None)"
    assert calls == {"pre": 1, "ask": 1}


def test_snapshot_while_interrupted() -> None:
    """T2: the live snapshot at an interrupt."""
    graph = ask_graph(Calls())
    config = thread("t2")
    result = graph.invoke({"x": "hi"}, config)
    [intr] = result["__interrupt__"]
    snap = graph.get_state(config)
    assert snap.values == {"x": "hi!"}
    assert snap.next == ("ask",)
    [task] = snap.tasks
    assert task.name == "ask"
    assert task.path == ("__pregel_pull", "ask")
    assert task.error is None and task.state is None and task.result is None
    assert task.interrupts == (intr,)
    assert snap.interrupts == (intr,)
    assert snap.metadata == {"source": "loop", "step": 1, "parents": {}}
    configurable = snap.config["configurable"]
    assert set(configurable) == {"thread_id", "checkpoint_ns", "checkpoint_id"}
    assert configurable["thread_id"] == "t2" and configurable["checkpoint_ns"] == ""
    steps = {s.config["configurable"]["checkpoint_id"]: s.metadata["step"] for s in graph.get_state_history(config)}
    assert steps[snap.parent_config["configurable"]["checkpoint_id"]] == 0
    assert isinstance(snap.created_at, str) and snap.created_at.endswith("+00:00")


def test_resume_reruns_node_from_the_top() -> None:
    """T3: the node runs again from its first line; the earlier node does not."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    graph.invoke({"x": "hi"}, config)
    assert graph.invoke(Command(resume="Bob"), config) == {"x": "hi!", "answer": "Bob"}
    assert calls == {"pre": 1, "ask": 2}
    snap = graph.get_state(config)
    assert (snap.next, snap.tasks, snap.interrupts) == ((), (), ())
    assert snap.metadata["step"] == 2


def test_history_after_interrupt_and_resume() -> None:
    """T4: record snapshots, newest first; the interrupted step keeps its (answered) interrupt."""
    graph = ask_graph(Calls())
    config = thread()
    [intr] = graph.invoke({"x": "hi"}, config)["__interrupt__"]
    graph.invoke(Command(resume="Bob"), config)
    rows = [
        (
            s.metadata["source"],
            s.metadata["step"],
            s.next,
            s.values,
            [(t.name, t.interrupts, t.result) for t in s.tasks],
        )
        for s in graph.get_state_history(config)
    ]
    assert rows == [
        ("loop", 2, (), {"x": "hi!", "answer": "Bob"}, []),
        ("loop", 1, ("ask",), {"x": "hi!"}, [("ask", (intr,), {"answer": "Bob"})]),
        ("loop", 0, ("pre",), {"x": "hi"}, [("pre", (), {"x": "hi!"})]),
        ("input", -1, ("__start__",), {}, [("__start__", (), {"x": "hi"})]),
    ]


@pytest.mark.anyio
async def test_interrupt_and_resume_async() -> None:
    """T1-T3 through ainvoke / aget_state, on both backends."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    result = await graph.ainvoke({"x": "hi"}, config)
    [intr] = result["__interrupt__"]
    snap = await graph.aget_state(config)
    assert snap.next == ("ask",) and snap.interrupts == (intr,)
    assert await graph.ainvoke(Command(resume="Ann"), config) == {"x": "hi!", "answer": "Ann"}
    assert calls == {"pre": 1, "ask": 2}
    assert (await graph.aget_state(config)).next == ()
    steps = [s.metadata["step"] async for s in graph.aget_state_history(config)]
    assert steps == [2, 1, 0, -1]


# -- T6-T11: edge conditions of resume -------------------------------------------------------------


def test_resume_on_finished_thread_is_refused_and_saves_nothing() -> None:
    """T6, strict resume (difference 3): LangGraph accepts it and leaves a stray write; we refuse."""
    calls = Calls()
    saver = InMemorySaver()
    graph = ask_graph(calls, saver)
    config = thread()
    graph.invoke({"x": "hi"}, config)
    graph.invoke(Command(resume="Bob"), config)
    before = list(graph.get_state_history(config))
    with pytest.raises(NothingPendingError) as info:
        graph.invoke(Command(resume="again"), config)
    assert isinstance(info.value, ResumeError) and isinstance(info.value, ValueError)
    assert list(graph.get_state_history(config)) == before
    assert calls == {"pre": 1, "ask": 2}


@pytest.mark.anyio
async def test_resume_saves_no_write_when_refused() -> None:
    """T6: the head checkpoint has no pending write after a refused resume."""
    saver = InMemorySaver()
    graph = ask_graph(Calls(), saver)
    config = thread()
    await graph.ainvoke({"x": "hi"}, config)
    await graph.ainvoke(Command(resume="Bob"), config)
    head = await saver.aget_tuple(config)
    with pytest.raises(NothingPendingError):
        await graph.ainvoke(Command(resume="again"), config)
    assert (await saver.aget_tuple(config)).pending_writes == head.pending_writes


def test_resume_on_new_thread_is_refused() -> None:
    """Strict resume (difference 3): a Command(resume) to a thread with no checkpoint."""
    calls = Calls()
    graph = ask_graph(calls)
    with pytest.raises(NothingPendingError):
        graph.invoke(Command(resume="x"), thread())
    assert calls == {}


def test_invoke_none_on_finished_thread_runs_nothing() -> None:
    """T7."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    graph.invoke({"x": "hi"}, config)
    graph.invoke(Command(resume="Bob"), config)
    steps = len(list(graph.get_state_history(config)))
    assert graph.invoke(None, config) == {"x": "hi!", "answer": "Bob"}
    assert calls == {"pre": 1, "ask": 2}
    assert len(list(graph.get_state_history(config))) == steps


def test_invoke_none_on_new_thread() -> None:
    """T8: LangGraph's EmptyInputError (a ValueError)."""
    with pytest.raises(EmptyInputError, match="no input") as info:
        ask_graph(Calls()).invoke(None, thread())
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("command", [Command(), Command(resume=None)], ids=["empty", "resume-none"])
def test_empty_command(command: Command) -> None:
    """T9: LangGraph crashes with UnboundLocalError; we raise EmptyInputError and save nothing."""
    graph = ask_graph(Calls())
    config = thread()
    graph.invoke({"x": "hi"}, config)
    before = list(graph.get_state_history(config))
    with pytest.raises(EmptyInputError):
        graph.invoke(command, config)
    assert list(graph.get_state_history(config)) == before
    assert graph.get_state(config).next == ("ask",)


@pytest.mark.parametrize("config", [None, {}, {"configurable": {}}], ids=["none", "empty", "no-thread"])
def test_missing_thread_id(config: Any) -> None:
    """T10 / difference 12: ConfigError (a ValueError) with LangGraph's message text."""
    graph = ask_graph(Calls())
    with pytest.raises(ConfigError) as info:
        graph.invoke({"x": "hi"}, config)
    assert isinstance(info.value, ValueError)
    assert "Checkpointer requires one or more of the following 'configurable' keys: thread_id, checkpoint_ns, checkpoint_id" in str(info.value)


@pytest.mark.parametrize("value", [0, "", False, [], {}], ids=repr)
def test_falsy_resume_values_are_delivered(value: Any) -> None:
    """T11: every value but None is an answer. (An empty dict is an answer too, not a map.)"""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("ask", lambda s: {"log": [repr(interrupt("q"))]})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    if value == {}:
        # LangGraph treats {} as an (empty) id map; strict resume refuses it (difference 3).
        with pytest.raises(UnknownInterruptError):
            graph.invoke(Command(resume=value), config)
        return
    assert graph.invoke(Command(resume=value), config) == {"log": [repr(value)]}
    assert calls == {}


# -- T12-T17: several interrupts, matching, ids ----------------------------------------------------


def two_question_graph(calls: Calls) -> Any:
    def multi(state: LogState) -> dict[str, Any]:
        calls["multi"] += 1
        a = interrupt("q1")
        b = interrupt("q2")
        return {"log": [f"{a}+{b}"]}

    builder = StateGraph(LogState)
    builder.add_node("multi", multi)
    builder.add_edge(START, "multi")
    return builder.compile(checkpointer=InMemorySaver())


def test_two_interrupts_in_one_node() -> None:
    """T12: answered one at a time; ids are interrupt_id(ns, 0) then interrupt_id(ns, 1)."""
    calls = Calls()
    graph = two_question_graph(calls)
    config = thread()
    [q1] = graph.invoke({"log": []}, config)["__interrupt__"]
    [task] = graph.get_state(config).tasks
    ns = f"multi:{task.id}"
    assert (q1.value, q1.id, q1.index) == ("q1", interrupt_id(ns, 0), 0)
    [q2] = graph.invoke(Command(resume="A"), config)["__interrupt__"]
    assert (q2.value, q2.id, q2.index, q2.task_id) == ("q2", interrupt_id(ns, 1), 1, task.id)
    assert graph.invoke(Command(resume="B"), config) == {"log": ["A+B"]}
    assert calls["multi"] == 3


def test_map_keyed_by_an_answered_id_is_refused() -> None:
    """T13: LangGraph's legacy fallback lets the first id answer the next question ("A+STALE").
    Strict resume refuses an already-answered id (difference 3) and saves nothing."""
    calls = Calls()
    graph = two_question_graph(calls)
    config = thread()
    [q1] = graph.invoke({"log": []}, config)["__interrupt__"]
    [q2] = graph.invoke(Command(resume="A"), config)["__interrupt__"]
    with pytest.raises(AlreadyAnsweredError) as info:
        graph.invoke(Command(resume={q1.id: "STALE"}), config)
    assert isinstance(info.value, UnknownInterruptError)
    assert q1.id in info.value.unknown_ids
    assert graph.get_state(config).interrupts == (q2,)
    assert calls["multi"] == 2
    assert graph.invoke(Command(resume={q2.id: "B"}), config) == {"log": ["A+B"]}


def test_loop_across_steps_gives_distinct_ids() -> None:
    """T15: one interrupt per iteration of a self-loop; each iteration's id is new."""

    class LoopState(TypedDict):
        n: int
        log: Annotated[list, operator.add]

    def step(state: LoopState) -> dict[str, Any]:
        value = interrupt(f"iteration {state['n']}")
        return {"n": state["n"] + 1, "log": [value]}

    builder = StateGraph(LoopState)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: "step" if s["n"] < 3 else END, ["step", END])
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    ids = []
    result = graph.invoke({"n": 0, "log": []}, config)
    for answer in ("v1", "v2", "v3"):
        [intr] = result["__interrupt__"]
        ids.append(intr.id)
        result = graph.invoke(Command(resume=answer), config)
    assert result == {"n": 3, "log": ["v1", "v2", "v3"]}
    assert len(set(ids)) == 3


def test_ids_are_stable_across_reruns_from_the_same_checkpoint() -> None:
    """T16 / difference 2: invoke(None) with only unanswered interrupts runs nothing and returns
    the same pending interrupts; the old id still answers."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    [first] = graph.invoke({"x": "hi"}, config)["__interrupt__"]
    history_len = len(list(graph.get_state_history(config)))
    again = graph.invoke(None, config)
    assert again == {"x": "hi!", "__interrupt__": [first]}
    assert graph.invoke(None, config)["__interrupt__"][0].id == first.id
    assert calls == {"pre": 1, "ask": 1}
    assert len(list(graph.get_state_history(config))) == history_len
    assert graph.invoke(Command(resume={first.id: "ok"}), config) == {"x": "hi!", "answer": "ok"}


def test_dict_resume_that_is_not_a_map() -> None:
    """T17: a dict whose keys are not interrupt ids is one answer; an id map delivers its value."""
    builder = StateGraph(LogState)
    builder.add_node("ask", lambda s: {"log": [repr(interrupt("approve?"))]})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    plain = thread()
    graph.invoke({"log": []}, plain)
    assert graph.invoke(Command(resume={"approved": True}), plain) == {"log": ["{'approved': True}"]}
    keyed = thread()
    [intr] = graph.invoke({"log": []}, keyed)["__interrupt__"]
    assert graph.invoke(Command(resume={intr.id: {"approved": True}}), keyed) == {"log": ["{'approved': True}"]}


def test_unknown_and_empty_maps_are_refused() -> None:
    """T17/T21, strict resume (difference 3): LangGraph silently re-runs; we raise and save nothing."""
    calls = Calls()
    graph = ask_graph(calls)
    config = thread()
    [intr] = graph.invoke({"x": "hi"}, config)["__interrupt__"]
    with pytest.raises(UnknownInterruptError) as info:
        graph.invoke(Command(resume={"0" * 32: "U"}), config)
    assert info.value.unknown_ids == ("0" * 32,)
    assert info.value.pending_ids == (intr.id,)
    with pytest.raises(UnknownInterruptError):
        graph.invoke(Command(resume={}), config)
    assert calls == {"pre": 1, "ask": 1}
    assert graph.get_state(config).interrupts == (intr,)
    assert graph.invoke(Command(resume="Bob"), config)["answer"] == "Bob"


# -- T62-T64: where interrupt() works ----------------------------------------------------------------


def test_interrupt_without_checkpointer() -> None:
    """T62: the first run returns the interrupt; a resume cannot work and says why (a
    RuntimeError, as in LangGraph, and a CheckpointError)."""
    builder = StateGraph(LogState)
    builder.add_node("ask", lambda s: {"log": [interrupt("q")]})
    builder.add_edge(START, "ask")
    graph = builder.compile()
    result = graph.invoke({"log": []})
    assert result["log"] == []
    assert [i.value for i in result["__interrupt__"]] == ["q"]
    with pytest.raises(CheckpointError, match=r"Cannot use Command\(resume=\.\.\.\) without") as info:
        graph.invoke(Command(resume="a"))
    assert isinstance(info.value, RuntimeError)


def test_interrupt_outside_a_node() -> None:
    """T63."""
    with pytest.raises(RuntimeError, match="outside"):
        interrupt("q")


def test_except_exception_does_not_swallow_interrupt() -> None:
    """T64 / difference 5: GraphInterrupt is a BaseException, so the node still pauses."""
    assert not issubclass(GraphInterrupt, Exception)
    seen: list[str] = []

    def careless(state: LogState) -> dict[str, Any]:
        try:
            answer = interrupt("q")
        except Exception as exc:  # the mistake the LangGraph docs warn about
            seen.append(type(exc).__name__)
            return {"log": ["swallowed"]}
        return {"log": [f"answer:{answer}"]}

    builder = StateGraph(LogState)
    builder.add_node("careless", careless)
    builder.add_edge(START, "careless")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    result = graph.invoke({"log": []}, config)
    assert result["log"] == [] and len(result["__interrupt__"]) == 1
    assert graph.invoke(Command(resume="yes"), config) == {"log": ["answer:yes"]}
    assert seen == []


def test_new_input_while_interrupted_starts_over() -> None:
    """New input on an interrupted thread drops the pending step and runs from START again
    (the state keeps what it had, reducers add the new input)."""
    from .helpers import chain

    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [old] = graph.invoke({"log": []}, config)["__interrupt__"]
    result = graph.invoke({"log": ["again"]}, config)
    [new] = result["__interrupt__"]
    assert result["log"] == ["a", "again", "a"]
    assert new.id != old.id
    assert graph.get_state(config).interrupts == (new,)
    with pytest.raises(UnknownInterruptError):
        graph.invoke(Command(resume={old.id: "late"}), config)
    assert graph.invoke(Command(resume="now"), config)["log"] == ["a", "again", "a", "ask:now", "b"]
    assert calls == {"a": 2, "ask": 3, "b": 1}


def test_unknown_thread_snapshot_is_empty() -> None:
    graph = ask_graph(Calls())
    config = {"configurable": {"thread_id": "nobody"}}
    snap = graph.get_state(config)
    assert snap == (({}, (), config, None, None, None, (), ()))
    assert list(graph.get_state_history(config)) == []
