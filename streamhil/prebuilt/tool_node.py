"""ToolNode: a graph node that runs the tool calls of the last assistant message.

Every call runs concurrently in one task group (sync tools in worker threads) and is answered by
a tool message carrying its ``tool_call_id``. As in LangGraph, arguments that do not fit a tool's
schema are answered with an error tool message (``status: "error"``) the model can read; any
other exception a tool raises fails the node, unless ``handle_tool_errors`` says otherwise (see
:mod:`._tool_errors`). ``interrupt()`` inside a tool is not an ``Exception`` and always reaches
the runtime.

A ToolNode takes any of:

- a state dict: runs every tool call of the last message under ``messages_key``;
- a list of messages: the same, and returns a list of tool messages;
- one tool call, ``{"type": "tool_call", "id", "name", "args"}``: what
  ``Send("tools", call)`` delivers, so each call can be its own task (see
  :func:`~streamhil.prebuilt.react_agent.send_tool_calls`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

from ..constants import END
from ..errors import GraphBubbleUp, GraphInterrupt
from ..executor.context import stream_returned_messages
from ..messages import Message, coerce_message
from ..types import Send
from ._tool_errors import ErrorHandling, ToolInvocationError, _default_handle_tool_errors, as_invocation_error, error_answer
from .tools import Tool, ToolOutput, _reset_tool_call, _is_langchain_tool, _set_tool_call, create_tool

__all__ = [
    "ToolNode",
    "ToolInvocationError",
    "tool_calls_of",
    "tool_message",
    "tools_condition",
    "send_tool_calls",
    "messages_of",
]


def tool_calls_of(value: Any, messages_key: str = "messages") -> list[dict[str, Any]]:
    """The tool calls a ToolNode would run for ``value`` (state, message list or one call)."""
    if isinstance(value, Mapping) and value.get("type") == "tool_call":
        return [_as_call(value)]
    if isinstance(value, Mapping):
        if messages_key not in value:
            raise ValueError(f"ToolNode input has no {messages_key!r} key; got keys {sorted(value)}")
        messages = value[messages_key]
    elif isinstance(value, list):
        messages = value
    else:
        raise TypeError(
            f"ToolNode takes a state dict, a list of messages or one tool call, got {type(value).__name__}"
        )
    if not messages:
        raise ValueError("ToolNode found no messages; it needs an assistant message with tool calls")
    last = coerce_message(messages[-1])
    if last["role"] != "assistant":
        raise ValueError(f"ToolNode expects the last message to be the assistant's, got a {last['role']!r} message")
    return [_as_call(call) for call in last.get("tool_calls", ())]


def _as_call(call: Mapping[str, Any]) -> dict[str, Any]:
    name = call.get("name")
    if not isinstance(name, str):
        raise ValueError(f"a tool call needs a string 'name', got {call!r}")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise ValueError(f"a tool call needs a string 'id' to answer it by, got {call!r}")
    return {"id": call_id, "name": name, "args": call.get("args", {})}


_CONTENT_BLOCK_TYPES = frozenset(
    {"text", "image_url", "image", "json", "search_result", "custom_tool_call_output", "document", "file"}
)
"""Content blocks a tool may return as its message's content unchanged (LangGraph's list)."""


def _content(value: Any) -> Any:
    """A tool's result as its message's content, as LangGraph's ToolNode makes it: text and a
    list of content blocks unchanged, anything else as JSON text (``json.dumps``' spacing, non-ASCII
    kept), or its ``str()`` if it is not JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(block, dict) and block.get("type") in _CONTENT_BLOCK_TYPES for block in value
    ):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def tool_message(call: Mapping[str, Any], content: Any, *, status: str = "success", artifact: Any = None) -> Message:
    """The tool message that answers ``call``."""
    message: Message = {
        "role": "tool",
        "content": _content(content),
        "tool_call_id": call["id"],
        "name": call["name"],
        "status": status,
    }
    if artifact is not None:
        message["artifact"] = artifact
    return coerce_message(message)


