"""update_state: at a breakpoint, as_node, END, __copy__, __input__, fresh threads, while
interrupted, errors (T36-T42, difference 6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhil import END, START, Command, InMemorySaver, StateGraph
from streamhil.errors import InvalidUpdateError

from .helpers import Calls, LogState, chain, thread


def test_update_state_at_a_breakpoint() -> None:
    """T36."""
    graph = chain(["a", "b", "c"], Calls(), interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": []}, config)
    before = graph.get_state(config).config["configurable"]["checkpoint_id"]
    new_config = graph.update_state(config, {"log": ["human"]})
    assert new_config["configurable"]["checkpoint_id"] != before
    assert new_config["configurable"]["thread_id"] == config["configurable"]["thread_id"]
    snap = graph.get_state(config)
    assert snap.config["configurable"]["checkpoint_id"] == new_config["configurable"]["checkpoint_id"]
    assert snap.values == {"log": ["a", "human"]}
    assert snap.next == ("b",)
    assert snap.metadata == {"source": "update", "step": 2, "parents": {}}
    assert graph.invoke(None, config) == {"log": ["a", "human", "b", "c"]}


def test_as_node_skips_a_node() -> None:
    """T37: writing as `b` marks b done, so c is next."""
    calls = Calls()
    graph = chain(["a", "b", "c"], calls, interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": []}, config)
    graph.update_state(config, {"log": ["fake-b"]}, as_node="b")
    assert graph.get_state(config).next == ("c",)
    assert graph.invoke(None, config) == {"log": ["a", "fake-b", "c"]}
    assert calls["b"] == 0

    other = thread()
    graph.invoke({"log": []}, other)
    graph.update_state(other, None, as_node="b")
    assert graph.invoke(None, other) == {"log": ["a", "c"]}


def test_update_state_errors() -> None:
    """T38 and difference 6: unknown node, ambiguous as_node, unknown state key."""
    calls = Calls()
    graph = chain(["a", "b"], calls, interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": []}, config)
    with pytest.raises(InvalidUpdateError, match="Node nope does not exist"):
        graph.update_state(config, {"log": ["x"]}, as_node="nope")
    with pytest.raises(InvalidUpdateError, match="'bogus'"):
        graph.update_state(config, {"bogus": 1})

    builder = StateGraph(LogState)
    for name in ("p", "q", "r"):
        builder.add_node(name, calls.node(name))
    builder.add_edge(START, "p")
    builder.add_edge(START, "q")
    builder.add_edge(["p", "q"], "r")
    parallel = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["r"])
    pconfig = thread()
    parallel.invoke({"log": []}, pconfig)
    with pytest.raises(InvalidUpdateError, match="Ambiguous update, specify as_node"):
        parallel.update_state(pconfig, {"log": ["x"]})
    parallel.update_state(pconfig, {"log": ["x"]}, as_node="q")


def test_update_state_on_a_fresh_thread() -> None:
    """T39: an update on a new thread acts as START; `__input__` saves it as graph input."""
    graph = chain(["a", "b"], Calls())
    config = thread()
    graph.update_state(config, {"log": ["seed"]})
    snap = graph.get_state(config)
    assert snap.values == {"log": ["seed"]}
    assert snap.next == ("a",)
    assert (snap.metadata["source"], snap.metadata["step"]) == ("update", 0)
    assert graph.invoke(None, config) == {"log": ["seed", "a", "b"]}

    fresh = thread()
    graph.update_state(fresh, {"log": ["seed"]}, as_node="__input__")
    snap = graph.get_state(fresh)
    assert (snap.metadata["source"], snap.metadata["step"]) == ("input", -1)
    assert snap.next == ("__start__",)
    assert snap.values == {"log": []}
    assert graph.invoke(None, fresh) == {"log": ["seed", "a", "b"]}


def test_update_state_while_interrupted() -> None:
    """T40, streamhil's way: the question stays pending under its id; a plain run asks again
    (the node sees the edit) with the same id, and the answer resumes it."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.update_state(config, {"log": ["note"]}, as_node="a")
    snap = graph.get_state(config)
    assert snap.next == ("ask",) and snap.interrupts == (first,)
    assert [t.interrupts for t in snap.tasks] == [(first,)]
    assert snap.metadata["source"] == "update"
    [second] = graph.invoke(None, config)["__interrupt__"]
    assert second == first
    assert calls["ask"] == 2
    assert graph.invoke(None, config)["__interrupt__"] == [first]
    assert calls["ask"] == 2  # asked about the current state already: parked
    assert graph.invoke(Command(resume="R"), config) == {"log": ["a", "note", "ask:R", "b"]}


