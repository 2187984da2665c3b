"""``task.state`` of a task that runs a subgraph, side by side with LangGraph 1.2.22: a subgraph
added as a node or called by the node's function (``sub.invoke(...)`` inside it), in live and
history snapshots; a subgraph snapshot's config carries ``checkpoint_map``."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

from streamhil.executor.discover import called_graph

LIBRARIES = ["langgraph", "streamhil"]


class S(TypedDict):
    x: int


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def child(name: str, **compile_kwargs: Any) -> Any:
    graph = lib(name, "graph")

    def sub_ask(state: S) -> dict[str, Any]:
        return {"x": state["x"] + lib(name, "types").interrupt("sub?")}

    builder = graph.StateGraph(S)
    builder.add_node("sub_ask", sub_ask)
    builder.add_edge(graph.START, "sub_ask")
    return builder.compile(**compile_kwargs)


def parent(name: str, how: str, **compile_kwargs: Any) -> Any:
    """A parent whose only node runs the child: as the node itself, or from a sync or async
    function (a closure variable), or from a method reading ``self.sub`` (which LangGraph does
    not see as a subgraph)."""
    graph = lib(name, "graph")
    sub = child(name)
    builder = graph.StateGraph(S)
    if how == "node":
        builder.add_node("call_child", sub)
    elif how == "function":
        builder.add_node("call_child", lambda state: {"x": sub.invoke(state)["x"]})
    elif how == "async":

        async def call_child(state: S) -> dict[str, Any]:
            return {"x": (await sub.ainvoke(state))["x"]}

        builder.add_node("call_child", call_child)
    else:

        class Caller:
            def __init__(self) -> None:
                self.sub = sub

            def run(self, state: S) -> dict[str, Any]:
                return {"x": self.sub.invoke(state)["x"]}

        builder.add_node("call_child", Caller().run)
    builder.add_edge(graph.START, "call_child")
    return builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver(), **compile_kwargs)


def summary(snapshot: Any) -> Any:
    """What the two libraries share of a snapshot's tasks' states (ids differ)."""
    rows = []
    for task in snapshot.tasks:
        state = task.state
        if state is None:
            rows.append((task.name, None))
        elif isinstance(state, dict):
            configurable = state["configurable"]
            rows.append((task.name, "config", sorted(configurable), configurable["checkpoint_ns"].split(":")[0]))
        else:
            configurable = state.config["configurable"]
            checkpoint_map = configurable.get("checkpoint_map") or {}
            rows.append((
                task.name, "snapshot", state.values, state.next, summary(state),
                [ns.split(":")[0] for ns in checkpoint_map],
                checkpoint_map.get(configurable["checkpoint_ns"]) == configurable.get("checkpoint_id"),
            ))
    return rows


@pytest.mark.parametrize("how", ["node", "function", "async", "method"])
def test_a_paused_subgraph_is_the_tasks_state(how: str) -> None:
    import asyncio

    seen = {}
    for name in LIBRARIES:
        graph = parent(name, how)
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        if how == "async":
            asyncio.run(graph.ainvoke({"x": 1}, config))
        else:
            graph.invoke({"x": 1}, config)
        live = graph.get_state(config)
        deep = graph.get_state(config, subgraphs=True)
        if how != "method":
            assert graph.get_state(deep.tasks[0].state.config).next == ("sub_ask",)
        resume = lib(name, "types").Command(resume=4)
        if how == "async":
            resumed = asyncio.run(graph.ainvoke(resume, config))
        else:
            resumed = graph.invoke(resume, config)
        history = [summary(s) for s in graph.get_state_history(config)]
        seen[name] = (summary(live), summary(deep), resumed, history)
    assert seen["streamhil"] == seen["langgraph"]
    if how == "method":
        assert seen["streamhil"][1] == [("call_child", None)]
        return
    assert seen["streamhil"][1] == [
        ("call_child", "snapshot", {"x": 1}, ("sub_ask",), [("sub_ask", None)], ["", "call_child"], True)
    ]


def test_a_subgraph_that_has_not_run_yet() -> None:
    seen = {}
    for name in LIBRARIES:
        graph = parent(name, "node", interrupt_before=["call_child"])
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        graph.invoke({"x": 1}, config)
        deep = graph.get_state(config, subgraphs=True)
        state = deep.tasks[0].state
        seen[name] = (summary(graph.get_state(config)), state.values, state.next, state.tasks)
    assert seen["streamhil"] == seen["langgraph"]


def test_a_subgraph_without_checkpoints_is_not_a_tasks_state() -> None:
    seen = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        sub = child(name, checkpointer=False)
        builder = graph.StateGraph(S)
        builder.add_node("call_child", sub)
        builder.add_edge(graph.START, "call_child")
        compiled = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        compiled.invoke({"x": 1}, config)
        seen[name] = (summary(compiled.get_state(config)), list(compiled.get_subgraphs()))
    assert seen["streamhil"] == seen["langgraph"] == ([("call_child", None)], [])


def test_called_graph_reads_globals_closures_and_self_attributes() -> None:
    sub = child("streamhil")

    def closure(state: S) -> Any:
        return [sub.invoke(s) for s in [state]]  # inside a comprehension

    def nothing(state: S) -> Any:
        return state

    assert called_graph(closure) is sub
    assert called_graph(nothing) is None
    assert called_graph(len) is None
    assert called_graph(child("streamhil", checkpointer=False).invoke) is None


@pytest.mark.parametrize("child_checkpointer", [None, True], ids=["parent's saver", "checkpointer=True"])
@pytest.mark.parametrize("how", ["sync", "async"])
def test_a_subgraph_called_with_the_nodes_own_config_is_nested(how: str, child_checkpointer: Any) -> None:
    """``sub.invoke(state, config)`` with the node's config (LangGraph's usual way) runs the child
    as this node's subgraph: its interrupt pauses the parent and its answer reaches it (it used
    to run as a separate run on the parent's thread, whose ``__interrupt__`` the node returned)."""

    from langchain_core.runnables import RunnableConfig

    def run(name: str) -> list[Any]:
        graph, types = lib(name, "graph"), lib(name, "types")
        sub = child(name, checkpointer=child_checkpointer)
        builder = graph.StateGraph(S)
        if how == "sync":
            builder.add_node("call_child", lambda state, config: {"x": sub.invoke(state, config)["x"]})
        else:

            async def call_child(state: S, config: RunnableConfig) -> dict[str, Any]:
                return {"x": (await sub.ainvoke(state, config))["x"]}

            builder.add_node("call_child", call_child)
        builder.add_edge(graph.START, "call_child")
        compiled = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        steps = ({"x": 1}, types.Command(resume=2), {"x": 10}, types.Command(resume=5))

        def shown(result: dict[str, Any], snapshot: Any) -> list[Any]:
            return [(sorted(result), result["x"], [i.value for i in result.get("__interrupt__", [])]), snapshot.next]

        if how == "sync":
            return [part for step in steps for part in shown(compiled.invoke(step, config), compiled.get_state(config))]

        async def drive() -> list[Any]:
            seen: list[Any] = []
            for step in steps:
                result = await compiled.ainvoke(step, config)
                seen += shown(result, await compiled.aget_state(config))
            return seen

        return asyncio.run(drive())

    ours = run("streamhil")
    assert ours[:4] == [(["__interrupt__", "x"], 1, ["sub?"]), ("call_child",), (["x"], 3, []), ()]
    assert ours == run("langgraph")
