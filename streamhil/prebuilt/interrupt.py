"""``langgraph.prebuilt.interrupt``'s names: Agent Inbox's request and response shapes
(defined in :mod:`streamhil.prebuilt.human_review`)."""

from __future__ import annotations

from .human_review import ActionRequest as ActionRequest
from .human_review import HumanInterrupt as HumanInterrupt
from .human_review import HumanInterruptConfig as HumanInterruptConfig
from .human_review import HumanResponse as HumanResponse

__all__ = ["HumanInterruptConfig", "ActionRequest", "HumanInterrupt", "HumanResponse"]
