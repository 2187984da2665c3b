"""update_state: at a breakpoint, as_node, END, __copy__, __input__, fresh threads, while
interrupted, errors (T36-T42, difference 6)."""

from __future__ import annotations

import pytest

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
    """T40: the update drops the pending interrupt; the next run re-asks with a new id."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"})
    config = thread()
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    graph.update_state(config, {"log": ["note"]}, as_node="a")
    snap = graph.get_state(config)
    assert snap.next == ("ask",) and snap.interrupts == ()
    [second] = graph.invoke(None, config)["__interrupt__"]
    assert second.value == first.value and second.id != first.id
    assert calls["ask"] == 2
    assert graph.invoke(Command(resume="R"), config) == {"log": ["a", "note", "ask:R", "b"]}


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
    """T41: END with None finishes the step: nothing next, no interrupt, finished work kept."""
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
    assert snap.next == () and snap.interrupts == ()
    assert snap.values == {"log": ["ok"]}
    assert graph.invoke(None, config) == {"log": ["ok"]}
    assert calls == {"ask": 1, "ok": 1}


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
