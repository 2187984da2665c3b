"""create_react_agent: the model -> tools -> model loop, built with ``StateGraph(MessagesState)``.

The ``agent`` node calls the chat model with the conversation and the tool specs. When the reply
has tool calls, each call is sent to the ``tools`` node as its own task (``Send``), so the calls
run in parallel, and a tool that interrupts pauses only its own task: parallel reviews surface as
parallel interrupts, answerable one at a time, and answering one re-runs only that call.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..constants import END, START
from ..graph import StateGraph
from ..messages import Message, MessagesState, coerce_message, coerce_messages
from ..types import Send
from .chat_models import ChatModel, call_chat_model
from ._tool_errors import ErrorHandling, _default_handle_tool_errors
from .tool_node import ToolNode, messages_of, send_tool_calls, tools_condition
from .tools import Tool, derives_from

__all__ = ["create_react_agent", "send_tool_calls", "tools_condition"]

Prompt = str | Message | Callable[[Any], Sequence[Any] | Awaitable[Sequence[Any]]]


def resolve_model(model: ChatModel | str) -> ChatModel:
    """A chat model from a callable, or from ``"openai:<model name>"``."""
    if isinstance(model, str):
        provider, _, name = model.partition(":")
        if provider == "openai" and name:
            from .openai import OpenAIChatModel

            return OpenAIChatModel(name)
        raise ValueError(
            f"cannot build a chat model from {model!r}: pass a chat model callable, or "
            "'openai:<model name>' for an OpenAI-compatible endpoint"
        )
    if derives_from(model, "langchain_core.language_models", "BaseChatModel"):
        from .langchain import chat_model_from_langchain

        return chat_model_from_langchain(model)
    if not callable(model):
        raise TypeError(f"model must be a chat model callable (messages, tools) -> reply, got {model!r}")
    return model


async def _prompted(prompt: Prompt | None, state: Any, messages: list[Message]) -> list[Message]:
    if prompt is None:
        return messages
    if isinstance(prompt, str):
        return [{"role": "system", "content": prompt, "id": "system-prompt"}, *messages]
    if isinstance(prompt, Mapping):
        return [coerce_message(prompt), *messages]
    if callable(prompt):
        produced = prompt(state)
        if inspect.isawaitable(produced):
            produced = await produced
        return coerce_messages(produced)
    raise TypeError(f"prompt must be a string, a message dict or a function of the state, got {prompt!r}")


def create_react_agent(
    model: ChatModel | str,
    tools: Sequence[Tool | Callable[..., Any]] | ToolNode,
    *,
    checkpointer: Any = None,
    prompt: Prompt | None = None,
    name: str | None = None,
    handle_tool_errors: ErrorHandling = _default_handle_tool_errors,
    interrupt_before: Sequence[str] | None = None,
    interrupt_after: Sequence[str] | None = None,
    state_schema: Any = MessagesState,
) -> Any:
    """A compiled agent graph: ``agent`` calls the model, ``tools`` runs what it asks for.

    ``model`` is a chat model (see :mod:`streamhil.prebuilt.chat_models`) or
    ``"openai:<model name>"``. ``prompt`` is a system prompt string, a message, or a function
    ``state -> messages`` (sync or async) that builds the model's input. The loop ends when a
    reply has no tool calls. ``handle_tool_errors`` (not in LangGraph's signature) is passed to
    the ToolNode; its default is LangGraph's: a tool that raises fails the run, arguments that do
    not fit a tool's schema are answered with an error tool message.
    """
    chat_model = resolve_model(model)
    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(tools, handle_tool_errors=handle_tool_errors)
    if derives_from(model, "langchain_core.language_models", "BaseChatModel"):
        tool_node.langchain_messages = True  # LangGraph streams its ToolMessages
    specs = tool_node.specs
    messages_key = tool_node.messages_key

    async def agent(state: Any) -> dict[str, Any]:
        messages = coerce_messages(messages_of(state, messages_key))
        reply = await call_chat_model(chat_model, await _prompted(prompt, state, messages), specs)
        return {messages_key: [reply]}

    builder = StateGraph(state_schema)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    if tool_node.tools_by_name:
        tools_node_name = tool_node.name

        def route(state: Any) -> list[Send] | str:
            return send_tool_calls(state, tools_node_name, messages_key)

        builder.add_node(tools_node_name, tool_node)
        builder.add_conditional_edges("agent", route, [tools_node_name, END])
        builder.add_edge(tools_node_name, "agent")
    else:
        builder.add_edge("agent", END)
    return builder.compile(
        checkpointer=checkpointer,
        name=name,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
    )
