"""The running task's context: the accessors nodes call (``get_stream_writer``, ``get_config``,
``write_message_chunk``) and the executor's typed view of ``streamhil._context.CURRENT_TASK``.

anyio copies context variables into worker threads, so sync nodes see the same context.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from .._context import CURRENT_TASK, outside_a_node
from .scope import TaskContext

__all__ = [
    "TaskContext",
    "get_stream_writer",
    "stream_writer_for",
    "write_message_chunk",
    "stream_returned_messages",
    "get_config",
    "current_task",
    "require_task",
]

# The executor only ever stores its TaskContext in the variable, so it reads one back.
_current = cast("ContextVar[TaskContext | None]", CURRENT_TASK)


def set_current_task(ctx: TaskContext | None) -> None:
    """Make ``ctx`` the running task of this context (for nested graphs run on a helper thread)."""
    _current.set(ctx)


def current_task() -> TaskContext | None:
    """The running task's context, or None outside a node."""
    return _current.get()


def require_task(what: str) -> TaskContext:
    """The running task's context; a clear RuntimeError naming ``what`` outside a node."""
    ctx = _current.get()
    if ctx is None:
        raise outside_a_node(what)
    return ctx


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends any value to the ``custom`` stream mode (a no-op when it is off)."""
    return stream_writer_for(require_task("get_stream_writer()"))


def stream_writer_for(ctx: TaskContext) -> Callable[[Any], None]:
    """The ``custom`` stream writer of the task ``ctx`` (a no-op when the mode is off)."""
    run = ctx.run
    if not run.wants("custom"):
        return _noop
    ns = run.ns_tuple
    emit = run.emit

    def write(chunk: Any) -> None:
        emit(ns, "custom", chunk)

    return write


def write_message_chunk(chunk: dict[str, Any]) -> None:
    """Send one token chunk of a chat message to the ``messages`` stream mode.

    ``chunk`` is a message dict (``{"id", "role", "content"}``); the metadata says which node,
    step and namespace it came from. A no-op outside a node or when the mode is off.
    """
    ctx = _current.get()
    if ctx is None or not ctx.run.wants_messages():
        return
    metadata = {
        "langgraph_node": ctx.node,
        "langgraph_step": ctx.step,
        "langgraph_triggers": ctx.triggers,
        "langgraph_path": ctx.path,
        "langgraph_checkpoint_ns": ctx.ns,
        "thread_id": ctx.run.thread_id,
    }
    ctx.run.emit_message(ctx.run.ns_tuple, (chunk, metadata))


def stream_returned_messages(messages: list[dict[str, Any]]) -> None:
    """For a prebuilt node about to return ``messages`` (plain message dicts, such as a ToolNode's
    tool messages): when the run streams ``messages`` with LangChain loaded, they go to that mode
    as LangChain messages (those not seen yet), as LangGraph's node returning them would."""
    ctx = _current.get()
    if ctx is not None and ctx.run.messages is not None:
        ctx.run.messages.node_returned(ctx, messages, plain_messages=True)


def get_config() -> dict[str, Any]:
    """The config of the running task (thread id, namespace, step)."""
    ctx = require_task("get_config()")
    return ctx.run.task_config(ctx)


def _noop(_: Any) -> None:
    return None
