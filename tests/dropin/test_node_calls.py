"""How nodes are called, side by side with LangGraph 1.2.22: injected ``writer`` / ``config`` /
``store`` / ``runtime`` parameters, LangChain Runnables as nodes, ``defer=True`` nodes, and the
add_node options streamhil refuses."""

from __future__ import annotations

import datetime
import importlib
import operator
from types import ModuleType
from typing import Annotated, Any, TypedDict

import pytest

LIBS = ["streamhil", pytest.param("langgraph", marks=pytest.mark.skipif(
    importlib.util.find_spec("langgraph") is None, reason="langgraph is not installed"))]


class S(TypedDict):
    x: int


class Log(TypedDict):
    out: Annotated[list, operator.add]


def mod(lib: str, name: str) -> ModuleType:
    return importlib.import_module(f"{lib}.{name}")


def single(lib: str, fn: Any, **compile_kwargs: Any) -> Any:
    g = mod(lib, "graph")
    return g.StateGraph(S).add_node("n", fn).add_edge(g.START, "n").compile(**compile_kwargs)


@pytest.mark.parametrize("lib", LIBS)
def test_writer_parameter_is_the_custom_stream_writer(lib: str) -> None:
    StreamWriter = mod(lib, "types").StreamWriter

    def n(s: S, writer: StreamWriter) -> dict[str, Any]:
        writer({"hi": s["x"]})
        return {"x": s["x"] + 1}

    graph = single(lib, n)
    assert list(graph.stream({"x": 0}, stream_mode=["custom", "updates"])) == [
        ("custom", {"hi": 0}), ("updates", {"n": {"x": 1}}),
    ]
    assert graph.invoke({"x": 0}) == {"x": 1}  # a no-op writer when the mode is off


@pytest.mark.parametrize("lib", LIBS)
def test_runtime_parameter(lib: str) -> None:
    Runtime = mod(lib, "runtime").Runtime
    seen: list[Any] = []

    def n(s: S, runtime: Runtime) -> dict[str, Any]:
        seen.append(runtime)
        runtime.stream_writer("from runtime")
        return {"x": 1}

    graph = single(lib, n)
    assert list(graph.stream({"x": 0}, stream_mode="custom")) == ["from runtime"]
    assert isinstance(seen[0], Runtime) and seen[0].context is None and seen[0].store is None


@pytest.mark.parametrize("lib", LIBS)
def test_store_parameter(lib: str) -> None:
    store = object() if lib == "streamhil" else mod(lib, "store.memory").InMemoryStore()
    seen: list[Any] = []

    def required(s: S, store) -> dict[str, Any]:  # type: ignore[no-untyped-def]  # unannotated: injected
        seen.append(store)
        return {"x": 1}

    def optional(s: S, *, store) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        seen.append(store)
        return {"x": 2}

    optional.__annotations__["store"] = "Optional[BaseStore]"  # as written in a LangGraph program

    assert single(lib, required, store=store).invoke({"x": 0}) == {"x": 1}
    assert single(lib, optional).invoke({"x": 0}) == {"x": 2}
    assert single(lib, required).invoke({"x": 0}) == {"x": 1}  # no store: None
    assert seen == [store, None, None]


@pytest.mark.parametrize("lib", LIBS)
def test_config_and_unrelated_parameters(lib: str) -> None:
    def n(s: S, config=None, i: int = 3) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"x": config["configurable"]["bonus"] + i}

    assert single(lib, n).invoke({"x": 0}, {"configurable": {"bonus": 10}}) == {"x": 13}


@pytest.mark.parametrize("lib", LIBS)
def test_langchain_runnable_as_node(lib: str) -> None:
    runnables = pytest.importorskip("langchain_core.runnables")
    g = mod(lib, "graph")
    lam = runnables.RunnableLambda(lambda s, config: {"x": s["x"] + len(config["configurable"]["who"])})
    assert single(lib, lam).invoke({"x": 1}, {"configurable": {"who": "alice"}}) == {"x": 6}
    chain = runnables.RunnableLambda(lambda s: s["x"] * 2) | runnables.RunnableLambda(lambda v: {"x": v + 1})
    assert single(lib, chain).invoke({"x": 2}) == {"x": 5}
    named = runnables.RunnableLambda(lambda s: {"x": 7}, name="seven")
    builder = g.StateGraph(S).add_node(named)
    assert "seven" in builder.nodes
    assert builder.add_edge(g.START, "seven").compile().invoke({"x": 0}) == {"x": 7}


