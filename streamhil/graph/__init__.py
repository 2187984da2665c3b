"""Building graphs: the StateGraph builder and the compiled graph it produces."""

from __future__ import annotations

from .compiled import CompiledStateGraph as CompiledStateGraph
from .state_graph import StateGraph as StateGraph

__all__ = ["StateGraph", "CompiledStateGraph"]
