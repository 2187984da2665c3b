"""``langgraph.runtime``'s names: the ``Runtime`` a node receives through a ``runtime`` parameter."""

from __future__ import annotations

from .executor.runtime import ExecutionInfo as ExecutionInfo
from .executor.runtime import Runtime as Runtime
from .executor.runtime import get_runtime as get_runtime

__all__ = ["ExecutionInfo", "Runtime", "get_runtime"]
