"""Building graphs: the StateGraph builder, the compiled graph it produces, and (as in
``langgraph.graph``) the names a graph is built with: ``START``, ``END``, ``MessagesState`` and
``add_messages``."""

from __future__ import annotations

from ..constants import END as END
from ..constants import START as START
from ..messages import MessagesState as MessagesState
from ..messages import add_messages as add_messages
from .compiled import CompiledStateGraph as CompiledStateGraph
from .state_graph import StateGraph as StateGraph

__all__ = ["StateGraph", "CompiledStateGraph", "START", "END", "MessagesState", "add_messages"]
