"""Small shapes side by side with LangGraph 1.2.22: ``tasks``/``debug``/``checkpoints`` payloads
(triggers a tuple, interrupts as LangGraph's dicts, a subgraph task's ``state`` config, a failed
task's ``error`` the exception itself), and the error an unknown ``checkpoint_id`` raises (an
``EmptyInputError`` in both)."""

from __future__ import annotations

import importlib
import uuid
import operator
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

from streamhil.errors import CheckpointError, CheckpointNotFoundError

LIBRARIES = ["langgraph", "streamhil"]


class S(TypedDict):
    x: int


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def asking(name: str, *, as_subgraph: bool = False) -> Any:
    graph = lib(name, "graph")

    def ask(state: S) -> dict[str, Any]:
        return {"x": lib(name, "types").interrupt("q?")}

    builder = graph.StateGraph(S)
    builder.add_node("ask", ask)
    builder.add_edge(graph.START, "ask")
    if not as_subgraph:
        return builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
    outer = graph.StateGraph(S)
    outer.add_node("child", builder.compile())
    outer.add_edge(graph.START, "child")
    return outer.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())


def shape(value: Any) -> Any:
    """Types and keys, with ids, thread ids, namespaces and timestamps left out."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k not in ("id", "timestamp", "thread_id", "checkpoint_id", "checkpoint_ns")}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [shape(v) for v in value])
    return value


def test_tasks_payloads() -> None:
    seen = {name: [shape(p) for p in asking(name).stream({"x": 1}, thread(), stream_mode="tasks")] for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    started, result = seen["streamhil"]
    assert started["triggers"] == ("tuple", ["branch:to:ask"])
    assert result["interrupts"] == ("list", [{"value": "q?", "response_schema": None}])


def test_debug_payloads_of_a_subgraph_task() -> None:
    seen = {}
    for name in LIBRARIES:
        parts = asking(name, as_subgraph=True).stream({"x": 1}, thread(), stream_mode="debug")
        seen[name] = [(p["type"], shape(p["payload"])) for p in parts]
    assert seen["streamhil"] == seen["langgraph"]
    checkpoint = [payload for kind, payload in seen["streamhil"] if kind == "checkpoint"][-1]
    assert checkpoint["tasks"] == ("list", [{"name": "child", "interrupts": ("tuple", []), "state": {"configurable": {}}}])


def test_a_subgraph_checkpoint_config_in_the_checkpoints_mode_has_its_checkpoint_map() -> None:
    parts = list(asking("streamhil", as_subgraph=True).stream({"x": 1}, thread(), stream_mode="checkpoints", subgraphs=True))
    nested = [(ns, payload) for ns, payload in parts if ns]
    assert nested
    for ns, payload in nested:
        configurable = payload["config"]["configurable"]
        assert configurable["checkpoint_map"] == {**payload["metadata"]["parents"], ns[0]: configurable["checkpoint_id"]}


def test_an_unknown_checkpoint_id_is_an_empty_input_error() -> None:
    for name in LIBRARIES:
        graph = asking(name)
        config = thread()
        graph.invoke({"x": 1}, config)
        config["configurable"]["checkpoint_id"] = "1f0-nope"
        with pytest.raises(lib(name, "errors").EmptyInputError):
            graph.invoke(None, config)
    with pytest.raises(CheckpointNotFoundError) as caught:
        graph.invoke(None, config)
    assert isinstance(caught.value, CheckpointError) and isinstance(caught.value, ValueError)
    with pytest.raises(CheckpointNotFoundError):
        graph.update_state(config, {"x": 2})


class Logged(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def returning(name: str, value: Any) -> Any:
    """``n`` returns ``value`` (routing to ``m`` when it is a Command), then ``m`` returns None."""
    graph = lib(name, "graph")
    builder = graph.StateGraph(Logged)
    builder.add_node("n", lambda state: value, destinations=("m",))
    builder.add_node("m", lambda state: None)
    builder.add_edge(graph.START, "n")
    if not isinstance(value, lib("streamhil", "types").Command) and not isinstance(value, lib("langgraph", "types").Command):
        builder.add_edge("n", "m")
    return builder.compile()


@pytest.mark.parametrize("make", [
    lambda t: {},
    lambda t: None,
    lambda t: {"x": 1},
    lambda t: t.Command(goto="m"),
    lambda t: t.Command(update={}, goto="m"),
    lambda t: t.Command(update={"x": 2}, goto="m"),
    lambda t: [t.Command(update={"x": 3}, goto="m"), t.Command(update={"log": ["a"]})],
    lambda t: t.Command(update=[("log", ["a"]), ("log", ["b"])], goto="m"),
], ids=["empty", "none", "dict", "goto", "empty-update", "update", "commands", "key-twice"])
def test_what_the_updates_mode_shows_for_a_nodes_return(make: Any) -> None:
    """LangGraph's rule: the task's state writes; None when it wrote none (``{}`` included), a
    list of one-key dicts when it wrote a key twice."""
    parts = {
        name: list(returning(name, make(lib(name, "types"))).stream({"x": 0, "log": []}, stream_mode="updates"))
        for name in LIBRARIES
    }
    assert parts["streamhil"] == parts["langgraph"]


class Boom(ValueError):
    """The error the failing graphs raise (one class for both libraries, so the errors compare)."""


def failing(name: str, *, as_subgraph: bool) -> Any:
    graph = lib(name, "graph")

    def boom(state: S) -> dict[str, Any]:
        raise Boom("boom")

    builder = graph.StateGraph(S)
    builder.add_node("boom", boom)
    builder.add_edge(graph.START, "boom")
    if not as_subgraph:
        return builder.compile()
    outer = graph.StateGraph(S)
    outer.add_node("child", builder.compile())
    outer.add_edge(graph.START, "child")
    return outer.compile()


def task_errors(parts: list[Any], mode: str, subgraphs: bool) -> list[tuple[Any, str, Any]]:
    """``(namespace depth, task name, error)`` of every task result part."""
    found = []
    for part in parts:
        ns, part = part if subgraphs else ((), part)
        payload = part["payload"] if mode == "debug" else part
        if "error" in payload:
            found.append((len(ns), payload["name"], payload["error"]))
    return found


@pytest.mark.parametrize("mode", ["tasks", "debug"])
@pytest.mark.parametrize("as_subgraph", [False, True])
@pytest.mark.parametrize("subgraphs", [False, True])
def test_a_failed_tasks_result_carries_the_exception_itself(mode: str, as_subgraph: bool, subgraphs: bool) -> None:
    seen = {}
    for name in LIBRARIES:
        parts: list[Any] = []
        with pytest.raises(Boom):
            for part in failing(name, as_subgraph=as_subgraph).stream({"x": 0}, stream_mode=mode, subgraphs=subgraphs):
                parts.append(part)
        seen[name] = task_errors(parts, mode, subgraphs)
    assert seen["langgraph"], "no task result part"
    for (lg_depth, lg_name, lg_error), (sh_depth, sh_name, sh_error) in zip(seen["langgraph"], seen["streamhil"], strict=True):
        assert (sh_depth, sh_name) == (lg_depth, lg_name)
        assert isinstance(lg_error, Boom) and isinstance(sh_error, Boom) and sh_error.args == lg_error.args


def test_a_failed_functional_task_carries_the_exception_itself() -> None:
    seen = {}
    for name in LIBRARIES:
        func = lib(name, "func")

        @func.task
        def bad(x: int) -> int:
            raise Boom("in a task")

        @func.entrypoint()
        def main(x: int) -> int:
            return bad(x).result()

        parts: list[Any] = []
        with pytest.raises(Boom):
            for part in main.stream(1, stream_mode="tasks"):
                parts.append(part)
        seen[name] = [(p["name"], type(p["error"]), p["error"].args) for p in parts if "error" in p]
    assert seen["streamhil"] == seen["langgraph"] == [("bad", Boom, ("in a task",)), ("main", Boom, ("in a task",))]
