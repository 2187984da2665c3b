"""pydantic state schemas, side by side with LangGraph 1.2.22: nodes and routers receive a model
instance (defaults applied, values validated), the state and the v1 outputs stay dicts, a
``version="v2"`` output is an instance of the output schema, and a model given as input or
returned by a node stands for the fields it set."""

from __future__ import annotations

import importlib
import operator
import uuid
from types import ModuleType
from typing import Annotated, Any, TypedDict

import pytest

pydantic = pytest.importorskip("pydantic")
from pydantic import BaseModel, Field  # noqa: E402

LIBS = ["streamhil", pytest.param("langgraph", marks=pytest.mark.skipif(
    importlib.util.find_spec("langgraph") is None, reason="langgraph is not installed"))]


class PS(BaseModel):
    x: int = 0
    log: Annotated[list[str], operator.add] = Field(default_factory=list)
    name: str | None = None


class Required(BaseModel):
    a: int
    b: int = 1


class In(BaseModel):
    a: int


class Out(BaseModel):
    b: int


class Plain(TypedDict):
    a: int
    b: int


def graph_module(lib: str) -> ModuleType:
    return importlib.import_module(f"{lib}.graph")


def saver(lib: str) -> Any:
    return importlib.import_module(f"{lib}.checkpoint.memory").InMemorySaver()


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def counter(lib: str, seen: list[Any]) -> Any:
    g = graph_module(lib)

    def inc(s: PS) -> dict[str, Any]:
        seen.append(s)
        return {"x": s.x + 1, "log": ["inc"]}

    def route(s: PS) -> str:
        seen.append(s)
        return g.END

    builder = g.StateGraph(PS)
    builder.add_node("inc", inc)
    builder.add_edge(g.START, "inc")
    builder.add_conditional_edges("inc", route)
    return builder.compile(checkpointer=saver(lib))


@pytest.mark.parametrize("lib", LIBS)
def test_nodes_and_routers_receive_the_model_with_its_defaults(lib: str) -> None:
    seen: list[Any] = []
    graph = counter(lib, seen)
    config = thread()
    assert graph.invoke({}, config) == {"x": 1, "log": ["inc"]}
    assert [type(s) for s in seen] == [PS, PS]
    assert seen[0] == PS(x=0, log=[], name=None)
    assert graph.get_state(config).values == {"x": 1, "log": ["inc"]}


@pytest.mark.parametrize("lib", LIBS)
def test_values_stream_is_dicts_and_v2_outputs_are_models(lib: str) -> None:
    graph = counter(lib, [])
    assert list(graph.stream({"x": 5}, thread(), stream_mode="values")) == [
        {"x": 5, "log": []}, {"x": 6, "log": ["inc"]},
    ]
    parts = list(graph.stream({"x": 3}, thread(), stream_mode="values", version="v2"))
    assert [p["data"] for p in parts] == [PS(x=3), PS(x=4, log=["inc"])]
    assert graph.invoke({"x": 3}, thread(), version="v2").value == PS(x=4, log=["inc"])


@pytest.mark.parametrize("lib", LIBS)
def test_model_as_input_and_as_a_node_return(lib: str) -> None:
    g = graph_module(lib)
    assert counter(lib, []).invoke(PS(x=3), thread()) == {"x": 4, "log": ["inc"]}

    def rebuild(s: PS) -> PS:
        return PS(x=s.x + 10)  # name is None by default and not set: it is not written

    builder = g.StateGraph(PS)
    builder.add_node("n", rebuild)
    builder.add_edge(g.START, "n")
    assert builder.compile().invoke({"x": 1, "log": ["a"], "name": "q"}) == {"x": 11, "log": ["a"], "name": "q"}


@pytest.mark.parametrize("lib", LIBS)
def test_invalid_or_missing_values_raise_validation_error(lib: str) -> None:
    g = graph_module(lib)
    with pytest.raises(pydantic.ValidationError):
        counter(lib, []).invoke({"x": "not a number"}, thread())
    seen: list[Any] = []

    def node(s: Required) -> dict[str, Any]:
        seen.append(s)
        return {"b": s.b + 1}

    builder = g.StateGraph(Required)
    builder.add_node("node", node)
    builder.add_edge(g.START, "node")
    with pytest.raises(pydantic.ValidationError, match="a\n  Field required"):
        builder.compile().invoke({"b": 5})
    assert seen == []
    assert builder.compile().invoke({"a": 1, "b": "5"}) == {"a": 1, "b": 6}  # coerced for the node


@pytest.mark.parametrize("lib", LIBS)
def test_pydantic_input_output_and_node_schemas(lib: str) -> None:
    g = graph_module(lib)
    seen: list[Any] = []

    def double(s: Plain) -> dict[str, Any]:
        return {"b": s["a"] * 2}

    def typed(s: In) -> dict[str, Any]:
        seen.append(s)
        return {}

    builder = g.StateGraph(Plain, input_schema=In, output_schema=Out)
    builder.add_node("double", double)
    builder.add_node("typed", typed)
    builder.add_edge(g.START, "double")
    builder.add_edge("double", "typed")
    graph = builder.compile()
    assert graph.invoke({"a": 2}) == {"b": 4}
    assert graph.invoke({"a": 2}, version="v2").value == Out(b=4)
    assert seen == [In(a=2), In(a=2)]


def test_schema_error_names_pydantic() -> None:
    from streamhil.errors import InvalidSchemaError
    from streamhil.graph import StateGraph

    with pytest.raises(InvalidSchemaError, match="pydantic model"):
        StateGraph(42)
