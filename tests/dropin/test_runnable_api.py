"""The Runnable side of a compiled graph, side by side with LangGraph 1.2.22: ``invoke`` with
every ``stream_mode`` form, ``with_config``, ``batch``/``abatch``, ``get_subgraphs``, the
input/output schemas; ``astream_events`` is refused with a pointer to the stream modes."""

from __future__ import annotations

import dataclasses
import importlib
import operator
import uuid
from typing import Annotated, Any

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")
pytest.importorskip("pydantic", reason="the schema calls need pydantic")

from typing_extensions import TypedDict

LIBRARIES = ["langgraph", "streamhil"]


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


class In(TypedDict):
    x: int


@dataclasses.dataclass
class D:
    x: int = 0
    log: Annotated[list, operator.add] = dataclasses.field(default_factory=list)


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def plain(value: Any) -> Any:
    """Interrupts as their values, tuples as lists, v2 parts without their namespace: what the
    two libraries share (ids and the Interrupt class differ by design)."""
    if type(value).__name__ == "Interrupt":
        return ("Interrupt", value.value)
    if type(value).__name__ == "GraphOutput":
        return ("GraphOutput", plain(value.value), plain(value.interrupts))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def asking_graph(name: str) -> Any:
    """START -> n (x + 1) -> ask (interrupts), with a checkpointer."""
    graph = lib(name, "graph")

    def ask(state: S) -> dict[str, Any]:
        return {"x": lib(name, "types").interrupt("q")}

    builder = graph.StateGraph(S)
    builder.add_node("n", lambda s: {"x": s["x"] + 1, "log": ["n"]})
    builder.add_node("ask", ask)
    builder.add_edge(graph.START, "n")
    builder.add_edge("n", "ask")
    return builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())


def one_node(name: str, schema: Any = S, **kwargs: Any) -> Any:
    graph = lib(name, "graph")
    builder = graph.StateGraph(schema, **kwargs)
    builder.add_node("n", lambda s: {"x": (s["x"] if isinstance(s, dict) else s.x) + 1})
    builder.add_edge(graph.START, "n")
    return builder


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("stream_mode", ["values", "updates", ["values"], ["updates", "values"], ["custom"], "tasks"])
def test_invoke_returns_what_langgraph_returns_for_every_stream_mode(stream_mode: Any, version: str) -> None:
    results = {}
    for name in LIBRARIES:
        result = asking_graph(name).invoke({"x": 1, "log": []}, thread(), stream_mode=stream_mode, version=version)
        if stream_mode == "tasks":  # ids differ; the shapes and order are what matters
            result = [(p["data"] if version == "v2" else p)["name"] for p in result]
        elif version == "v2" and stream_mode != "values":
            result = [{k: v for k, v in p.items() if k != "ns"} for p in result]
        results[name] = plain(result)
    assert results["streamhil"] == results["langgraph"]


@pytest.mark.anyio
async def test_ainvoke_with_a_list_of_modes() -> None:
    compiled = one_node("streamhil").compile()
    assert await compiled.ainvoke({"x": 1}, stream_mode=["updates", "values"]) == [
        ("values", {"x": 1, "log": []}),
        ("updates", {"n": {"x": 2}}),
        ("values", {"x": 2, "log": []}),
    ]
    parts = await compiled.ainvoke({"x": 1}, stream_mode=["updates"], version="v2")
    assert parts == [{"type": "updates", "ns": (), "data": {"n": {"x": 2}}}]


def test_a_list_of_modes_inside_a_node() -> None:
    seen = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        sub = one_node(name).compile()

        def call(state: S, sub: Any = sub, name: str = name) -> dict[str, Any]:
            seen[name] = sub.invoke({"x": state["x"]}, stream_mode=["updates", "values"])
            return {"x": seen[name][-1][1]["x"]}

        builder = graph.StateGraph(S)
        builder.add_node("call", call)
        builder.add_edge(graph.START, "call")
        assert builder.compile().invoke({"x": 1, "log": []}) == {"x": 2, "log": []}
    assert plain(seen["streamhil"]) == plain(seen["langgraph"])


def test_with_config_binds_a_config_under_each_call() -> None:
    for name in LIBRARIES:
        compiled = asking_graph(name)
        config = thread()
        bound = compiled.with_config(config, tags=["t"])
        assert bound is not compiled and compiled.config in (None, {})
        assert plain(bound.invoke({"x": 1, "log": []})) == {"x": 2, "log": ["n"], "__interrupt__": [("Interrupt", "q")]}
        assert bound.get_state({"configurable": {}}).next == ("ask",)
        assert compiled.get_state(config).next == ("ask",)


def test_with_config_recursion_limit() -> None:
    errors = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        builder = graph.StateGraph(S)
        builder.add_node("loop", lambda s: {"x": s["x"] + 1})
        builder.add_edge(graph.START, "loop")
        builder.add_conditional_edges("loop", lambda s, end=graph.END: "loop" if s["x"] < 100 else end)
        with pytest.raises(Exception) as caught:
            builder.compile().with_config(recursion_limit=3).invoke({"x": 0, "log": []})
        errors[name] = type(caught.value).__name__
    assert errors["streamhil"] == errors["langgraph"] == "GraphRecursionError"


