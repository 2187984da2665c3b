"""``langgraph.prebuilt.chat_agent_executor``'s names: ``create_react_agent`` and the state it
runs on by default (``AgentState``, a ``MessagesState``)."""

from __future__ import annotations

from ..messages import MessagesState
from .react_agent import create_react_agent as create_react_agent

__all__ = ["create_react_agent", "AgentState"]

AgentState = MessagesState
"""The default state of ``create_react_agent``: a ``messages`` list merged by ``add_messages``."""
