"""``update_state(config, values, as_node=X)`` on a paused thread, side by side with LangGraph
1.2.22: the new checkpoint is a step in which only X ran; the next step is what X's edges plan
(plus a task whose join or deferred trigger outlives a step); the rest of the paused step goes,
with its interrupts. Compared: ``get_state`` (values, next, task names, interrupt values and
metadata), the history (source, step, next) and the runs that follow (``invoke(None)``, then
answers by id until nothing waits).

Where X's edges plan the paused task again, streamhil keeps its question pending under its id
(docs/langgraph-differences.md, "Editing the state keeps the question pending"): those cases
compare everything but that, and check the kept question.
"""

from __future__ import annotations

import importlib
import operator
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

LIBRARIES = ["langgraph", "streamhil"]


class Log(TypedDict):
    log: Annotated[list, operator.add]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def node(name: str) -> Callable[[Log], dict[str, Any]]:
    return lambda state: {"log": [name]}


def asking(library: str, name: str) -> Callable[[Log], dict[str, Any]]:
    interrupt = lib(library, "types").interrupt

    def ask(state: Log) -> dict[str, Any]:
        answer = interrupt(f"{name}? {len(state['log'])}")
        return {"log": [f"{name}:{answer}"]}

    return ask


def build(library: str, shape: str, **compile_kwargs: Any) -> Any:
    """The graphs under test; ``ask``, ``p``, ``q``, ``fin`` and ``w`` call interrupt()."""
    graph = lib(library, "graph")
    START, StateGraph = graph.START, graph.StateGraph
    b = StateGraph(Log)
    if shape == "chain":  # a -> b -> ask -> c
        for n in ("a", "b", "c"):
            b.add_node(n, node(n))
        b.add_node("ask", asking(library, "ask"))
        b.add_edge(START, "a"), b.add_edge("a", "b"), b.add_edge("b", "ask"), b.add_edge("ask", "c")
    elif shape == "two questions":  # p and q in parallel, then join
        b.add_node("p", asking(library, "p")), b.add_node("q", asking(library, "q")), b.add_node("join", node("join"))
        b.add_edge(START, "p"), b.add_edge(START, "q"), b.add_edge(["p", "q"], "join")
    elif shape == "two branches":  # p -> pp and q -> qq in parallel
        b.add_node("p", asking(library, "p")), b.add_node("q", asking(library, "q"))
        b.add_node("pp", node("pp")), b.add_node("qq", node("qq"))
        b.add_edge(START, "p"), b.add_edge(START, "q"), b.add_edge("p", "pp"), b.add_edge("q", "qq")
    elif shape == "sibling":  # a -> ask -> c and a -> ok -> after
        for n in ("a", "ok", "after", "c"):
            b.add_node(n, node(n))
        b.add_node("ask", asking(library, "ask"))
        b.add_edge(START, "a"), b.add_edge("a", "ask"), b.add_edge("a", "ok")
        b.add_edge("ok", "after"), b.add_edge("ask", "c")
    elif shape == "join":  # a -> b, c; [b, c] -> ask -> d
        for n in ("a", "b", "c", "d"):
            b.add_node(n, node(n))
        b.add_node("ask", asking(library, "ask"))
        b.add_edge(START, "a"), b.add_edge("a", "b"), b.add_edge("a", "c")
        b.add_edge(["b", "c"], "ask"), b.add_edge("ask", "d")
    elif shape == "deferred":  # a -> a2 -> fin; b -> fin (deferred) -> z
        for n in ("a", "a2", "b", "z"):
            b.add_node(n, node(n))
        b.add_node("fin", asking(library, "fin"), defer=True)
        b.add_edge(START, "a"), b.add_edge(START, "b"), b.add_edge("a", "a2")
        b.add_edge("a2", "fin"), b.add_edge("b", "fin"), b.add_edge("fin", "z")
    elif shape == "sends":  # a sends to w twice; w -> c
        Send = lib(library, "types").Send
        b.add_node("a", node("a")), b.add_node("w", asking(library, "w")), b.add_node("c", node("c"))
        b.add_edge(START, "a"), b.add_edge("w", "c")
        b.add_conditional_edges("a", lambda s: [Send("w", {"log": []}), Send("w", {"log": ["x"]})])
    elif shape == "routed":  # a routes to ask, or to other when the state says so
        b.add_node("a", node("a")), b.add_node("ask", asking(library, "ask")), b.add_node("other", node("other"))
        b.add_edge(START, "a")
        b.add_conditional_edges("a", lambda s: "other" if "GO_OTHER" in s["log"] else "ask", ["ask", "other"])
    else:
        raise AssertionError(shape)
    return b.compile(checkpointer=lib(library, "checkpoint.memory").InMemorySaver(), **compile_kwargs)


