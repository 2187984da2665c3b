"""``langgraph.graph.state``'s names: the builder and the compiled graph."""

from __future__ import annotations

from .compiled import CompiledStateGraph as CompiledStateGraph
from .state_graph import StateGraph as StateGraph

__all__ = ["StateGraph", "CompiledStateGraph"]
