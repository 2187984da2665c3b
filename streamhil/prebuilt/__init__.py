"""Prebuilt agent pieces: tools, a tool node, chat models, a ReAct agent and human review."""

from __future__ import annotations

from .chat_models import ChatModel as ChatModel
from .chat_models import ChatModelError as ChatModelError
from .chat_models import ScriptedChatModel as ScriptedChatModel
from .chat_models import ScriptExhaustedError as ScriptExhaustedError
from .chat_models import call_chat_model as call_chat_model
from .chat_models import emit_chunk as emit_chunk
from .human_review import ActionRequest as ActionRequest
from .human_review import HumanInterrupt as HumanInterrupt
from .human_review import HumanInterruptConfig as HumanInterruptConfig
from .human_review import HumanResponse as HumanResponse
from .human_review import HumanResponseError as HumanResponseError
from .human_review import add_human_in_the_loop as add_human_in_the_loop
from .openai import OpenAIChatModel as OpenAIChatModel
from .react_agent import create_react_agent as create_react_agent
from .react_agent import send_tool_calls as send_tool_calls
from .react_agent import tools_condition as tools_condition
from .tool_node import ToolNode as ToolNode
from .tool_node import tool_message as tool_message
from .tools import Tool as Tool
from .tools import ToolArgumentError as ToolArgumentError
from .tools import ToolOutput as ToolOutput
from .tools import ToolSchemaError as ToolSchemaError
from .tools import create_tool as create_tool
from .tools import get_tool_call as get_tool_call
from .tools import tool as tool

__all__ = [
    "ChatModel",
    "ChatModelError",
    "ScriptedChatModel",
    "ScriptExhaustedError",
    "call_chat_model",
    "emit_chunk",
    "ActionRequest",
    "HumanInterrupt",
    "HumanInterruptConfig",
    "HumanResponse",
    "HumanResponseError",
    "add_human_in_the_loop",
    "OpenAIChatModel",
    "create_react_agent",
    "send_tool_calls",
    "tools_condition",
    "ToolNode",
    "tool_message",
    "Tool",
    "ToolArgumentError",
    "ToolOutput",
    "ToolSchemaError",
    "create_tool",
    "get_tool_call",
    "tool",
]
