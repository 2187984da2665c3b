"""``astream_events`` / ``stream_events`` (LangChain's "v2" events) side by side with LangGraph
1.2.22: the same graph built with each library gives the same events, in the same order, with the
same names, tags, metadata, data and parent chain (run ids aside) — the graph's start, updates
and end, each node's start/stream/end, an interrupt and its resume, chat model tokens, tool
calls and custom events inside a node, a subgraph's nodes, sync nodes, the filters."""

from __future__ import annotations

import asyncio
import operator
import re
from types import SimpleNamespace
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install 'streamhil[langchain]')")
pytest.importorskip("langgraph", reason="the side-by-side tests need langgraph")

import langgraph.checkpoint.memory as lg_memory  # noqa: E402
import langgraph.graph as lg_graph  # noqa: E402
import langgraph.types as lg_types  # noqa: E402
from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langchain_core.tools import tool as create_tool  # noqa: E402

import streamhil.checkpoint.memory as sh_memory  # noqa: E402
import streamhil.graph as sh_graph  # noqa: E402
import streamhil.types as sh_types  # noqa: E402

LANGGRAPH = SimpleNamespace(graph=lg_graph, memory=lg_memory, types=lg_types)
STREAMHIL = SimpleNamespace(graph=sh_graph, memory=sh_memory, types=sh_types)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")


class Counter(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


class Chat(TypedDict):
    messages: Annotated[list[Any], operator.add]


def shown(event: dict[str, Any], ids: dict[str, int]) -> tuple[Any, ...]:
    """An event without what differs run to run: run ids become their order of appearance,
    uuids and LangChain's versions go."""
    for run_id in (event["run_id"], *event["parent_ids"]):
        ids.setdefault(run_id, len(ids))
    metadata = {k: v for k, v in event["metadata"].items() if k != "lc_versions"}
    data = _HEX32.sub("<id>", _UUID.sub("<uuid>", repr(event.get("data"))))
    return (event["event"], event["name"], ids[event["run_id"]], [ids[p] for p in event["parent_ids"]],
            event["tags"], _UUID.sub("<uuid>", repr(metadata)), data)


def events_of(lib: SimpleNamespace, build: Any, *inputs: Any, sync: bool = False, **kwargs: Any) -> list[tuple[Any, ...]]:
    graph = build(lib)
    config = {"configurable": {"thread_id": "1"}}
    out: list[tuple[Any, ...]] = []
    ids: dict[str, int] = {}
    for graph_input in inputs:
        graph_input = graph_input(lib) if callable(graph_input) else graph_input
        if sync:
            out += [shown(e, ids) for e in graph.stream_events(graph_input, config, version="v2", **kwargs)]
        else:
            async def collect(given: Any) -> list[dict[str, Any]]:
                return [e async for e in graph.astream_events(given, config, version="v2", **kwargs)]

            out += [shown(e, ids) for e in asyncio.run(collect(graph_input))]
    return out


def same_events(build: Any, *inputs: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    theirs = events_of(LANGGRAPH, build, *inputs, **kwargs)
    ours = events_of(STREAMHIL, build, *inputs, **kwargs)
    assert ours == theirs
    return ours


def resume(value: Any) -> Any:
    return lambda lib: lib.types.Command(resume=value)


def hitl_graph(lib: SimpleNamespace) -> Any:
    def a(state: Counter) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["a"]}

    async def b(state: Counter) -> dict[str, Any]:
        return {"log": ["b"]}

    def ask(state: Counter) -> dict[str, Any]:
        return {"log": [lib.types.interrupt("ok?")]}

    g = lib.graph.StateGraph(Counter)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_node("ask", ask)
    g.add_edge(lib.graph.START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "ask")
    g.add_edge("ask", lib.graph.END)
    return g.compile(checkpointer=lib.memory.InMemorySaver())


def test_nodes_an_interrupt_and_its_resume() -> None:
    events = same_events(hitl_graph, {"x": 1, "log": []}, resume("yes"))
    kinds = [(e[0], e[1]) for e in events]
    assert kinds[:2] == [("on_chain_start", "LangGraph"), ("on_chain_start", "a")]
    assert ("on_chain_end", "ask") in kinds and kinds[-1] == ("on_chain_end", "LangGraph")


def test_sync_stream_events_gives_what_astream_events_gives() -> None:
    """(LangChain's ``stream_events`` refuses ``version="v2"``; streamhil's gives the same
    events as ``astream_events``, LangGraph's async ones being the reference.)"""
    theirs = events_of(LANGGRAPH, hitl_graph, {"x": 1, "log": []}, resume("yes"))
    assert events_of(STREAMHIL, hitl_graph, {"x": 1, "log": []}, resume("yes"), sync=True) == theirs


def chat_graph(lib: SimpleNamespace) -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage("hello there"), AIMessage("second reply")]))

    @create_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    async def chat(state: Chat) -> dict[str, Any]:
        reply = await model.ainvoke(state["messages"])
        await adispatch_custom_event("progress", {"done": 1})
        await add.ainvoke({"a": 1, "b": 2})
        return {"messages": [reply]}

    def again(state: Chat) -> dict[str, Any]:  # a sync node: the model runs in its worker thread
        reply = model.invoke(state["messages"])
        dispatch_custom_event("progress", {"done": 2})
        return {"messages": [reply]}

    g = lib.graph.StateGraph(Chat)
    g.add_node("chat", chat)
    g.add_node("again", again)
    g.add_edge(lib.graph.START, "chat")
    g.add_edge("chat", "again")
    return g.compile()


