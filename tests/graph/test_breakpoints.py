"""Static breakpoints: interrupt_before / interrupt_after, '*', runtime override (T32-T35)."""

from __future__ import annotations

import pytest

from streamhil import START, Command, InMemorySaver, StateGraph
from streamhil.errors import NothingPendingError, UnknownNodeError

from .helpers import Calls, LogState, chain, history, thread


def test_interrupt_before() -> None:
    """T32: stops before b with no payload; invoke(None) passes the breakpoint once."""
    calls = Calls()
    graph = chain(["a", "b", "c"], calls, interrupt_before=["b"])
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": ["a"]}  # no __interrupt__ key
    snap = graph.get_state(config)
    assert (snap.next, snap.interrupts, snap.metadata["step"]) == (("b",), (), 1)
    assert snap.tasks[0].interrupts == ()
    assert graph.invoke(None, config) == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_interrupt_before_stream_and_no_new_checkpoint() -> None:
    """T32: `updates` shows `{'__interrupt__': ()}`; the stop writes no checkpoint."""
    graph = chain(["a", "b", "c"], Calls(), interrupt_before=["b"])
    config = thread()
    assert list(graph.stream({"log": []}, config)) == [{"a": {"log": ["a"]}}, {"__interrupt__": ()}]
    assert history(graph, config) == [("loop", 1, ("b",)), ("loop", 0, ("a",)), ("input", -1, ("__start__",))]


def test_resume_value_at_a_static_breakpoint_is_refused() -> None:
    """T32 with difference 3: LangGraph accepts Command(resume="x") and ignores "x"; strict
    resume refuses it (nothing asked for an answer) and the message says how to continue."""
    calls = Calls()
    graph = chain(["a", "b", "c"], calls, interrupt_before=["b"])
    config = thread()
    graph.invoke({"log": []}, config)
    with pytest.raises(NothingPendingError, match=r"invoke\(None"):
        graph.invoke(Command(resume="x"), config)
    assert graph.get_state(config).next == ("b",)
    assert graph.invoke(None, config) == {"log": ["a", "b", "c"]}


def test_interrupt_after() -> None:
    """T33: a runs, its checkpoint is saved, then the run stops."""
    calls = Calls()
    graph = chain(["a", "b", "c"], calls, interrupt_after=["a"])
    config = thread()
    assert list(graph.stream({"log": []}, config)) == [{"a": {"log": ["a"]}}, {"__interrupt__": ()}]
    snap = graph.get_state(config)
    assert snap.values == {"log": ["a"]} and snap.next == ("b",)
    assert snap.metadata == {"source": "loop", "step": 1, "parents": {}}
    assert graph.invoke(None, config) == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_runtime_breakpoints_replace_compiled_ones() -> None:
    """T34: runtime lists replace the compiled list; `interrupt_before=[]` means none
    (difference 10: LangGraph falls back to the compiled list)."""
    graph = chain(["a", "b", "c"], Calls(), interrupt_before=["b"])
    assert graph.invoke({"log": []}, thread(), interrupt_before=["c"]) == {"log": ["a", "b"]}
    assert graph.invoke({"log": []}, thread(), interrupt_before=[]) == {"log": ["a", "b", "c"]}
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": ["a"]}
    assert graph.get_state(config).next == ("b",)
    assert graph.invoke({"log": []}, thread(), interrupt_after=["b"], interrupt_before=[]) == {"log": ["a", "b"]}


def test_interrupt_before_star_steps_one_node_at_a_time() -> None:
    """T35: '*' means every node; each invoke(None) advances one node."""
    graph = chain(["a", "b", "c"], Calls(), interrupt_before="*")
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": []}
    nexts = [graph.get_state(config).next]
    for _ in range(3):
        graph.invoke(None, config)
        nexts.append(graph.get_state(config).next)
    assert nexts == [("a",), ("b",), ("c",), ()]
    assert graph.get_state(config).values == {"log": ["a", "b", "c"]}


def test_interrupt_after_star() -> None:
    graph = chain(["a", "b"], Calls(), interrupt_after="*")
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": ["a"]}
    assert graph.invoke(None, config) == {"log": ["a", "b"]}
    assert graph.get_state(config).next == ()


@pytest.mark.anyio
async def test_breakpoints_async() -> None:
    graph = chain(["a", "b", "c"], Calls(), interrupt_before=["c"])
    config = thread()
    parts = [p async for p in graph.astream({"log": []}, config, stream_mode=["updates", "values"])]
    assert parts[-1] == ("updates", {"__interrupt__": ()})
    assert (await graph.aget_state(config)).next == ("c",)
    assert await graph.ainvoke(None, config) == {"log": ["a", "b", "c"]}


def test_breakpoint_on_unknown_node_fails_at_compile() -> None:
    with pytest.raises(UnknownNodeError, match="nope"):
        chain(["a"], Calls(), interrupt_before=["nope"])


def parallel_with_join(calls: Calls, **compile_kwargs: object) -> object:
    builder = StateGraph(LogState)
    for name in ("a", "b"):
        builder.add_node(name, calls.node(name))
        builder.add_edge(START, name)
    builder.add_node("z", calls.node("z"))
    builder.add_edge(["a", "b"], "z")
    return builder.compile(checkpointer=InMemorySaver(), **compile_kwargs)


def test_breakpoint_before_one_parallel_node_stops_the_whole_step() -> None:
    calls = Calls()
    graph = parallel_with_join(calls, interrupt_before=["b"])
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": []}
    assert graph.get_state(config).next == ("a", "b")
    assert calls == {}
    assert graph.invoke(None, config) == {"log": ["a", "b", "z"]}


def test_breakpoint_after_one_parallel_node_stops_after_the_step() -> None:
    calls = Calls()
    graph = parallel_with_join(calls, interrupt_after=["a"])
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": ["a", "b"]}
    assert graph.get_state(config).next == ("z",)
    assert graph.invoke(None, config) == {"log": ["a", "b", "z"]}
    assert calls == {"a": 1, "b": 1, "z": 1}


def test_breakpoint_then_dynamic_interrupt_in_the_same_node() -> None:
    """Passing the breakpoint runs the node, which then asks; the answer does not stop at the
    breakpoint again."""
    calls = Calls()
    graph = chain(["a", "ask", "b"], calls, ask={"ask"}, interrupt_before=["ask"])
    config = thread()
    assert graph.invoke({"log": []}, config) == {"log": ["a"]}
    assert [i.value for i in graph.invoke(None, config)["__interrupt__"]] == ["qask"]
    assert graph.invoke(Command(resume="x"), config) == {"log": ["a", "ask:x", "b"]}
    assert calls == {"a": 1, "ask": 2, "b": 1}
