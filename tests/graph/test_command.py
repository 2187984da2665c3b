"""Command as input and as a node's return value: resume + update, goto, Send, PARENT (T26-T31)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, Send, StateGraph, interrupt
from streamhil.errors import InvalidUpdateError, ParentCommand

from .helpers import Calls, LogState, thread


class XState(TypedDict):
    x: str
    log: Annotated[list, operator.add]


def ask_then_next(calls: Calls, seen: list[dict[str, Any]]) -> Any:
    def ask(state: XState) -> dict[str, Any]:
        calls["ask"] += 1
        seen.append(dict(state))
        return {"log": [f"ask:{interrupt('q')}"]}

    builder = StateGraph(XState)
    # `other` is only reached by a Command(goto=...) input. streamhil refuses unreachable nodes
    # (difference 11), so it is declared as a destination; LangGraph needs no declaration.
    builder.add_node("ask", ask, destinations=["other"])
    builder.add_node("nxt", calls.node("nxt"))
    builder.add_node("other", calls.node("other"))
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "nxt")
    builder.add_edge("other", END)
    builder.add_edge("nxt", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_resume_with_update() -> None:
    """T26: the update applies before the interrupted node re-runs; the stream starts with it."""
    calls, seen = Calls(), []
    graph = ask_then_next(calls, seen)
    config = thread()
    graph.invoke({"x": "orig", "log": []}, config)
    parts = list(
        graph.stream(
            Command(resume="R", update={"x": "patched", "log": ["upd"]}),
            config,
            stream_mode=["updates", "values"],
        )
    )
    assert parts == [
        ("values", {"x": "patched", "log": ["upd"]}),
        ("updates", {"ask": {"log": ["ask:R"]}}),
        ("values", {"x": "patched", "log": ["upd", "ask:R"]}),
        ("updates", {"nxt": {"log": ["nxt"]}}),
        ("values", {"x": "patched", "log": ["upd", "ask:R", "nxt"]}),
    ]
    assert seen[-1] == {"x": "patched", "log": ["upd"]}
    assert calls == {"ask": 2, "nxt": 1}


def test_update_and_goto_without_resume_while_interrupted() -> None:
    """T27 with difference 2: `other` runs in the resumed step; the unanswered `ask` stays parked
    (LangGraph re-runs it and it interrupts again). The thread still waits on `ask`."""
    calls, seen = Calls(), []
    graph = ask_then_next(calls, seen)
    config = thread()
    [intr] = graph.invoke({"x": "orig", "log": []}, config)["__interrupt__"]
    result = graph.invoke(Command(update={"x": "viaupdate"}, goto="other"), config)
    assert result["x"] == "viaupdate"
    assert result["log"] == ["other"]
    assert result["__interrupt__"] == [intr]
    assert calls == {"ask": 1, "other": 1}
    snap = graph.get_state(config)
    assert snap.next == ("ask",) and snap.interrupts == (intr,)
    # ask and other belong to one step: at its barrier their writes apply in path order.
    assert graph.invoke(Command(resume="late"), config)["log"] == ["ask:late", "other", "nxt"]
    assert seen[-1]["x"] == "viaupdate"


def test_command_update_on_a_fresh_thread_applies_once() -> None:
    """T28: LangGraph applies the update twice to reducer keys (['u', 'u', 'n'], §6 R9);
    streamhil treats it as the thread's input and applies it once."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("n", calls.node("n"))
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=InMemorySaver())
    assert graph.invoke(Command(update={"log": ["u"]}), thread()) == {"log": ["u", "n"]}


def _start_and_other(checkpointer: Any = None) -> Any:
    builder = StateGraph(XState)
    builder.add_node("first", lambda s: {"log": ["first"]})
    builder.add_node("other", lambda s: {"log": [f"other:{s.get('x', '')}"]})
    builder.add_edge(START, "first")
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (Command(goto="other"), {"log": ["first", "other:"]}),
        (Command(goto="other", update={"x": "5"}), {"x": "5", "log": ["first", "other:5"]}),
        (Command(goto=["other", "first"], update={"x": "1"}), {"x": "1", "log": ["first", "other:1"]}),
        (Command(goto=Send("other", {"x": "sent", "log": []})), {"log": ["first", "other:sent"]}),
    ],
    ids=["goto", "goto+update", "goto list", "goto Send"],
)
def test_command_with_goto_starts_a_new_thread(command: Command, expected: dict[str, Any]) -> None:
    """As in LangGraph: START's edges run, and the goto targets beside them, in the first step."""
    graph = _start_and_other()
    config = thread()
    assert graph.invoke(command, config) == expected
    snapshot = graph.get_state(config)
    assert snapshot.values == expected and snapshot.next == () and snapshot.metadata["step"] == 1


def test_command_with_goto_on_a_new_thread_survives_a_sqlite_checkpoint(tmp_path: Any) -> None:
    from streamhil.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(tmp_path / "g.sqlite")) as saver:
        graph = _start_and_other(saver)
        config = thread()
        assert graph.invoke(Command(goto="other", update={"x": "s"}), config) == {"x": "s", "log": ["first", "other:s"]}
        assert [s.metadata["source"] for s in graph.get_state_history(config)] == ["loop", "loop", "input"]


