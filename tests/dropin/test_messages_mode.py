"""``stream_mode="messages"`` with LangChain chat models called inside nodes, side by side with
LangGraph 1.2.22: the same graph, built with each library, yields the same chunks (type,
content, id) with the same metadata (node, step, triggers, path, namespace, the model's ``ls_*``
keys, tags) — sync and async nodes, subgraphs with and without ``subgraphs=True``, a
``"nostream"`` model, messages a node returns (not those already streamed, nor its input),
create_react_agent's tool-call chunk and tool messages."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install 'streamhil[langchain]')")
pytest.importorskip("langgraph", reason="the side-by-side tests need langgraph")

import langgraph.checkpoint.memory as lg_memory  # noqa: E402
import langgraph.graph as lg_graph  # noqa: E402
import langgraph.prebuilt as lg_prebuilt  # noqa: E402
import langgraph.types as lg_types  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langchain_core.runnables.config import var_child_runnable_config  # noqa: E402
from langchain_core.tools import tool as create_tool  # noqa: E402

import streamhil.checkpoint.memory as sh_memory  # noqa: E402
import streamhil.graph as sh_graph  # noqa: E402
import streamhil.prebuilt as sh_prebuilt  # noqa: E402
import streamhil.types as sh_types  # noqa: E402
from streamhil.prebuilt import ScriptedChatModel  # noqa: E402

LANGGRAPH = SimpleNamespace(graph=lg_graph, memory=lg_memory, types=lg_types, prebuilt=lg_prebuilt)
STREAMHIL = SimpleNamespace(graph=sh_graph, memory=sh_memory, types=sh_types, prebuilt=sh_prebuilt)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def model(*replies: str, **kwargs: Any) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]), **kwargs)


def shown(part: Any, subgraphs: bool) -> tuple[Any, ...]:
    """A ``messages`` part without what differs run to run (uuids, LangChain's version)."""
    ns, (message, metadata) = part if subgraphs else ((), part)
    metadata = {k: v for k, v in metadata.items() if k != "lc_versions"}
    text = repr((ns, type(message).__name__, message.content, message.id, getattr(message, "tool_calls", None),
                 getattr(message, "chunk_position", None), metadata))
    return (_UUID.sub("<uuid>", text),)


def parts_of(graph: Any, graph_input: Any, *, subgraphs: bool = False, config: Any = None) -> list[tuple[Any, ...]]:
    """The graph's ``messages`` parts, through ``astream`` (LangGraph's sync API cannot run
    async nodes)."""
    config = config or {"configurable": {"thread_id": "1"}}

    async def collect() -> list[Any]:
        return [p async for p in graph.astream(graph_input, config, stream_mode="messages", subgraphs=subgraphs)]

    return [shown(p, subgraphs) for p in asyncio.run(collect())]


def chat_graph(lib: SimpleNamespace) -> Any:
    """A sync node calling a model, an async one awaiting one, a node whose model is tagged
    ``nostream`` (its reply comes whole, from the node's return), one passing its ``config`` on."""
    g = lib.graph
    plain, awaited, quiet, passed = model("hello there you"), model("async words"), model("quiet one"), model("with config")
    quiet = quiet.with_config(tags=["nostream"])

    def chat(state: Any) -> dict[str, Any]:
        return {"messages": [plain.invoke(state["messages"])]}

    async def achat(state: Any) -> dict[str, Any]:
        reply = await awaited.ainvoke(state["messages"])
        return {"messages": [reply, state["messages"][0]]}  # its input is not streamed again

    def silent(state: Any) -> Any:
        return lib.types.Command(update={"messages": [quiet.invoke(state["messages"])]})

    def configured(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [passed.invoke(state["messages"], config), AIMessage("no model", id="m-plain")]}

    builder = g.StateGraph(g.MessagesState)
    for name, fn in (("chat", chat), ("achat", achat), ("silent", silent), ("configured", configured)):
        builder.add_node(name, fn)
    builder.add_edge(g.START, "chat")
    builder.add_edge("chat", "achat")
    builder.add_edge("achat", "silent")
    builder.add_edge("silent", "configured")
    return builder.compile(checkpointer=lib.memory.InMemorySaver())


def test_models_called_in_nodes_stream_as_in_langgraph() -> None:
    run = {"configurable": {"thread_id": "t", "user": "u"}, "metadata": {"origin": "test"}, "tags": ["mine"]}
    graph_input = {"messages": [HumanMessage("hi", id="h1")]}
    expected = parts_of(chat_graph(LANGGRAPH), graph_input, config=run)
    got = parts_of(chat_graph(STREAMHIL), graph_input, config=run)
    assert got == expected
    assert len(got) == 13 and "AIMessageChunk" in got[0][0] and "'ls_provider': 'genericfakechatmodel'" in got[0][0]


def subgraph_graph(lib: SimpleNamespace) -> Any:
    g = lib.graph
    inner_model = model("sub reply")

    def inner(state: Any) -> dict[str, Any]:
        return {"messages": [inner_model.invoke(state["messages"]), AIMessage("inner plain", id="ip")]}

    sub = g.StateGraph(g.MessagesState)
    sub.add_node("inner", inner)
    sub.add_edge(g.START, "inner")
    builder = g.StateGraph(g.MessagesState)
    builder.add_node("sub", sub.compile())
    builder.add_edge(g.START, "sub")
    return builder.compile(checkpointer=lib.memory.InMemorySaver())


@pytest.mark.parametrize("subgraphs", [True, False])
def test_subgraph_messages_as_in_langgraph(subgraphs: bool) -> None:
    """With ``subgraphs=True`` the inner model's chunks come with the subgraph's namespace;
    without, only the subgraph node's new messages, whole, as the parent's node's."""
    graph_input = {"messages": [HumanMessage("hi", id="h1")]}
    expected = parts_of(subgraph_graph(LANGGRAPH), graph_input, subgraphs=subgraphs)
    assert parts_of(subgraph_graph(STREAMHIL), graph_input, subgraphs=subgraphs) == expected
    assert len(expected) == (4 if subgraphs else 2)


def test_parallel_sync_nodes_and_sends_stream_from_their_threads() -> None:
    def build(lib: SimpleNamespace) -> Any:
        g = lib.graph
        left, right, fanned = model("left side"), model("right side"), model("one", "two")

        def fan(state: Any) -> list[Any]:
            return [lib.types.Send("worker", {"messages": state["messages"][:1]}) for _ in range(2)]

        def worker(state: Any) -> dict[str, Any]:
            return {"messages": [fanned.invoke(state["messages"])]}

        builder = g.StateGraph(g.MessagesState)
        builder.add_node("left", lambda s: {"messages": [left.invoke(s["messages"])]})
        builder.add_node("right", lambda s: {"messages": [right.invoke(s["messages"])]})
        builder.add_node("worker", worker)
        builder.add_edge(g.START, "left")
        builder.add_edge(g.START, "right")
        builder.add_conditional_edges("left", fan, ["worker"])
        return builder.compile(checkpointer=lib.memory.InMemorySaver())

    graph_input = {"messages": [HumanMessage("hi", id="h1")]}
    config = {"configurable": {"thread_id": "p"}}
    expected = sorted(shown(p, False) for p in build(LANGGRAPH).stream(graph_input, config, stream_mode="messages"))
    got = sorted(shown(p, False) for p in build(STREAMHIL).stream(graph_input, config, stream_mode="messages"))
    assert got == expected  # sorted: parallel nodes interleave
    assert any("'__pregel_push'" in p[0] for p in expected)


class ToolCallingModel(BaseChatModel):
    """Replies in turn; streams a tool call as one chunk, text word by word."""

    replies: list[AIMessage]
    turn: int = 0

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingModel:
        return self

    def _next(self) -> AIMessage:
        reply = self.replies[self.turn % len(self.replies)]
        self.turn += 1
        return reply

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next())])

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        reply = self._next()
        if reply.tool_calls:
            pieces = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                      for i, c in enumerate(reply.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", id=reply.id, tool_call_chunks=pieces))
            return
        for word in str(reply.content).split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " ", id=reply.id))


