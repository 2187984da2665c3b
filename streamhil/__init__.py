"""streamhil: human-in-the-loop agent graphs (LangGraph's model) on anyio.

Build a ``StateGraph``, compile it with a checkpointer, call ``interrupt()`` in a node, and
resume with ``Command(resume=...)``. See ``docs/`` for the guide.
"""

from __future__ import annotations

from .checkpoint.memory import InMemorySaver as InMemorySaver
from .checkpoint.memory import MemorySaver as MemorySaver
from .constants import END as END
from .constants import START as START
from .errors import EmptyInputError as EmptyInputError
from .errors import GraphInterrupt as GraphInterrupt
from .errors import GraphRecursionError as GraphRecursionError
from .errors import InvalidUpdateError as InvalidUpdateError
from .executor.context import get_config as get_config
from .executor.context import get_stream_writer as get_stream_writer
from .executor.context import write_message_chunk as write_message_chunk
from .graph.compiled import CompiledStateGraph as CompiledStateGraph
from .messages import MessagesState as MessagesState
from .messages import RemoveMessage as RemoveMessage
from .messages import add_messages as add_messages
from .graph.state_graph import StateGraph as StateGraph
from .types import Command as Command
from .types import interrupt as interrupt
from .types import Interrupt as Interrupt
from .types import Overwrite as Overwrite
from .types import PregelTask as PregelTask
from .types import RetryPolicy as RetryPolicy
from .types import Send as Send
from .types import StateSnapshot as StateSnapshot

__all__ = [
    "StateGraph",
    "CompiledStateGraph",
    "START",
    "END",
    "interrupt",
    "Command",
    "Send",
    "Interrupt",
    "Overwrite",
    "RetryPolicy",
    "StateSnapshot",
    "PregelTask",
    "InMemorySaver",
    "MemorySaver",
    "get_stream_writer",
    "MessagesState",
    "add_messages",
    "RemoveMessage",
    "get_config",
    "write_message_chunk",
    "GraphRecursionError",
    "InvalidUpdateError",
    "EmptyInputError",
    "GraphInterrupt",
]
