"""langchain-core interop (the optional `langchain` extra): LangChain's own fake chat models and
`@tool` tools in create_react_agent and ToolNode, LangChain messages in add_messages and
MessagesState, RunnableConfig as the config type, and seed 004's add_human_in_the_loop wrapper
(written against LangChain's tool interface) on LangChain and streamhil tools."""

from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install 'streamhil[langchain]')")

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as create_tool

from streamhil.checkpoint.memory import InMemorySaver
from streamhil.graph import START, MessagesState, StateGraph, add_messages
from streamhil.prebuilt import ToolNode, create_react_agent
from streamhil.prebuilt import tool as streamhil_tool
from streamhil.prebuilt.interrupt import HumanInterrupt, HumanInterruptConfig
from streamhil.types import Command, interrupt


def thread() -> RunnableConfig:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def booking_model(hotel: str = "McKittrick hotel") -> FakeMessagesListChatModel:
    """LangChain's fake model: asks for book_hotel, then answers."""
    return FakeMessagesListChatModel(
        responses=[
            AIMessage(content="", tool_calls=[{"name": "book_hotel", "args": {"hotel_name": hotel}, "id": "call_1"}]),
            AIMessage(content="Your stay is booked."),
        ]
    )


def test_langchain_messages_in_add_messages() -> None:
    merged = add_messages([HumanMessage("hi", id="1")], [AIMessage("hello", id="2"), ("user", "again")])
    assert [(m["role"], m["content"]) for m in merged] == [("user", "hi"), ("assistant", "hello"), ("user", "again")]
    assert [m["id"] for m in merged[:2]] == ["1", "2"]
    assert [m["id"] for m in add_messages(merged, [RemoveMessage(id="1")])] == ["2", merged[2]["id"]]
    replaced = add_messages(merged, [AIMessage("edited", id="2")])
    assert replaced[1]["content"] == "edited" and len(replaced) == 3
    [tool_msg] = add_messages([], [ToolMessage("done", tool_call_id="c1", name="t", id="3")])
    assert (tool_msg["role"], tool_msg["tool_call_id"], tool_msg["status"]) == ("tool", "c1", "success")


def test_langchain_messages_in_messages_state_and_runnable_config() -> None:
    seen: dict[str, Any] = {}

    def node(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        seen["thread_id"] = config["configurable"]["thread_id"]
        return {"messages": [AIMessage(f"echo: {state['messages'][-1]['content']}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    result = graph.invoke({"messages": [HumanMessage("Hello!")]}, config)
    assert [(m["role"], m["content"]) for m in result["messages"]] == [("user", "Hello!"), ("assistant", "echo: Hello!")]
    assert seen["thread_id"] == config["configurable"]["thread_id"]


def test_langchain_tool_in_tool_node() -> None:
    @create_tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    assert isinstance(multiply, BaseTool)
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([multiply]))
    builder.add_edge(START, "tools")
    graph = builder.compile()
    call = AIMessage("", tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 7}, "id": "c1"}])
    result = graph.invoke({"messages": [call]})
    assert result["messages"][-1]["content"] == "42" and result["messages"][-1]["status"] == "success"
    bad = AIMessage("", tool_calls=[{"name": "multiply", "args": {"a": "six"}, "id": "c2"}], id="m2")
    reply = graph.invoke({"messages": [bad]})["messages"][-1]
    assert reply["status"] == "error" and reply["tool_call_id"] == "c2"


@pytest.mark.anyio
async def test_fake_chat_model_and_langchain_tool_with_interrupt_in_react_agent() -> None:
    """Seed 004's book_hotel, as a LangChain @tool, paused by interrupt() inside it."""

    @create_tool
    def book_hotel(hotel_name: str) -> str:
        """Book a hotel"""
        response = interrupt(f"Trying to call `book_hotel` with args {{'hotel_name': {hotel_name}}}.")
        if response["type"] == "edit":
            hotel_name = response["args"]["hotel_name"]
        return f"Successfully booked a stay at {hotel_name}."

    agent = create_react_agent(model=booking_model(), tools=[book_hotel], checkpointer=InMemorySaver())
    config = thread()
    chunks = [c async for c in agent.astream({"messages": [{"role": "user", "content": "book"}]}, config)]
    [asked] = chunks[-1]["__interrupt__"]
    assert asked.value.startswith("Trying to call `book_hotel` with args {'hotel_name': McKittrick hotel}")
    chunks = [c async for c in agent.astream(Command(resume={"type": "edit", "args": {"hotel_name": "The Plaza"}}), config)]
    tool_reply = next(c["tools"]["messages"][0] for c in chunks if "tools" in c)
    assert tool_reply["content"] == "Successfully booked a stay at The Plaza."
    final = (await agent.aget_state(config)).values["messages"][-1]
    assert (final["role"], final["content"]) == ("assistant", "Your stay is booked.")


def test_generic_fake_chat_model_replies() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("plain answer")]))
    agent = create_react_agent(model=model, tools=[])
    result = agent.invoke({"messages": [HumanMessage("question")]})
    assert [m["role"] for m in result["messages"]] == ["user", "assistant"]
    assert result["messages"][-1]["content"] == "plain answer"