@pytest.mark.parametrize("lib", LIBS)
def test_runnable_node_can_interrupt(lib: str) -> None:
    runnables = pytest.importorskip("langchain_core.runnables")
    types = mod(lib, "types")
    asking = runnables.RunnableLambda(lambda s: {"x": s["x"] + types.interrupt("n?")})
    graph = single(lib, asking, checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    assert graph.invoke({"x": 1}, config)["__interrupt__"][0].value == "n?"
    assert graph.invoke(types.Command(resume=5), config) == {"x": 6}


def deferred_graph(lib: str, **compile_kwargs: Any) -> Any:
    g = mod(lib, "graph")

    def node(name: str) -> Any:
        def run(s: Log) -> dict[str, Any]:
            return {"out": [name]}
        return run

    b = g.StateGraph(Log)
    for name in ("a", "b1", "b2", "b3", "agg"):
        b.add_node(name, node(name), defer=name == "agg")
    b.add_edge(g.START, "a")
    b.add_edge(g.START, "b1")
    b.add_edge("b1", "b2")
    b.add_edge("b2", "b3")
    b.add_edge("a", "agg")
    b.add_edge("b2", "agg")
    return b.compile(**compile_kwargs)


@pytest.mark.parametrize("lib", LIBS)
def test_deferred_node_runs_once_nothing_else_is_left(lib: str) -> None:
    assert deferred_graph(lib).invoke({"out": []}) == {"out": ["a", "b1", "b2", "b3", "agg"]}
    parts = list(deferred_graph(lib).stream({"out": []}, stream_mode="updates"))
    assert [next(iter(p)) for p in parts] == ["a", "b1", "b2", "b3", "agg"]


@pytest.mark.parametrize("lib", LIBS)
def test_deferred_node_beside_sends_and_at_a_breakpoint(lib: str) -> None:
    g = mod(lib, "graph")
    types = mod(lib, "types")
    b = g.StateGraph(Log)
    for name in ("a", "w", "x", "agg"):
        b.add_node(name, (lambda n: lambda s: {"out": [n]})(name), defer=name == "agg")
    b.add_edge(g.START, "a")
    b.add_edge("a", "agg")
    b.add_conditional_edges("a", lambda s: [types.Send("w", s)])
    b.add_edge("w", "x")
    # a step that only runs Sends leaves nothing edge-triggered: agg runs beside w (and its
    # write is applied first, edge-triggered tasks before Sends)
    assert b.compile().invoke({"out": []}) == {"out": ["a", "agg", "w", "x"]}

    graph = deferred_graph(lib, checkpointer=mod(lib, "checkpoint.memory").InMemorySaver(), interrupt_before=["agg"])
    config = {"configurable": {"thread_id": "d"}}
    assert graph.invoke({"out": []}, config) == {"out": ["a", "b1", "b2", "b3"]}
    assert graph.get_state(config).next == ("agg",)
    assert graph.invoke(None, config)["out"][-1] == "agg"


def test_timeout_as_timedelta() -> None:
    g = mod("streamhil", "graph")
    async def n(s: S) -> dict[str, Any]:
        return {"x": 1}

    b = g.StateGraph(S).add_node("n", n, timeout=datetime.timedelta(seconds=5))
    assert b.add_edge(g.START, "n").compile().invoke({"x": 0}) == {"x": 1}


@pytest.mark.parametrize("option", ["cache_policy", "error_handler", "trace_policy"])
def test_unsupported_add_node_options_are_refused(option: str) -> None:
    from streamhil.graph import StateGraph

    with pytest.raises(TypeError, match=f"add_node\\({option}=...\\) is not supported"):
        StateGraph(S).add_node("n", lambda s: None, **{option: object()})


def test_a_sequence_of_retry_policies_is_taken() -> None:
    from streamhil.graph import StateGraph
    from streamhil.types import RetryPolicy

    builder = StateGraph(S).add_node("n", lambda s: None, retry_policy=[RetryPolicy(), RetryPolicy(max_attempts=5)])
    assert [p.max_attempts for p in builder.nodes["n"].retry] == [3, 5]


# -- a node's config["metadata"] -----------------------------------------------------------------


def _shown_metadata(metadata: Any) -> dict[str, Any]:
    """A node's metadata with the task ids in namespaces (which differ by design) masked."""
    def mask(ns: Any) -> Any:
        return "|".join(part.split(":")[0] + ":<id>" for part in ns.split("|")) if isinstance(ns, str) else ns

    return {k: mask(v) if k in ("langgraph_checkpoint_ns", "checkpoint_ns") else v for k, v in metadata.items()}


def metadata_graph(lib: str, seen: list[Any]) -> Any:
    """``a`` (takes config) -> a subgraph -> a ``Send`` to ``c`` (reads ``get_config()``)."""
    g, types, config_mod = mod(lib, "graph"), mod(lib, "types"), mod(lib, "config")

    def a(s: S, config) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        seen.append(("a", _shown_metadata(config["metadata"]), config["metadata"] == config_mod.get_config()["metadata"]))
        return {"x": 1}

    def inner(s: S, config) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        seen.append(("inner", _shown_metadata(config["metadata"])))
        return {"x": 2}

    def c(s: S) -> dict[str, Any]:
        seen.append(("c", _shown_metadata(config_mod.get_config()["metadata"])))
        return {"x": 3}

    sub = g.StateGraph(S).add_node("inner", inner).add_edge(g.START, "inner").compile()
    builder = g.StateGraph(S).add_node("a", a).add_node("sub", sub).add_node("c", c)
    builder.add_edge(g.START, "a").add_edge("a", "sub")
    builder.add_conditional_edges("sub", lambda s: [types.Send("c", {"x": 5})])
    return builder.compile(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())


@pytest.mark.parametrize("mode", ["values", "updates", "messages"])
def test_node_metadata_is_langgraphs_in_every_stream_mode(mode: str) -> None:
    """``langgraph_node``, ``_step``, ``_triggers``, ``_path``, ``_checkpoint_ns`` and the run's
    addressing keys (``thread_id``, ``run_id``; a subgraph's ``checkpoint_ns``), not only when the
    run streams ``messages``; other configurable keys stay out."""
    pytest.importorskip("langgraph")
    pytest.importorskip("langchain_core")
    config = {"configurable": {"thread_id": "T", "user": "u", "run_id": "r"}, "metadata": {"m": 1}}
    got: dict[str, list[Any]] = {}
    for lib in ("streamhil", "langgraph"):
        got[lib] = []
        list(metadata_graph(lib, got[lib]).stream({"x": 0}, config, stream_mode=mode))
    assert got["streamhil"] == got["langgraph"]
    assert got["streamhil"][0] == ("a", {
        "m": 1, "thread_id": "T", "run_id": "r", "langgraph_step": 1, "langgraph_node": "a",
        "langgraph_triggers": ("branch:to:a",), "langgraph_path": ("__pregel_pull", "a"),
        "langgraph_checkpoint_ns": "a:<id>",
    }, True)


@pytest.mark.parametrize("lib", LIBS)
def test_node_metadata_without_a_checkpointer_and_in_checkpoints(lib: str) -> None:
    """No thread, no ``thread_id``; a node passing its config on to a graph does not put its
    task's keys into that graph's checkpoint metadata."""
    memory = mod(lib, "checkpoint.memory")
    seen: list[Any] = []

    def n(s: S, config) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        seen.append(sorted(config["metadata"]))
        return {"x": 1}

    single(lib, n).invoke({"x": 0})
    assert seen == [["langgraph_checkpoint_ns", "langgraph_node", "langgraph_path", "langgraph_step", "langgraph_triggers"]]

    saver = memory.InMemorySaver()
    inner = single(lib, lambda s: {"x": 2}, checkpointer=saver)

    def outer(s: S, config) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return inner.invoke(s, {**config, "configurable": {"thread_id": "other"}})

    single(lib, outer).invoke({"x": 0}, {"metadata": {"m": 1}})
    assert [sorted(t.metadata) for t in saver.list({"configurable": {"thread_id": "other"}})] == [
        ["m", "parents", "source", "step"]
    ] * 3