def snapshot(graph: Any, config: dict[str, Any]) -> tuple[Any, ...]:
    s = graph.get_state(config)
    return (
        s.values, s.next, sorted(t.name for t in s.tasks), sorted(str(i.value) for i in s.interrupts),
        s.metadata["source"], s.metadata["step"],
    )


def history(graph: Any, config: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(h.metadata["source"], h.metadata["step"], h.next) for h in graph.get_state_history(config)]


def result(output: Any) -> tuple[Any, ...]:
    return ({k: v for k, v in output.items() if k != "__interrupt__"}, sorted(str(i.value) for i in output.get("__interrupt__", ())))


def run_on(library: str, graph: Any, config: dict[str, Any]) -> list[Any]:
    """``invoke(None)``, then every pending question answered by id, until nothing waits."""
    Command = lib(library, "types").Command
    seen = [result(graph.invoke(None, config)), snapshot(graph, config)]
    for _ in range(4):
        pending = graph.get_state(config).interrupts
        if not pending:
            break
        seen += [result(graph.invoke(Command(resume={i.id: "R" for i in pending}), config)), snapshot(graph, config)]
    return seen + [history(graph, config)]


def paused(library: str, shape: str, answer_first: bool = False, **compile_kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """A thread of ``shape`` paused at its first questions (``answer_first``: the first one, by
    value order, answered; the others still wait)."""
    graph = build(library, shape, **compile_kwargs)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"log": []}, config)
    if answer_first:
        first = min(graph.get_state(config).interrupts, key=lambda i: str(i.value))
        graph.invoke(lib(library, "types").Command(resume={first.id: "A1"}), config)
    return graph, config


def side_by_side(shape: str, as_node: str | None, values: Any, answer_first: bool = False, **compile_kwargs: Any) -> dict[str, Any]:
    seen = {}
    for library in LIBRARIES:
        graph, config = paused(library, shape, answer_first, **compile_kwargs)
        graph.update_state(config, values, as_node=as_node)
        seen[library] = {
            "after update": snapshot(graph, config),
            "history": history(graph, config),
            "then": run_on(library, graph, config),
        }
    return seen


EDIT = {"log": ["EDIT"]}

# X's edges do not lead back to the paused task: the question goes, as in LangGraph.
DROPPED = [
    ("chain", "a", EDIT, False),  # the tester's gen_topic case: X before the node before the question
    ("chain", "ask", EDIT, False),  # as the paused node: its output, no question
    ("chain", "c", EDIT, False),  # as a node after it
    ("chain", "__start__", EDIT, False),
    ("chain", "__end__", None, False),
    ("two questions", "p", EDIT, False),  # one of two parallel questions: the other goes too
    ("two questions", "q", EDIT, True),
    ("two questions", "join", EDIT, True),
    ("two questions", "__end__", None, True),  # the answered one's writes kept
    ("two branches", "p", EDIT, False),
    ("two branches", "pp", EDIT, True),
    ("sibling", "ok", EDIT, False),  # a finished parallel sibling
    ("sibling", "ask", EDIT, False),
    ("sibling", "after", EDIT, False),
    ("sibling", "__start__", EDIT, False),
    ("sibling", "__end__", None, False),  # the finished sibling's edge is followed
    ("sends", "w", EDIT, False),
    ("sends", "c", EDIT, True),
    ("routed", None, {"log": ["GO_OTHER"]}, False),  # the edited state routes elsewhere
]


@pytest.mark.parametrize(("shape", "as_node", "values", "answer_first"), DROPPED)
def test_an_update_as_another_node_drops_the_paused_step(shape: str, as_node: str | None, values: Any, answer_first: bool) -> None:
    seen = side_by_side(shape, as_node, values, answer_first)
    assert seen["streamhil"] == seen["langgraph"]


# X's edges plan the paused task again (or its trigger outlives the step): LangGraph asks again
# under a new id; streamhil keeps the question pending under its id. All the rest is the same.
KEPT = [
    ("chain", "b", "ask"),
    ("chain", None, "ask"),  # LangGraph's as_node inference: the last node that ran
    ("two questions", None, "p q"),
    ("two questions", "__start__", "p q"),
    ("join", "a", "ask"),  # the join's barrier is full until ask runs: ask stays beside b, c
    ("join", "b", "ask"),
    ("join", "__start__", "ask"),
    ("deferred", "a", "fin"),  # a deferred node's trigger lasts until it runs
    ("deferred", "b", "fin"),
    ("deferred", "z", "fin"),
    ("sends", "a", "w w"),  # the same Sends again
    ("routed", None, "ask"),
]


