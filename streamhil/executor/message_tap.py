"""The ``messages`` stream mode's part in running tasks, for LangChain: a LangChain chat model
called anywhere inside a node streams its tokens (``AIMessageChunk``), and LangChain messages a
node returns are streamed whole unless already seen, as LangGraph's ``stream_mode="messages"``.

A run that asks for the mode has one :class:`MessageTap`, shared with its subgraphs; a run that
does not has none and pays nothing. The tap does its work only once ``langchain_core`` has been
imported (a LangChain model or message cannot exist before): the LangChain half,
:mod:`.langchain_messages`, is imported on first use, never by the tap itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from contextvars import Token
from types import ModuleType
from typing import Any

from ..messages import is_langchain_message
from .scope import TaskContext

__all__ = ["MessageTap", "tap_for"]


class MessageTap:
    """What one run streaming ``messages`` shares between its tasks: the ids of messages already
    on the stream, or in a task's input, which a node's return does not repeat.

    A run making ``astream_events`` events has one too (``messages=False`` if it does not stream
    ``messages``): the same per-task LangChain config carries the callbacks that turn what LangChain
    runnables inside a node report into events (:mod:`.langchain_events`)."""

    __slots__ = ("seen", "messages", "_langchain")

    def __init__(self, *, messages: bool = True) -> None:
        self.seen: set[str] = set()
        self.messages = messages  # whether the run streams ``messages`` (else: only events)
        self._langchain: ModuleType | None = None

    def langchain(self) -> ModuleType | None:
        """The LangChain half, once ``langchain_core`` is loaded; None before."""
        if self._langchain is None and "langchain_core" in sys.modules:
            from . import langchain_messages

            self._langchain = langchain_messages
        return self._langchain

    def start_task(self, ctx: TaskContext, node_input: Any) -> Token[Any] | None:
        """Before ``ctx``'s node runs: give LangChain models called inside it a config whose
        callbacks stream to this run (they stream nothing in a subgraph of a run streamed without
        ``subgraphs=True``, but the models still stream, as under LangGraph).
        Returns the token :meth:`end_task` takes, or None when LangChain is not loaded."""
        lc = self.langchain()
        if lc is None:
            return None
        if self.messages and streams(ctx):
            remember_ids(node_input, self.seen)
        ctx.lc_config = lc.task_callbacks(self.seen, ctx, emit=streams(ctx), messages=self.messages)
        token: Token[Any] = lc.use_config(lc.child_config(ctx))
        return token

    def end_task(self, token: Token[Any]) -> None:
        assert self._langchain is not None
        self._langchain.reset_config(token)

    def node_returned(self, ctx: TaskContext, result: Any, *, plain_messages: bool) -> None:
        """Stream the LangChain messages in a node's return value that are not seen yet.

        ``plain_messages``: the return holds message dicts where LangGraph's would hold LangChain
        messages (a subgraph's state, a prebuilt node's reply); they are streamed as LangChain
        messages too.
        """
        if self.messages and ctx.lc_config is not None and self._langchain is not None and streams(ctx):
            self._langchain.emit_returned(self.seen, ctx, result, plain_messages=plain_messages)


def tap_for(modes: frozenset[str]) -> MessageTap | None:
    """The tap a run with these stream modes needs: for ``messages``, for events, or none."""
    if "messages" in modes:
        return MessageTap()
    if "events" in modes:
        return MessageTap(messages=False)
    return None


def streams(ctx: TaskContext) -> bool:
    """Whether the task's messages reach the stream: a subgraph's only with ``subgraphs=True``."""
    return not ctx.run.ns_tuple or ctx.run.subgraphs


def remember_ids(node_input: Any, seen: set[str]) -> None:
    """Add the ids of the messages in a node's input (at the top level of its state, or in lists
    there) to ``seen``."""
    if isinstance(node_input, Mapping):
        values: Iterable[Any] = node_input.values()
    elif isinstance(node_input, (list, tuple)):
        values = node_input
    elif hasattr(node_input, "__dataclass_fields__"):
        values = [getattr(node_input, name) for name in node_input.__dataclass_fields__]
    else:
        return
    for value in values:
        if isinstance(value, (list, tuple)):
            for item in value:
                _remember(item, seen)
        else:
            _remember(value, seen)


def _remember(value: Any, seen: set[str]) -> None:
    if isinstance(value, Mapping):
        message_id = value.get("id") if ("role" in value or "type" in value) else None
    elif is_langchain_message(value):
        message_id = value.id
    else:
        return
    if isinstance(message_id, str) and message_id:
        seen.add(message_id)
