"""``langgraph.config``'s names: what a running node can read about its run."""

from __future__ import annotations

from .executor.context import get_config as get_config
from .executor.context import get_stream_writer as get_stream_writer

__all__ = ["get_config", "get_stream_writer"]