@pytest.mark.parametrize(("shape", "as_node", "kept"), KEPT)
def test_an_update_whose_edges_plan_the_paused_task_again(shape: str, as_node: str | None, kept: str) -> None:
    questions = {}
    for library in LIBRARIES:
        graph, config = paused(library, shape)
        questions[library] = {i.id: i.value for i in graph.get_state(config).interrupts}
    seen = side_by_side(shape, as_node, {"log": ["stay"]} if shape == "routed" else EDIT)
    streamhil, langgraph = seen["streamhil"]["after update"], seen["langgraph"]["after update"]
    assert langgraph[3] == []
    assert sorted(v.split("?")[0] for v in streamhil[3]) == kept.split()
    assert streamhil[:3] + streamhil[4:] == langgraph[:3] + langgraph[4:]
    assert seen["streamhil"]["history"] == seen["langgraph"]["history"]
    assert seen["streamhil"]["then"] == seen["langgraph"]["then"]


def test_the_kept_question_keeps_its_id() -> None:
    graph, config = paused("streamhil", "chain")
    [old] = graph.get_state(config).interrupts
    graph.update_state(config, EDIT, as_node="b")
    assert graph.get_state(config).interrupts == (old,)
    [again] = graph.invoke(None, config)["__interrupt__"]
    assert again.id == old.id and again.value == "ask? 3"  # asked again, about the edited state


def test_the_testers_time_travel_case() -> None:
    """gen_topic -> write_joke -> review(interrupt): edit as gen_topic while review waits."""

    class Joke(TypedDict):
        topic: str
        joke: str

    seen = {}
    for library in LIBRARIES:
        graph_mod, types = lib(library, "graph"), lib(library, "types")
        saw: list[str] = []

        def review(state: Joke, types: Any = types, saw: list[str] = saw) -> dict[str, Any]:
            saw.append(state["joke"])
            return {"joke": state["joke"] + " / " + types.interrupt({"joke": state["joke"]})}

        b = graph_mod.StateGraph(Joke)
        b.add_node("gen_topic", lambda s: {"topic": "cats"})
        b.add_node("write_joke", lambda s: {"joke": f"joke about {s['topic']}"})
        b.add_node("review", review)
        b.add_edge(graph_mod.START, "gen_topic"), b.add_edge("gen_topic", "write_joke"), b.add_edge("write_joke", "review")
        graph = b.compile(checkpointer=lib(library, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"topic": "", "joke": ""}, config)
        graph.update_state(config, {"topic": "dogs"}, as_node="gen_topic")
        after = snapshot(graph, config)
        asked = result(graph.invoke(None, config))
        state = graph.get_state(config)
        done = graph.invoke(types.Command(resume="lol"), config)
        seen[library] = (after, asked, snapshot(graph, config), [t.name for t in state.tasks], done, history(graph, config), saw)
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][0][1] == ("write_joke",)
    assert seen["streamhil"][4] == {"topic": "dogs", "joke": "joke about dogs / lol"}


def test_reducer_keys_history_as_langgraph() -> None:
    """The tester's s3 case: with reducer keys the run went on with the stale question and one
    history entry fewer."""

    class S(TypedDict):
        topic: str
        joke: str
        log: Annotated[list, operator.add]

    seen = {}
    for library in LIBRARIES:
        graph_mod, types = lib(library, "graph"), lib(library, "types")

        def review(state: S, types: Any = types) -> dict[str, Any]:
            return {"log": [f"review={types.interrupt({'joke': state['joke']})}"]}

        b = graph_mod.StateGraph(S)
        b.add_node("gen_topic", lambda s: {"topic": "cats", "log": ["topic"]})
        b.add_node("write_joke", lambda s: {"joke": f"joke about {s['topic']}", "log": ["joke"]})
        b.add_node("review", review)
        b.add_edge(graph_mod.START, "gen_topic"), b.add_edge("gen_topic", "write_joke")
        b.add_edge("write_joke", "review"), b.add_edge("review", graph_mod.END)
        graph = b.compile(checkpointer=lib(library, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"topic": "", "joke": "", "log": []}, config)
        graph.update_state(config, {"topic": "dogs"}, as_node="gen_topic")
        seen[library] = run_on(library, graph, config)
    assert seen["streamhil"] == seen["langgraph"]
    assert len(seen["streamhil"][-1]) == 7
    assert seen["streamhil"][0][1] == ["{'joke': 'joke about dogs'}"]


