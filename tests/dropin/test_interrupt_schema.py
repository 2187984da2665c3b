"""``Interrupt.response_schema`` and ``interrupt(value, response_schema=...)``, side by side with
LangGraph 1.2.22; and interrupts saved before the field existed still load."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, TypedDict

import pytest

from streamhil.checkpoint.serde import dumps, loads
from streamhil.types import Interrupt

pydantic = pytest.importorskip("pydantic")

LIBS = ["streamhil", pytest.param("langgraph", marks=pytest.mark.skipif(
    importlib.util.find_spec("langgraph") is None, reason="langgraph is not installed"))]


class S(TypedDict):
    x: Any


class Decision(pydantic.BaseModel):
    ok: bool
    note: str = ""


def mod(lib: str, name: str) -> ModuleType:
    return importlib.import_module(f"{lib}.{name}")


def asking_graph(lib: str) -> Any:
    g, types = mod(lib, "graph"), mod(lib, "types")

    def ask(s: S) -> dict[str, Any]:
        decision = types.interrupt("approve?", response_schema=Decision)
        text = types.interrupt("why?", response_schema={"type": "string"})
        return {"x": (type(decision).__name__, decision.ok, text)}

    builder = g.StateGraph(S).add_node("ask", ask).add_edge(g.START, "ask")
    return builder.compile(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())


def test_interrupt_has_response_schema_and_langgraphs_repr() -> None:
    assert Interrupt("q", "i").response_schema is None
    assert repr(Interrupt("q", "i")) == "Interrupt(value='q', id='i', response_schema=None)"
    types = pytest.importorskip("langgraph.types")
    assert repr(Interrupt("q", "i")) == repr(types.Interrupt("q", "i"))


def test_the_schema_does_not_change_identity() -> None:
    with_schema = Interrupt("q", "i", response_schema={"type": "string"})
    assert with_schema == Interrupt("q", "i") and hash(with_schema) == hash(Interrupt("q", "i"))


def test_an_interrupt_saved_before_response_schema_loads() -> None:
    old = dumps(Interrupt("q", "i", node="n")).replace(b',"response_schema":null', b"")
    assert b"response_schema" not in old
    loaded = loads(old)
    assert loaded == Interrupt("q", "i", node="n") and loaded.response_schema is None
    assert repr(loaded) == "Interrupt(value='q', id='i', response_schema=None)"
    assert loads(dumps(loaded)).response_schema is None
    with pytest.raises(AttributeError, match="nope"):
        loaded.nope  # noqa: B018


@pytest.mark.parametrize("lib", LIBS)
def test_response_schema_is_surfaced_and_validates_answers(lib: str) -> None:
    graph, types = asking_graph(lib), mod(lib, "types")
    config = {"configurable": {"thread_id": "1"}}
    (first,) = graph.invoke({"x": 0}, config)["__interrupt__"]
    assert first.response_schema == Decision.model_json_schema()
    with pytest.raises(pydantic.ValidationError):
        graph.invoke(types.Command(resume={"ok": "perhaps"}), config)
    (pending,) = graph.get_state(config).interrupts  # the bad answer was not kept
    assert pending.id == first.id and pending.response_schema == first.response_schema
    (second,) = graph.invoke(types.Command(resume={"ok": True}), config)["__interrupt__"]
    assert second.response_schema == {"type": "string"}
    assert graph.invoke(types.Command(resume=5), config)["x"] == ("Decision", True, 5)  # a dict schema: not checked


@pytest.mark.parametrize("lib", LIBS)
def test_tasks_parts_carry_the_schema(lib: str) -> None:
    parts = list(asking_graph(lib).stream({"x": 0}, {"configurable": {"thread_id": "1"}}, stream_mode="tasks"))
    assert parts[-1]["interrupts"][0]["response_schema"] == Decision.model_json_schema()