def react_agent(lib: SimpleNamespace) -> Any:
    @create_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    replies = [AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}], id="ai-1"),
               AIMessage("it is three", id="ai-2")]
    return lib.prebuilt.create_react_agent(ToolCallingModel(replies=replies), [add], checkpointer=lib.memory.InMemorySaver())


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_react_agent_streams_the_tool_call_and_the_tool_messages_as_in_langgraph() -> None:
    graph_input = {"messages": [HumanMessage("1+2?", id="h1")]}
    expected = parts_of(react_agent(LANGGRAPH), graph_input)
    got = parts_of(react_agent(STREAMHIL), graph_input)
    assert got == expected
    assert any("ToolMessage" in p[0] and "'tools'" in p[0] for p in got)


def test_without_the_messages_mode_a_node_gets_no_langchain_config() -> None:
    seen: list[Any] = []

    def node(state: Any, config: RunnableConfig) -> dict[str, Any]:
        seen.append((var_child_runnable_config.get(), "callbacks" in config))
        return {}

    builder = sh_graph.StateGraph(sh_graph.MessagesState)
    builder.add_node("node", node)
    builder.add_edge(sh_graph.START, "node")
    graph = builder.compile()
    list(graph.stream({"messages": []}, stream_mode=["updates", "values"]))
    list(graph.stream({"messages": []}, stream_mode="messages"))
    assert seen[0] == (None, False)
    assert seen[1][0] is not None and seen[1][1] is True


def test_native_models_and_tools_keep_message_dicts_with_langchain_loaded() -> None:
    """A graph of streamhil's own chat model and tools: dict chunks, and no ToolMessage objects,
    even though langchain_core is imported in this process."""

    def lookup(city: str) -> str:
        """Weather of a city."""
        return f"sunny in {city}"

    chat = ScriptedChatModel([{"content": "", "tool_calls": [{"name": "lookup", "args": {"city": "Oslo"}}]}, "Sunny."],
                             stream=True)
    agent = sh_prebuilt.create_react_agent(chat, [lookup])
    parts = list(agent.stream({"messages": [{"role": "user", "content": "weather?"}]}, stream_mode="messages"))
    assert parts and all(isinstance(chunk, dict) and chunk["role"] == "assistant" for chunk, _ in parts)


def test_async_api_streams_an_async_nodes_model() -> None:
    graph = chat_graph(STREAMHIL)

    async def collect() -> list[Any]:
        return [p async for p in graph.astream({"messages": [HumanMessage("hi", id="h1")]},
                                               {"configurable": {"thread_id": "a"}}, stream_mode="messages")]

    parts = asyncio.run(collect())
    achat = [m for m, meta in parts if meta["langgraph_node"] == "achat"]
    assert [type(m) for m in achat] == [AIMessageChunk] * 3 and "".join(m.content for m in achat) == "async words"
    assert not any(isinstance(m, ToolMessage) for m, _ in parts)
