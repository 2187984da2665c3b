"""``langgraph.graph.message``'s names: the ``add_messages`` reducer, ``MessagesState`` and
``RemoveMessage`` (which LangGraph's module re-exports from LangChain), defined in
:mod:`streamhil.messages`."""

from __future__ import annotations

from ..messages import REMOVE_ALL_MESSAGES as REMOVE_ALL_MESSAGES
from ..messages import MessagesState as MessagesState
from ..messages import RemoveMessage as RemoveMessage
from ..messages import add_messages as add_messages

__all__ = ["add_messages", "MessagesState", "REMOVE_ALL_MESSAGES", "RemoveMessage"]