def make_add_human_in_the_loop(BaseTool: Any, create_tool: Any) -> Any:  # noqa: N803
    """Seed 004's wrapper, verbatim, over LangChain's ``BaseTool``/``tool`` or streamhil's
    ``Tool``/``tool`` (what a user without LangChain would import instead)."""

    def add_human_in_the_loop(
        tool: Callable | BaseTool,  # type: ignore[type-arg]
        *,
        interrupt_config: HumanInterruptConfig = None,  # type: ignore[assignment]
    ) -> BaseTool:
        """Wrap a tool to support human-in-the-loop review."""
        if not isinstance(tool, BaseTool):
            tool = create_tool(tool)

        if interrupt_config is None:
            interrupt_config = {
                "allow_accept": True,
                "allow_edit": True,
                "allow_respond": True,
            }

        @create_tool(
            tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
        )
        def call_tool_with_interrupt(config: RunnableConfig, **tool_input):  # type: ignore[no-untyped-def]
            request: HumanInterrupt = {
                "action_request": {"action": tool.name, "args": tool_input},
                "config": interrupt_config,
                "description": "Please review the tool call",
            }
            response = interrupt([request])[0]
            # approve the tool call
            if response["type"] == "accept":
                tool_response = tool.invoke(tool_input, config)
            # update tool call args
            elif response["type"] == "edit":
                tool_input = response["args"]["args"]
                tool_response = tool.invoke(tool_input, config)
            # respond to the LLM with user feedback
            elif response["type"] == "response":
                user_feedback = response["args"]
                tool_response = user_feedback
            else:
                raise ValueError(f"Unsupported interrupt response type: {response['type']}")

            return tool_response

        return call_tool_with_interrupt

    return add_human_in_the_loop


def book_hotel(hotel_name: str):  # type: ignore[no-untyped-def]
    """Book a hotel"""
    return f"Successfully booked a stay at {hotel_name}."


@pytest.mark.parametrize(
    "variant", ["LangChain tool, plain function", "streamhil tool, plain function", "streamhil tool, streamhil tool"]
)
@pytest.mark.parametrize(
    ("answer", "booked"),
    [
        ([{"type": "accept"}], "Successfully booked a stay at McKittrick hotel."),
        ([{"type": "edit", "args": {"args": {"hotel_name": "McKittrick Hotel"}}}], "Successfully booked a stay at McKittrick Hotel."),
        ([{"type": "response", "args": "no, not this week"}], "no, not this week"),
    ],
)
def test_seed_004_add_human_in_the_loop_wrapper(variant: str, answer: list[dict[str, Any]], booked: str) -> None:
    from streamhil.prebuilt import Tool

    if variant.startswith("LangChain"):
        add_human_in_the_loop = make_add_human_in_the_loop(BaseTool, create_tool)
    else:
        add_human_in_the_loop = make_add_human_in_the_loop(Tool, streamhil_tool)
    inner: Any = book_hotel
    if variant.endswith("streamhil tool"):
        inner = streamhil_tool(book_hotel)
        assert inner.args_schema["properties"] == {"hotel_name": {"type": "string"}}
        assert (inner.name, inner.description) == ("book_hotel", "Book a hotel")
    wrapped = add_human_in_the_loop(inner)
    assert wrapped.name == "book_hotel"
    agent = create_react_agent(model=booking_model(), tools=[wrapped], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    chunks = list(agent.stream({"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config))
    [asked] = chunks[-1]["__interrupt__"]
    [request] = asked.value
    assert request["action_request"] == {"action": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}}
    assert request["config"] == {"allow_accept": True, "allow_edit": True, "allow_respond": True}
    chunks = list(agent.stream(Command(resume=answer), config))
    [tool_reply] = next(c["tools"]["messages"] for c in chunks if "tools" in c)
    assert tool_reply["content"] == booked
    assert chunks[-1]["agent"]["messages"][-1]["content"] == "Your stay is booked."


def test_streamhil_tool_gets_the_run_config() -> None:
    seen = {}

    @streamhil_tool
    def whoami(config: RunnableConfig) -> str:
        """Which thread runs me."""
        seen["config"] = config
        return config["configurable"]["thread_id"]

    assert whoami.args_schema["properties"] == {}
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([whoami]))
    builder.add_edge(START, "tools")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = thread()
    call = AIMessage("", tool_calls=[{"name": "whoami", "args": {}, "id": "c1"}])
    result = graph.invoke({"messages": [call]}, config)
    assert result["messages"][-1]["content"] == config["configurable"]["thread_id"]


def test_langchain_model_tokens_reach_the_messages_stream_mode() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("streamed word by word")]))
    agent = create_react_agent(model=model, tools=[])
    parts = list(agent.stream({"messages": [HumanMessage("go")]}, stream_mode="messages"))
    chunks = [chunk for chunk, metadata in parts if metadata["langgraph_node"] == "agent"]
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)  # as LangGraph's
    assert "".join(c.content for c in chunks) == "streamed word by word"
    assert {c.id for c in chunks} == {chunks[0].id}