# At a breakpoint (interrupt_before) nothing waits on a human: the same rules, no kept ids.
BREAKPOINTS = [
    ("chain", ["ask"], "a"),
    ("chain", ["ask"], "b"),
    ("chain", ["ask"], "c"),
    ("join", ["ask"], "a"),
    ("join", ["ask"], "b"),
    ("two branches", ["p", "q"], "p"),
    ("sibling", ["ask"], "ok"),
    ("sibling", ["ask", "ok"], "a"),
]


@pytest.mark.parametrize(("shape", "before", "as_node"), BREAKPOINTS)
def test_an_update_at_a_breakpoint(shape: str, before: list[str], as_node: str) -> None:
    seen = side_by_side(shape, as_node, EDIT, interrupt_before=before)
    assert seen["streamhil"] == seen["langgraph"]


def test_copy_is_a_sibling_one_step_on_with_new_ids() -> None:
    seen = {}
    for library in LIBRARIES:
        graph, config = paused(library, "chain")
        graph.update_state(config, EDIT, as_node="b")
        graph.update_state(config, None, as_node="__copy__")
        seen[library] = (snapshot(graph, config)[:3], snapshot(graph, config)[4:], history(graph, config), run_on(library, graph, config))
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][1] == ("fork", 4)


def test_end_takes_no_values() -> None:
    for library in LIBRARIES:
        graph, config = paused(library, "chain")
        with pytest.raises(lib(library, "errors").InvalidUpdateError, match="Node __end__ does not exist"):
            graph.update_state(config, EDIT, as_node="__end__")
        assert graph.get_state(config).next == ("ask",)


# streamhil's own cases: answers recorded but not run yet, and kept state LangGraph drops.


def test_a_recorded_answer_goes_with_its_dropped_question() -> None:
    """An answer recorded for the paused question (record_command) does not answer the question
    the node asks when it is planned again later under a new id."""
    from streamhil.types import Command

    graph, config = paused("streamhil", "chain")
    [old] = graph.get_state(config).interrupts
    graph.record_command(config, Command(resume="stale"))
    graph.update_state(config, EDIT, as_node="a")
    assert graph.get_state(config).interrupts == ()
    [new] = graph.invoke(None, config)["__interrupt__"]
    assert new.id != old.id and new.value == "ask? 4"
    assert graph.invoke(Command(resume="fresh"), config)["log"][-2:] == ["ask:fresh", "c"]


def test_a_recorded_answer_stays_with_its_kept_question() -> None:
    from streamhil.types import Command

    graph, config = paused("streamhil", "two questions")
    asked = {i.value.split("?")[0]: i for i in graph.get_state(config).interrupts}
    graph.record_command(config, Command(resume={asked["q"].id: "Q"}))
    graph.update_state(config, EDIT, as_node="__start__")
    assert [i.id for i in graph.get_state(config).interrupts] == [asked["p"].id]
    [again] = graph.invoke(None, config)["__interrupt__"]
    assert again.id == asked["p"].id
    assert graph.invoke(Command(resume="P"), config) == {"log": ["EDIT", "p:P", "q:Q", "join"]}


def test_two_sends_one_answered_do_not_share_the_answer() -> None:
    """Two Sends to one node ask at the same position: an answer to one must not reach the other
    when the update keeps both (the answered one finished, the other runs again)."""
    from streamhil.types import Command

    graph, config = paused("streamhil", "sends", answer_first=True)
    graph.update_state(config, EDIT, as_node="a")
    snap = graph.get_state(config)
    assert snap.values == {"log": ["a", "EDIT", "w:A1"]} and snap.next == ("w",)
    [again] = graph.invoke(None, config)["__interrupt__"]
    assert graph.invoke(Command(resume={again.id: "R"}), config) == {"log": ["a", "EDIT", "w:A1", "w:R", "c"]}


def test_as_a_join_triggered_paused_node_completes_it() -> None:
    """A deliberate difference: LangGraph leaves a task that a join (or a deferred node's edge)
    triggered pending after an update as that node, so the node runs and asks again."""
    for shape, node_name, after in (("join", "ask", "d"), ("deferred", "fin", "z")):
        seen = {}
        for library in LIBRARIES:
            graph, config = paused(library, shape)
            graph.update_state(config, {"log": ["manual"]}, as_node=node_name)
            seen[library] = graph.get_state(config).next
        assert seen == {"langgraph": (after, node_name), "streamhil": (after,)}