@pytest.mark.parametrize("by", ["value", "id map"])
def test_update_state_then_resume_answers_the_pending_question(by: str) -> None:
    """The review-UI flow: edit the state, then answer; the node re-runs on the edited state."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.update_state(config, {"log": ["note"]})
    resume = "R" if by == "value" else {first.id: "R"}
    assert graph.invoke(Command(resume=resume), config) == {"log": ["a", "note", "ask:R", "b"]}
    assert calls == {"a": 1, "ask": 2, "b": 1}
    assert graph.get_state(config).interrupts == ()


def test_update_state_twice_then_resume_keeps_the_id() -> None:
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.update_state(config, {"log": ["x"]})
    graph.update_state(config, {"log": ["y"]})
    snap = graph.get_state(config)
    assert snap.interrupts == (first,) and snap.next == ("ask",)
    assert graph.invoke(Command(resume={first.id: "R"}), config) == {"log": ["a", "x", "y", "ask:R", "b"]}


def test_update_state_with_parallel_interrupts_keeps_both_and_finished_siblings() -> None:
    """Two questions and a finished sibling: an edit keeps both questions (same ids), the
    sibling does not run again, and each question is answered on its own."""
    calls = Calls()
    builder = StateGraph(LogState)
    for name in ("p", "q"):
        builder.add_node(name, calls.asking(name))
    builder.add_node("ok", calls.node("ok"))
    builder.add_node("join", calls.node("join"))
    for name in ("p", "q", "ok"):
        builder.add_edge(START, name)
    builder.add_edge(["p", "q", "ok"], "join")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    asked = graph.invoke({"log": []}, config)["__interrupt__"]
    assert len(asked) == 2
    p_id, q_id = (i.id for i in sorted(asked, key=lambda i: i.node))
    graph.invoke(Command(resume={p_id: "P"}), config)
    graph.update_state(config, {"log": ["edit"]}, as_node=START)
    snap = graph.get_state(config)
    assert [i.id for i in snap.interrupts] == [q_id]
    assert snap.values == {"log": ["edit", "ok", "p:P"]}
    result = graph.invoke(Command(resume={q_id: "Q"}), config)
    assert result == {"log": ["edit", "ok", "p:P", "q:Q", "join"]}
    assert calls == {"p": 2, "q": 2, "ok": 1, "join": 1}


def test_update_state_as_one_of_two_interrupted_nodes_ends_the_step_for_both() -> None:
    """As LangGraph: an update as ``p`` is a step in which only ``p`` ran; ``q``'s edge trigger
    does not outlive it, so ``q``'s question goes with the old step (nothing follows ``p``)."""
    calls = Calls()
    builder = StateGraph(LogState)
    for name in ("p", "q"):
        builder.add_node(name, calls.asking(name))
        builder.add_edge(START, name)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    graph.update_state(config, {"log": ["p:manual"]}, as_node="p")
    snap = graph.get_state(config)
    assert (snap.next, snap.interrupts, snap.tasks) == ((), (), ())
    assert graph.invoke(None, config) == {"log": ["p:manual"]}
    assert calls == {"p": 1, "q": 1}


def test_replaying_an_edited_checkpoint_asks_again_with_a_new_id() -> None:
    """A checkpoint written by update_state keeps the task's id; replaying it later is a fork
    with fresh ids, as any replay."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    edited = graph.update_state(config, {"log": ["note"]})
    graph.invoke(Command(resume="R"), config)
    [again] = graph.invoke(None, edited)["__interrupt__"]
    assert again.value == first.value and again.id != first.id


def test_update_state_as_the_interrupted_node_skips_the_human() -> None:
    """T40: writing as `ask` answers for it."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    graph.invoke({"log": []}, config)
    graph.update_state(config, {"log": ["ask:manual"]}, as_node="ask")
    assert graph.get_state(config).next == ("b",)
    assert graph.invoke(None, config) == {"log": ["a", "ask:manual", "b"]}
    assert calls["ask"] == 1