def test_chat_model_tokens_tools_and_custom_events_inside_nodes() -> None:
    events = same_events(chat_graph, {"messages": [HumanMessage("hi", id="h1")]})
    kinds = {e[0] for e in events}
    assert {"on_chat_model_start", "on_chat_model_stream", "on_chat_model_end", "on_tool_start", "on_tool_end",
            "on_custom_event"} <= kinds
    model_start = next(e for e in events if e[0] == "on_chat_model_start")
    node_start = next(e for e in events if e[0] == "on_chain_start" and e[1] == "chat")
    assert model_start[3] == [0, node_start[2]]  # the graph, then the node


def chain_graph(lib: SimpleNamespace) -> Any:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    model = GenericFakeChatModel(messages=iter([AIMessage("streamed answer"), AIMessage("whole answer")]))
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | model | StrOutputParser()

    async def ask(state: Counter) -> dict[str, Any]:
        pieces = [piece async for piece in chain.astream({"question": "why?"})]  # streamed inside the node
        whole = await chain.ainvoke({"question": "how?"})
        return {"log": ["".join(pieces), whole]}

    g = lib.graph.StateGraph(Counter)
    g.add_node("ask", ask)
    g.add_edge(lib.graph.START, "ask")
    return g.compile()


def test_prompts_parsers_and_streamed_chains_inside_a_node() -> None:
    events = same_events(chain_graph, {"x": 0, "log": []})
    kinds = {e[0] for e in events}
    assert {"on_prompt_start", "on_prompt_end", "on_parser_start", "on_parser_stream", "on_parser_end",
            "on_chain_stream"} <= kinds
    filtered = {"include_types": ["parser", "prompt"]}
    ours = events_of(STREAMHIL, chain_graph, {"x": 0, "log": []}, **filtered)
    theirs = events_of(LANGGRAPH, chain_graph, {"x": 0, "log": []}, **filtered)
    assert ours and [e[:6] for e in ours] == [e[:6] for e in theirs]  # (data: see test_filters)


def test_filters() -> None:
    for kwargs in (
        {"include_types": ["chat_model"]},
        {"include_names": ["chat"], "include_tags": ["graph:step:2"]},
        {"exclude_types": ["chain"], "exclude_names": ["progress"]},
        {"include_types": ["chain"], "exclude_tags": ["graph:step:1"]},
    ):
        graph_input = {"messages": [HumanMessage("hi", id="h1")]}
        ours = events_of(STREAMHIL, chat_graph, graph_input, **kwargs)
        theirs = events_of(LANGGRAPH, chat_graph, graph_input, **kwargs)
        # the same events (their data is compared unfiltered above: with the graph's own events
        # filtered out, LangChain's handler gives a model's inputs flattened, or not at all)
        assert [e[:6] for e in ours] == [e[:6] for e in theirs] and ours, kwargs