def test_batch_and_abatch() -> None:
    import asyncio

    for name in LIBRARIES:
        compiled = one_node(name, In).compile()
        assert compiled.batch([{"x": 1}, {"x": 2}]) == [{"x": 2}, {"x": 3}]
        assert compiled.batch([]) == []
        assert asyncio.run(compiled.abatch([{"x": 5}, {"x": 6}], {"max_concurrency": 1})) == [{"x": 6}, {"x": 7}]
        with pytest.raises(ValueError, match="same length"):
            compiled.batch([{"x": 1}, {"x": 2}], [{}])


def test_batch_return_exceptions() -> None:
    kinds = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")

        def boom(state: S) -> dict[str, Any]:
            if state["x"] < 0:
                raise KeyError("negative")
            return {"x": state["x"]}

        builder = graph.StateGraph(S)
        builder.add_node("boom", boom)
        builder.add_edge(graph.START, "boom")
        compiled = builder.compile()
        result = compiled.batch([{"x": 1}, {"x": -1}], return_exceptions=True)
        kinds[name] = [type(r).__name__ for r in result]
        with pytest.raises(KeyError):
            compiled.batch([{"x": 1}, {"x": -1}])
    assert kinds["streamhil"] == kinds["langgraph"] == ["dict", "KeyError"]


def test_batch_runs_sync_nodes_at_once() -> None:
    """Each run's sync node waits for the other at a barrier: only runs that really run at once
    get through (the sync API's inline shortcut for a lone sync node must not serialise them)."""
    import threading

    for name in LIBRARIES:
        barrier = threading.Barrier(2, timeout=5)

        def meet(state: S, barrier: threading.Barrier = barrier) -> dict[str, Any]:
            barrier.wait()
            return {"x": state["x"] + 1}

        graph = lib(name, "graph")
        builder = graph.StateGraph(S).add_node("meet", meet).add_edge(graph.START, "meet")
        compiled = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        configs = [{"configurable": {"thread_id": f"t{i}"}} for i in range(2)]
        assert compiled.batch([{"x": 1, "log": []}, {"x": 5, "log": []}], configs) == [
            {"x": 2, "log": []}, {"x": 6, "log": []},
        ]


def test_batch_on_one_thread_starts_every_run_from_the_same_checkpoint() -> None:
    """One config for every input: the runs race on the thread, as in LangGraph; each starts from
    the checkpoint latest when it starts (here none), so each sees only its own input."""
    results = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        builder = graph.StateGraph(S).add_node("a", lambda s: {"log": [s["x"]]}).add_edge(graph.START, "a")
        compiled = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        results[name] = compiled.batch([{"x": 1, "log": []}, {"x": 2, "log": []}], {"configurable": {"thread_id": "one"}})
    assert results["streamhil"] == results["langgraph"] == [{"x": 1, "log": [1]}, {"x": 2, "log": [2]}]


def test_get_subgraphs() -> None:
    found = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        leaf = one_node(name).compile()
        middle = graph.StateGraph(S)
        middle.add_node("leaf", leaf)
        middle.add_edge(graph.START, "leaf")
        middle_graph = middle.compile()
        off = one_node(name).compile(checkpointer=False)
        outer = graph.StateGraph(S)
        outer.add_node("middle", middle_graph)
        outer.add_node("off", off)
        outer.add_node("plain", lambda s: {})
        outer.add_edge(graph.START, "middle")
        outer.add_edge(graph.START, "off")
        outer.add_edge(graph.START, "plain")
        compiled = outer.compile()
        found[name] = (
            [n for n, _ in compiled.get_subgraphs()],
            [n for n, _ in compiled.get_subgraphs(recurse=True)],
            [n for n, _ in compiled.get_subgraphs(namespace="middle|leaf", recurse=True)],
            [n for n, _ in compiled.get_subgraphs(namespace="middle|leaf")],
        )
        (_, sub), = compiled.get_subgraphs(namespace="middle")
        assert [n for n, _ in sub.get_subgraphs()] == ["leaf"]
    assert found["streamhil"] == found["langgraph"] == (
        ["middle"], ["middle", "middle|leaf"], ["middle|leaf"], []
    )


@pytest.mark.anyio
async def test_aget_subgraphs() -> None:
    graph = lib("streamhil", "graph")
    outer = graph.StateGraph(S)
    outer.add_node("child", one_node("streamhil").compile())
    outer.add_edge(graph.START, "child")
    assert [n async for n, _ in outer.compile().aget_subgraphs()] == ["child"]


@pytest.mark.parametrize("case", ["typeddict", "input_schema", "dataclass", "named"])
def test_schemas_match_langgraph(case: str) -> None:
    schemas = {}
    for name in LIBRARIES:
        if case == "typeddict":
            compiled = one_node(name).compile()
        elif case == "input_schema":
            compiled = one_node(name, input_schema=In).compile()
        elif case == "dataclass":
            compiled = one_node(name, D).compile()
        else:
            compiled = one_node(name).compile(name="my_graph")
        schemas[name] = (
            compiled.get_input_jsonschema(),
            compiled.get_output_jsonschema(),
            compiled.input_schema.model_json_schema(),
            compiled.output_schema.model_json_schema(),
            compiled.input_schema.__name__,
            compiled.get_context_jsonschema(),
        )
    assert schemas["streamhil"] == schemas["langgraph"]