def test_update_state_as_end() -> None:
    """T41: END with None finishes the step: no interrupt, finished work kept and its edges followed."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("ask", calls.asking("ask"))
    builder.add_node("ok", calls.node("ok"))
    builder.add_node("after", calls.node("after"))
    builder.add_edge(START, "ask")
    builder.add_edge(START, "ok")
    builder.add_edge("ok", "after")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    graph.update_state(config, None, as_node=END)
    snap = graph.get_state(config)
    assert snap.next == ("after",) and snap.interrupts == ()  # ok's edge, as in LangGraph
    assert snap.values == {"log": ["ok"]}
    assert graph.invoke(None, config) == {"log": ["ok", "after"]}
    assert calls == {"ask": 1, "ok": 1, "after": 1}


def test_update_state_copy() -> None:
    """T42: `__copy__` writes a sibling fork with the same values and next; running it
    re-asks with a new id."""
    graph = chain(["a", "ask"], Calls(), ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    original = graph.get_state(config)
    graph.update_state(config, None, as_node="__copy__")
    copy = graph.get_state(config)
    assert copy.config != original.config
    assert copy.metadata["source"] == "fork"
    assert copy.parent_config == original.parent_config
    assert (copy.values, copy.next) == (original.values, original.next)
    [second] = graph.invoke(None, config)["__interrupt__"]
    assert second.id != first.id and second.value == first.value


def test_update_state_with_start_routes_the_input() -> None:
    """§4.7: as_node=START applies the values as input and routes from START."""
    graph = chain(["a", "b"], Calls())
    config = thread()
    graph.update_state(config, {"log": ["in"]}, as_node=START)
    assert graph.get_state(config).next == ("a",)
    assert graph.invoke(None, config) == {"log": ["in", "a", "b"]}


@pytest.mark.anyio
async def test_update_state_async() -> None:
    graph = chain(["a", "b", "c"], Calls(), interrupt_before=["b"])
    config = thread()
    await graph.ainvoke({"log": []}, config)
    await graph.aupdate_state(config, {"log": ["human"]})
    assert (await graph.aget_state(config)).values == {"log": ["a", "human"]}
    assert await graph.ainvoke(None, config) == {"log": ["a", "human", "b", "c"]}


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.data())
def test_edits_between_answers_never_lose_or_rename_a_question(width: int, data: st.DataObject) -> None:
    """Parallel questions, answered one at a time in any order with edits and plain runs in
    between: the pending questions keep their ids, nothing answered comes back, and the end state
    holds every answer and every edit exactly once."""
    calls = Calls()
    names = [f"q{i}" for i in range(width)]
    builder = StateGraph(LogState)
    for name in names:
        builder.add_node(name, calls.asking(name))
        builder.add_edge(START, name)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    pending = {i.id: i for i in graph.invoke({"log": []}, config)["__interrupt__"]}
    assert len(pending) == width
    edits: list[str] = []
    answers: list[str] = []
    while pending:
        action = data.draw(st.sampled_from(["answer", "edit", "run"]), label="action")
        if action == "answer":
            iid = data.draw(st.sampled_from(sorted(pending)), label="question")
            answer = f"A{len(answers)}"
            graph.invoke(Command(resume={iid: answer}), config)
            answers.append(f"{pending.pop(iid).node}:{answer}")
        elif action == "edit":
            edits.append(f"edit{len(edits)}")
            graph.update_state(config, {"log": [edits[-1]]}, as_node=START)
        else:
            graph.invoke(None, config)
        snap = graph.get_state(config)
        assert {i.id for i in snap.interrupts} == set(pending)
        assert sorted(snap.next) == sorted(i.node for i in pending.values())
    final = graph.get_state(config).values["log"]
    assert sorted(final) == sorted(edits + answers)