def subgraph_graph(lib: SimpleNamespace) -> Any:
    def inner(state: Counter) -> dict[str, Any]:
        return {"log": ["inner"]}

    sub = lib.graph.StateGraph(Counter)
    sub.add_node("inner", inner)
    sub.add_edge(lib.graph.START, "inner")

    def outer(state: Counter) -> dict[str, Any]:
        return {"x": state["x"] * 10}

    g = lib.graph.StateGraph(Counter)
    g.add_node("sub", sub.compile())
    g.add_node("outer", outer)
    g.add_edge(lib.graph.START, "sub")
    g.add_edge("sub", "outer")
    return g.compile()


def test_a_subgraphs_nodes_hang_from_the_node_that_runs_it() -> None:
    ours = events_of(STREAMHIL, subgraph_graph, {"x": 1, "log": []})
    theirs = events_of(LANGGRAPH, subgraph_graph, {"x": 1, "log": []})
    inner = next(e for e in ours if e[0] == "on_chain_start" and e[1] == "inner")
    sub = next(e for e in ours if e[0] == "on_chain_start" and e[1] == "sub")
    assert inner[3][:2] == [0, sub[2]]  # the graph, then the node that runs the subgraph

    def top(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:  # the graph and its own nodes
        return [(e[0], e[1], e[6]) for e in events if len(e[3]) <= 1]

    assert top(ours) == top(theirs)
    assert [(e[0], e[1]) for e in ours if e[1] == "inner"] == [(e[0], e[1]) for e in theirs if e[1] == "inner"]


def test_version_v1_and_unknown_arguments_are_refused() -> None:
    graph = hitl_graph(STREAMHIL)

    async def first(**kwargs: Any) -> Any:
        async for event in graph.astream_events({"x": 1, "log": []}, {"configurable": {"thread_id": "v"}}, **kwargs):
            return event

    with pytest.raises(NotImplementedError, match="v1"):
        asyncio.run(first(version="v1"))
    with pytest.raises(TypeError, match="stream_mode"):
        asyncio.run(first(version="v2", stream_mode="values"))


def test_leaving_early_cancels_the_run_and_the_thread_goes_on() -> None:
    graph = hitl_graph(STREAMHIL)
    config = {"configurable": {"thread_id": "early"}}

    async def scenario() -> Any:
        async for event in graph.astream_events({"x": 1, "log": []}, config, version="v2"):
            if event["event"] == "on_chain_end" and event["name"] == "a":
                break
        return await graph.ainvoke(None, config)

    result = asyncio.run(scenario())
    assert result["log"][:1] == ["a"] and "__interrupt__" in result


def test_astream_events_of_a_subgraph_inside_a_node() -> None:
    """``sub.astream_events(...)`` called inside a node gives the subgraph's own events."""

    def names(lib: SimpleNamespace) -> Any:
        sub = lib.graph.StateGraph(Counter)
        sub.add_node("inner", lambda state: {"log": ["inner"]})
        sub.add_edge(lib.graph.START, "inner")
        compiled = sub.compile()

        async def outer(state: Counter) -> dict[str, Any]:
            seen = [f"{e['event']}:{e['name']}" async for e in compiled.astream_events({"x": 0, "log": []}, version="v2")]
            return {"log": seen}

        g = lib.graph.StateGraph(Counter)
        g.add_node("outer", outer)
        g.add_edge(lib.graph.START, "outer")
        return asyncio.run(g.compile().ainvoke({"x": 0, "log": []}))["log"]

    # (LangGraph adds a graph-level on_chain_stream before the subgraph's first node there; the
    # rest is the same)
    def without_graph_stream(seen: list[str]) -> list[str]:
        return [s for s in seen if s != "on_chain_stream:LangGraph"]

    ours = names(STREAMHIL)
    assert without_graph_stream(ours) == without_graph_stream(names(LANGGRAPH))
    assert "on_chain_start:inner" in ours and ours[-1] == "on_chain_end:LangGraph"