class ToolNode:
    """Runs tool calls concurrently and answers each with a tool message.

    ``handle_tool_errors``, as LangGraph's: by default only arguments that do not fit a tool's
    schema (a :class:`ToolInvocationError`) are answered with an error tool message, and any
    other exception fails the node; ``True`` answers every exception; ``False`` none; an
    exception type or tuple answers those; a string is the answer to every exception; a function
    ``(exc) -> str`` answers the exceptions its parameter is annotated with (all without one).
    """

    def __init__(
        self,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        name: str = "tools",
        handle_tool_errors: ErrorHandling = _default_handle_tool_errors,
        messages_key: str = "messages",
    ) -> None:
        self.name = name
        self.messages_key = messages_key
        self.handle_tool_errors = handle_tool_errors
        self.tools_by_name: dict[str, Tool] = {}
        self.langchain_messages = any(_is_langchain_tool(item) for item in tools)
        """Whether the tool messages also go to the ``messages`` stream mode, as LangChain
        ``ToolMessage``s (LangGraph's ToolNode returns those): on when a tool is a LangChain tool;
        ``create_react_agent`` turns it on for a LangChain chat model."""
        for item in tools:
            built = item if isinstance(item, Tool) else create_tool(item)
            if built.name in self.tools_by_name:
                raise ValueError(f"two tools are named {built.name!r}; tool names must be unique")
            self.tools_by_name[built.name] = built

    def __repr__(self) -> str:
        return f"ToolNode(name={self.name!r}, tools={list(self.tools_by_name)})"

    @property
    def tools(self) -> list[Tool]:
        return list(self.tools_by_name.values())

    @property
    def specs(self) -> list[dict[str, Any]]:
        """The tools in the form chat models take."""
        return [t.spec for t in self.tools_by_name.values()]

    async def __call__(self, value: Any) -> Any:
        calls = tool_calls_of(value, self.messages_key)
        messages = await self.run_calls(calls)
        if self.langchain_messages:
            stream_returned_messages(messages)
        if isinstance(value, list):
            return messages
        return {self.messages_key: messages}

    async def run_calls(self, calls: Sequence[Mapping[str, Any]]) -> list[Message]:
        """Run ``calls`` concurrently; the tool messages come back in the order of the calls.

        If tools interrupt, the others still finish and every interrupt is raised together in
        one ``GraphInterrupt``. Interrupts of one task are matched to answers by the order the
        tools reached ``interrupt()``, which concurrent tools do not keep between runs: when
        more than one call may interrupt, give each its own task with ``Send``.
        """
        results: list[Message | None] = [None] * len(calls)
        bubbles: dict[int, GraphBubbleUp] = {}
        failures: dict[int, Exception] = {}

        async def run(index: int, call: Mapping[str, Any], scope: anyio.CancelScope) -> None:
            try:
                results[index] = await self.run_call(call)
            except GraphBubbleUp as exc:
                bubbles[index] = exc
            except Exception as exc:
                failures[index] = exc
                scope.cancel()

        async with anyio.create_task_group() as tg:
            for index, call in enumerate(calls):
                tg.start_soon(run, index, call, tg.cancel_scope)
        if failures:
            raise failures[min(failures)]
        if bubbles:
            ordered = [bubbles[i] for i in sorted(bubbles)]
            if all(isinstance(b, GraphInterrupt) for b in ordered) and len(ordered) > 1:
                raise GraphInterrupt(tuple(i for b in ordered for i in b.interrupts))  # type: ignore[attr-defined]
            raise ordered[0]
        return [m for m in results if m is not None]

    async def run_call(self, call: Mapping[str, Any]) -> Message:
        """Run one tool call and answer it; errors become error tool messages when handled."""
        call = _as_call(call)
        tool = self.tools_by_name.get(call["name"])
        if tool is None:
            known = ", ".join(self.tools_by_name)  # the text LangGraph's ToolNode answers (the model reads it)
            return tool_message(call, f"Error: {call['name']} is not a valid tool, try one of [{known}].", status="error")
        token = _set_tool_call(call)
        try:
            output = await tool.ainvoke(call["args"])
        except Exception as exc:
            invocation_error = as_invocation_error(call, exc)
            if invocation_error is not None:
                exc = invocation_error
            text = error_answer(exc, self.handle_tool_errors)
            if text is None:
                if invocation_error is not None:
                    raise invocation_error from invocation_error.source
                raise
            return tool_message(call, text, status="error")
        finally:
            _reset_tool_call(token)
        if isinstance(output, ToolOutput):
            return tool_message(call, output.content, status=output.status, artifact=output.artifact)
        return tool_message(call, output)


def messages_of(state: Any, messages_key: str) -> list[Any]:
    if isinstance(state, list):
        return state
    if isinstance(state, Mapping) and messages_key in state:
        return list(state[messages_key])
    raise ValueError(f"expected a state with a {messages_key!r} key or a list of messages, got {state!r}")


def _pending_calls(state: Any, messages_key: str) -> list[dict[str, Any]]:
    messages = messages_of(state, messages_key)
    if not messages:
        return []
    last = coerce_message(messages[-1])
    if last["role"] != "assistant":
        return []
    return list(last.get("tool_calls", ()))


def tools_condition(state: Any, messages_key: str = "messages") -> str:
    """Route to ``"tools"`` when the last message asks for tools, else to END."""
    return "tools" if _pending_calls(state, messages_key) else END


def send_tool_calls(state: Any, node: str = "tools", messages_key: str = "messages") -> list[Send] | str:
    """One ``Send(node, call)`` per tool call of the last assistant message, or END if none."""
    calls = _pending_calls(state, messages_key)
    if not calls:
        return END
    return [Send(node, {"type": "tool_call", "id": c["id"], "name": c["name"], "args": c["args"]}) for c in calls]
