"""A run's ``context`` (``invoke(..., context=...)``), side by side with LangGraph 1.2.22: nodes
read it as ``runtime.context`` (a ``runtime`` parameter or ``get_runtime()``); a dict given for a
dataclass or pydantic ``context_schema`` becomes one; subgraphs, graphs called inside a node,
``@task``s and ``@entrypoint``s share it; every entry point takes it. Keyword arguments an entry
point does not take are refused with an error naming the method that was called."""

from __future__ import annotations

import asyncio
import importlib
import operator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

from pydantic import BaseModel

LIBRARIES = ["langgraph", "streamhil"]


@dataclass
class UserContext:
    user: str
    tier: int = 1


class ModelContext(BaseModel):
    user: str


class DictContext(TypedDict):
    user: str


class S(TypedDict):
    log: Annotated[list[str], operator.add]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def shown(context: Any) -> str:
    return f"{type(context).__name__}:{context!r}"


def graph_of(name: str, context_schema: Any) -> Any:
    """``a`` (a ``runtime`` parameter) -> ``b`` (``get_runtime()``) -> ``child`` (a subgraph) ->
    ``calls_child`` (a graph invoked inside the node) -> ``ask`` (interrupts, then reads it)."""
    graph, types, runtime = lib(name, "graph"), lib(name, "types"), lib(name, "runtime")

    def child_node(state: S, runtime: runtime.Runtime) -> dict[str, Any]:
        return {"log": ["child " + shown(runtime.context)]}

    child_builder = graph.StateGraph(S)
    child_builder.add_node("c", child_node)
    child_builder.add_edge(graph.START, "c")
    child = child_builder.compile()

    def a(state: S, runtime: runtime.Runtime) -> dict[str, Any]:
        return {"log": ["a " + shown(runtime.context)]}

    def b(state: S) -> dict[str, Any]:
        return {"log": ["b " + shown(lib(name, "runtime").get_runtime().context)]}

    def calls_child(state: S) -> dict[str, Any]:
        return {"log": [line + " (called)" for line in child.invoke({"log": []})["log"]]}

    def ask(state: S, runtime: runtime.Runtime) -> dict[str, Any]:
        answer = types.interrupt("ok?")
        return {"log": [f"ask {answer} " + shown(runtime.context)]}

    builder = graph.StateGraph(S, context_schema=context_schema)
    for node in (a, b, calls_child, ask):
        builder.add_node(node.__name__, node)
    builder.add_node("child", child)
    for src, dst in [(graph.START, "a"), ("a", "b"), ("b", "child"), ("child", "calls_child"), ("calls_child", "ask")]:
        builder.add_edge(src, dst)
    return builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())


CASES = {
    "dataclass from a dict": (UserContext, {"user": "u"}),
    "dataclass instance": (UserContext, UserContext(user="v", tier=2)),
    "pydantic from a dict": (ModelContext, {"user": "p"}),
    "TypedDict": (DictContext, {"user": "t"}),
    "no schema": (None, {"user": "x"}),
    "no context": (UserContext, None),
    "a string": (None, "just text"),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_nodes_read_the_run_context(case: str) -> None:
    schema, context = CASES[case]
    seen = {}
    for name in LIBRARIES:
        compiled = graph_of(name, schema)
        config = {"configurable": {"thread_id": "t"}}
        first = compiled.invoke({"log": []}, config, context=context)
        resumed = compiled.invoke(lib(name, "types").Command(resume="yes"), config, context=context)
        unset = graph_of(name, schema)
        unset.invoke({"log": []}, config, context=context)
        without = unset.invoke(lib(name, "types").Command(resume="yes"), config)  # not saved: a run's own
        seen[name] = (first["log"], resumed["log"][-1], without["log"][-1], compiled.get_context_jsonschema())
    assert seen["streamhil"] == seen["langgraph"]


def test_every_entry_point_takes_a_context() -> None:
    async def run(name: str) -> list[Any]:
        compiled = graph_of(name, UserContext)

        def config(thread: str) -> dict[str, Any]:
            return {"configurable": {"thread_id": thread}}

        out = [(await compiled.ainvoke({"log": []}, config("ainvoke"), context={"user": "ainvoke"}))["log"]]
        parts = [p async for p in compiled.astream({"log": []}, config("astream"), context={"user": "astream"})]
        out.append([list(p) for p in parts])
        events = [e async for e in compiled.astream_events({"log": []}, config("events"), context={"user": "events"})]
        out.append([e["data"]["output"]["log"] for e in events if e["event"] == "on_chain_end" and e["name"] == "a"])
        return out

    def run_sync(name: str) -> list[Any]:
        compiled = graph_of(name, UserContext)
        parts = compiled.stream({"log": []}, {"configurable": {"thread_id": "s"}}, context={"user": "s"}, stream_mode="values")
        return [list(parts)[-1]["log"]]

    seen = {name: asyncio.run(run(name)) + run_sync(name) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][0][0] == "a UserContext:UserContext(user='ainvoke', tier=1)"


def test_the_functional_api_shares_the_context() -> None:
    def run(name: str) -> Any:
        func, runtime = lib(name, "func"), lib(name, "runtime")

        @func.task
        def step(x: int) -> str:
            return f"task {x} " + shown(runtime.get_runtime().context)

        @func.entrypoint(context_schema=UserContext)
        def workflow(x: int, runtime: runtime.Runtime) -> list[str]:
            return [shown(runtime.context), step(x).result()]

        return workflow.invoke(1, context={"user": "e"}), workflow.get_context_jsonschema()

    seen = {name: run(name) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][0] == ["UserContext:UserContext(user='e', tier=1)", "task 1 UserContext:UserContext(user='e', tier=1)"]


def test_an_unsupported_argument_names_the_method_called() -> None:
    compiled = graph_of("streamhil", None)
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.invoke\(\) got the keyword argument 'print_mode', which streamhil does not support"):
        compiled.invoke({"log": []}, config, print_mode="values")
    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.stream\(\) got the keyword argument 'output_keys'"):
        compiled.stream({"log": []}, config, output_keys=["log"])
    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.ainvoke\(\) got the keyword argument 'checkpoint_during'"):
        asyncio.run(compiled.ainvoke({"log": []}, config, checkpoint_during=True))
    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.invoke\(\) got an unexpected keyword argument 'contxt'$"):
        compiled.invoke({"log": []}, config, contxt={"user": "typo"})
    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.stream_events\(\) got an unexpected keyword argument 'foo'$"):
        compiled.stream_events({"log": []}, config, foo=1)

    async def astream() -> None:
        async for _ in compiled.astream({"log": []}, config, control=object()):
            pass

    with pytest.raises(TypeError, match=r"^CompiledStateGraph\.astream\(\) got the keyword argument 'control'"):
        asyncio.run(astream())
