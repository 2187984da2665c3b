"""``graph.get_graph()``: Mermaid text, an ASCII drawing, and a PNG rendered on this machine."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import TypedDict

import pytest

from streamhil.graph import END, START, StateGraph
from streamhil.graph.drawing import DrawingError


class State(TypedDict):
    input: str


def steps_graph() -> object:
    builder = StateGraph(State)
    for name in ("step_1", "step_2", "step_3"):
        builder.add_node(name, lambda state: None)
    builder.add_edge(START, "step_1")
    builder.add_edge("step_1", "step_2")
    builder.add_edge("step_2", "step_3")
    builder.add_edge("step_3", END)
    return builder.compile()


def agent_graph() -> object:
    builder = StateGraph(State)
    builder.add_node("agent", lambda state: None)
    builder.add_node("tools", lambda state: None)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", lambda state: END, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile()


def test_draw_mermaid() -> None:
    text = agent_graph().get_graph().draw_mermaid()
    lines = text.splitlines()
    assert lines[0] == "graph TD;"
    assert "\t__start__([__start__]):::first" in lines and "\t__end__([__end__]):::last" in lines
    assert "\t__start__ --> agent;" in lines and "\ttools --> agent;" in lines
    assert "\tagent -.-> tools;" in lines and "\tagent -.-> __end__;" in lines


def test_draw_ascii_of_a_chain() -> None:
    assert steps_graph().get_graph().draw_ascii() == (
        "+-----------+\n"
        "| __start__ |\n"
        "+-----------+\n"
        "      |\n"
        "      v\n"
        " +--------+\n"
        " | step_1 |\n"
        " +--------+\n"
        "      |\n"
        "      v\n"
        " +--------+\n"
        " | step_2 |\n"
        " +--------+\n"
        "      |\n"
        "      v\n"
        " +--------+\n"
        " | step_3 |\n"
        " +--------+\n"
        "      |\n"
        "      v\n"
        " +---------+\n"
        " | __end__ |\n"
        " +---------+\n"
    )


def test_draw_ascii_lists_edges_that_skip_or_go_back() -> None:
    drawing = agent_graph().get_graph().draw_ascii()
    assert drawing.splitlines()[-2:] == ["tools --> agent", "agent -.-> __end__"]
    assert "      :\n" in drawing  # agent -> tools is conditional


def test_to_json_lists_nodes_and_edges() -> None:
    data = agent_graph().get_graph().to_json()
    assert [n["id"] for n in data["nodes"]] == ["__start__", "agent", "tools", "__end__"]
    assert {"source": "agent", "target": "tools", "conditional": True} in data["edges"]


@pytest.mark.skipif(
    not (shutil.which("mmdc") or shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="no local renderer (mermaid-cli or Chromium); CI installs Chromium",
)
def test_draw_mermaid_png_renders_locally(tmp_path: Path) -> None:
    target = tmp_path / "graph.png"
    png = agent_graph().get_graph().draw_mermaid_png(output_file_path=target)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and target.read_bytes() == png
    width, height = struct.unpack(">II", png[16:24])
    assert 150 < width < 2000 and 200 < height < 2000


def test_draw_mermaid_png_without_a_renderer_says_how(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("STREAMHIL_CHROMIUM", raising=False)
    with pytest.raises(DrawingError) as info:
        steps_graph().get_graph().draw_mermaid_png()
    message = str(info.value)
    assert "mermaid-cli" in message and "Chromium" in message and "draw_mermaid()" in message
    assert isinstance(info.value, RuntimeError)


# -- the Graph object, side by side with LangGraph ------------------------------------------------


def _graphs(lib: str) -> list[object]:
    """A chain with no edge to END, a tool loop, a labelled path map, ``Command`` destinations."""
    import importlib

    g = importlib.import_module(f"{lib}.graph")
    Command = importlib.import_module(f"{lib}.types").Command

    class S(TypedDict):
        x: int

    def route(state: S) -> object:
        return Command(goto="c")

    chain = g.StateGraph(S).add_node("a", lambda s: {}).add_node("b", lambda s: {})
    chain.add_edge(g.START, "a").add_edge("a", "b")
    loop = g.StateGraph(S).add_node("a", lambda s: {}).add_node("tools", lambda s: {}).add_edge(g.START, "a")
    loop.add_conditional_edges("a", lambda s: g.END, ["tools", g.END]).add_edge("tools", "a")
    labelled = g.StateGraph(S).add_node("a", lambda s: {}).add_node("c", lambda s: {}).add_edge(g.START, "a")
    labelled.add_conditional_edges("a", lambda s: g.END, {"go": "c", "stop": g.END}).add_edge("c", g.END)
    commands = g.StateGraph(S).add_node("a", route, destinations=("c", "d")).add_node("c", lambda s: {}).add_node("d", lambda s: {})
    commands.add_edge(g.START, "a")
    return [b.compile().get_graph() for b in (chain, loop, labelled, commands)]


def _surface(graph: object) -> tuple[object, ...]:
    mermaid_edges = [line for line in graph.draw_mermaid().splitlines() if "->" in line]  # type: ignore[attr-defined]
    data = graph.to_json()  # type: ignore[attr-defined]
    return (
        list(graph.nodes),  # type: ignore[attr-defined]
        [(n.id, n.name, n.metadata) for n in graph.nodes.values()],  # type: ignore[attr-defined]
        [(e.source, e.target, e.data, e.conditional) for e in graph.edges],  # type: ignore[attr-defined]
        graph.first_node().id, graph.last_node().id,  # type: ignore[attr-defined]
        mermaid_edges,
        [n["id"] for n in data["nodes"]], data["edges"],
    )


def test_get_graph_has_langgraphs_graph_surface() -> None:
    pytest.importorskip("langgraph")
    ours = [_surface(graph) for graph in _graphs("streamhil")]
    assert ours == [_surface(graph) for graph in _graphs("langgraph")]
    chain = _graphs("streamhil")[0]
    assert "a" in chain.nodes and chain.nodes["a"].name == "a"  # type: ignore[attr-defined]
    assert ("b", "__end__", None, False) in ours[0][2]  # the implicit end of the chain
