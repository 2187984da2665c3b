"""Optional interop with langchain-core (the ``langchain`` extra): LangChain tools (``BaseTool``,
``@tool``) and chat models (``BaseChatModel``, its fake models included) work in ToolNode and
create_react_agent, as they do in LangGraph.

streamhil never needs LangChain: this module is imported only once a LangChain object is seen
(``is_langchain_tool`` / ``is_langchain_chat_model`` recognise them without importing it). State
stays plain message dicts; conversion happens at the model's edge.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

try:
    import langchain_core
    from langchain_core.messages import convert_to_messages
    from langchain_core.utils.function_calling import convert_to_openai_tool
except ImportError:  # pragma: no cover - only reached when a LangChain object exists without it
    langchain_core = None  # type: ignore[assignment]

from .._backend import current_backend
from ..executor.context import current_task, get_config
from ..executor.langchain_messages import langchain_dict
from ..messages import Message, coerce_message, langchain_message_dict
from ._tool import Tool, ToolOutput, ToolSchemaError, _current_call, derives_from

__all__ = ["is_langchain_tool", "is_langchain_chat_model", "tool_from_langchain", "chat_model_from_langchain"]


def is_langchain_tool(value: Any) -> bool:
    """Whether ``value`` is a LangChain ``BaseTool`` (``@tool`` functions are)."""
    return derives_from(value, "langchain_core.tools", "BaseTool")


def is_langchain_chat_model(value: Any) -> bool:
    """Whether ``value`` is a LangChain ``BaseChatModel``."""
    return derives_from(value, "langchain_core.language_models", "BaseChatModel")


def _require_langchain() -> None:
    if langchain_core is None:
        raise ImportError("this object comes from LangChain, but langchain-core cannot be imported; "
                          "pip install 'streamhil[langchain]'")


def _run_config() -> dict[str, Any] | None:
    """The running node's config, handed to LangChain as its ``RunnableConfig``."""
    return get_config() if current_task() is not None else None


def tool_from_langchain(lc_tool: Any, *, name: str | None = None, description: str | None = None) -> Tool:
    """A streamhil :class:`Tool` that runs the LangChain tool (LangChain validates the arguments
    and injects ``config``; an ``interrupt()`` inside it pauses the graph as usual).

    Run by ToolNode, it is given the tool call, as LangGraph's ToolNode gives it, so LangChain
    writes the tool message: its content (LangChain's formatting), its ``artifact``
    (``response_format="content_and_artifact"``), its ``status`` (``"error"`` when the tool's
    own ``handle_tool_error``/``handle_validation_error`` answered), and an
    ``InjectedToolCallId`` argument gets the call's id."""
    _require_langchain()
    parameters = dict(convert_to_openai_tool(lc_tool)["function"].get("parameters") or {})
    parameters.setdefault("type", "object")
    if parameters["type"] != "object":
        raise ToolSchemaError(f"LangChain tool {lc_tool.name!r}: its arguments schema is not an object")

    tool_name = name or lc_tool.name

    async def run(**args: Any) -> Any:
        config = _run_config()
        call = _current_call.get()
        if call is not None and call["name"] != tool_name:
            call = None  # called by another tool, not for a call of its own
        tool_input = args if call is None else {"type": "tool_call", "id": call["id"], "name": lc_tool.name, "args": args}
        if getattr(lc_tool, "coroutine", None) is not None and current_backend() == "asyncio":
            result = await lc_tool.ainvoke(tool_input, config)
        else:
            # Sync tools (and any tool on trio) run in a worker thread; anyio copies the context,
            # so interrupt() and get_config() work inside them.
            result = await anyio.to_thread.run_sync(lambda: lc_tool.invoke(tool_input, config))
        if call is not None and derives_from(result, "langchain_core.messages", "ToolMessage"):
            return ToolOutput(result.content, status=result.status, artifact=result.artifact)
        return result

    return Tool(
        name=tool_name,
        description=lc_tool.description if description is None else description,
        parameters=parameters,
        fn=run,
        is_async=True,
        validates=False,
    )


def chat_model_from_langchain(model: Any) -> Any:
    """A streamhil chat model (``(messages, tools) -> reply``) calling a LangChain chat model:
    tools are bound with ``bind_tools`` when the model supports it (LangChain's fake models do
    not, and then get the messages alone). When the run streams ``messages``, the node's
    LangChain callbacks (see :mod:`streamhil.executor.langchain_messages`) stream the reply."""
    _require_langchain()

    async def call(messages: list[Message], tools: list[dict[str, Any]]) -> Message:
        bound = model
        if tools:
            try:
                bound = model.bind_tools(tools)
            except NotImplementedError:
                bound = model
        lc_messages = convert_to_messages([langchain_dict(m) for m in messages])
        config = _run_config()
        reply = await anyio.to_thread.run_sync(lambda: bound.invoke(lc_messages, config))
        return coerce_message(langchain_message_dict(reply))

    call.__name__ = f"langchain:{type(model).__name__}"
    return call