@pytest.mark.parametrize("command", [Command(goto="nope"), Command(goto="other", update={"nope": 1})], ids=repr)
def test_a_new_threads_bad_command_saves_nothing(command: Command) -> None:
    graph = _start_and_other()
    config = thread()
    with pytest.raises(InvalidUpdateError, match="nope"):
        graph.invoke(command, config)
    assert graph.get_state(config).values == {} and list(graph.get_state_history(config)) == []


def test_goto_on_a_finished_thread_reruns_the_node() -> None:
    """T29."""
    calls = Calls()
    builder = StateGraph(LogState)
    builder.add_node("n", calls.node("n"))
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    assert graph.invoke({"log": ["i"]}, config) == {"log": ["i", "n"]}
    assert graph.invoke(Command(goto="n"), config) == {"log": ["i", "n", "n"]}
    assert calls == {"n": 2}


def test_goto_unknown_node_is_refused() -> None:
    builder = StateGraph(LogState)
    builder.add_node("n", lambda s: {"log": ["n"]})
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    graph.invoke({"log": []}, config)
    with pytest.raises(InvalidUpdateError, match="nope"):
        graph.invoke(Command(goto="nope"), config)


def test_node_command_goto_fires_with_static_edges() -> None:
    """T30: goto adds to the node's static edges; both b and c run in the next step."""

    def a(state: LogState) -> Command[Literal["c"]]:
        return Command(update={"log": ["a"]}, goto="c")

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_node("c", lambda s: {"log": ["c"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile()
    updates = list(graph.stream({"log": []}))
    assert updates[0] == {"a": {"log": ["a"]}}
    assert sorted(updates[1:], key=lambda u: next(iter(u))) == [{"b": {"log": ["b"]}}, {"c": {"log": ["c"]}}]
    assert graph.invoke({"log": []}) == {"log": ["a", "b", "c"]}


def test_node_command_goto_with_send() -> None:
    """T30: a Send's arg is the node input, not the state."""

    def a(state: LogState) -> Command[Literal["b", "c"]]:
        return Command(goto=[Send("c", {"log": ["sent"]}), "b"])

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_node("c", lambda arg: {"log": [f"c:{arg['log']}"]})
    builder.add_edge(START, "a")
    graph = builder.compile()
    updates = list(graph.stream({"log": ["in"]}))
    assert updates[0] == {"a": None}
    assert sorted(updates[1:], key=lambda u: next(iter(u))) == [{"b": {"log": ["b"]}}, {"c": {"log": ["c:['sent']"]}}]
    # Pull tasks apply before push tasks at the barrier.
    assert graph.invoke({"log": ["in"]}) == {"log": ["in", "b", "c:['sent']"]}


def test_update_as_list_of_pairs_applies_each() -> None:
    """§1.5: Command(update=[(key, value), ...]) makes one write per pair; the reducer sees both."""

    def a(state: LogState) -> Command[Any]:
        return Command(update=[("log", ["one"]), ("log", ["two"])])

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"log": []}) == {"log": ["one", "two"]}


def test_node_command_goto_unknown_node() -> None:
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: Command(goto="nowhere"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="nowhere"):
        builder.compile().invoke({"log": []})


def parent_with_child(calls: Calls) -> Any:
    def sub(state: LogState) -> Command[Any]:
        calls["sub"] += 1
        return Command(graph=Command.PARENT, goto="other", update={"log": ["from_sub"]})

    child = StateGraph(LogState)
    child.add_node("sub", sub)
    child.add_node("never", calls.node("never"))
    child.add_edge(START, "sub")
    child.add_edge("sub", "never")
    parent = StateGraph(LogState)
    parent.add_node("child", child.compile())
    parent.add_node("other", calls.node("other"))
    parent.add_edge(START, "child")
    return parent.compile(checkpointer=InMemorySaver())


def test_command_parent_routes_in_the_parent() -> None:
    """T31: the child's Command becomes the `child` node's update and routes the parent."""
    calls = Calls()
    graph = parent_with_child(calls)
    parts = list(graph.stream({"log": []}, thread(), stream_mode="updates", subgraphs=True))
    assert parts == [((), {"child": {"log": ["from_sub"]}}), ((), {"other": {"log": ["other"]}})]
    assert calls == {"sub": 1, "other": 1}


@pytest.mark.anyio
async def test_command_parent_async() -> None:
    calls = Calls()
    graph = parent_with_child(calls)
    assert await graph.ainvoke({"log": []}, thread()) == {"log": ["from_sub", "other"]}


def test_command_parent_at_the_root() -> None:
    """T31: at the root it escapes as ParentCommand; as graph input it is InvalidUpdateError."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: Command(graph=Command.PARENT, goto="a"))
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    with pytest.raises(ParentCommand):
        graph.invoke({"log": []}, thread())
    with pytest.raises(InvalidUpdateError, match="no parent graph"):
        graph.invoke(Command(graph=Command.PARENT, update={"log": ["x"]}), thread())


def test_command_repr_lists_only_set_fields() -> None:
    assert repr(Command(resume=1, goto="x")) == "Command(resume=1, goto='x')"
    assert Command.PARENT == "__parent__"
    assert repr(Send("n", {"a": 1})) == "Send(node='n', arg={'a': 1})"
