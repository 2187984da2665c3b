"""What a node can ask to be given by parameter name (LangGraph's injected parameters):
``config``, ``writer``, ``store``, ``runtime`` and ``previous``, and the ``Runtime`` object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .context import require_task, stream_writer_for
from .scope import TaskContext

__all__ = ["ExecutionInfo", "Runtime", "get_runtime", "injected_kwargs", "runtime_for"]


ContextT = TypeVar("ContextT")


def _no_op(*_: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Where the running task is: its checkpoint, namespace, task id, thread and attempt."""

    checkpoint_id: str
    checkpoint_ns: str
    task_id: str
    thread_id: str | None = None
    run_id: str | None = None
    node_attempt: int = 1


@dataclass(frozen=True, slots=True)
class Runtime(Generic[ContextT]):
    """What LangGraph's ``Runtime`` gives a node: ``context`` is the run's
    (``invoke(..., context=...)``, None without one); ``store`` is the object given to
    ``compile(store=...)``; ``previous`` belongs to the functional API and is None."""

    context: ContextT | None = None
    store: Any = None
    stream_writer: Callable[[Any], None] = _no_op
    previous: Any = None
    execution_info: ExecutionInfo | None = None
    heartbeat: Callable[[], None] = _no_op


def runtime_for(ctx: TaskContext, attempt: int = 1) -> Runtime[Any]:
    """The ``Runtime`` of a running task."""
    run = ctx.run
    info = ExecutionInfo(run.checkpoint_id, ctx.ns, ctx.task_id, run.thread_id, run.run_id, attempt)
    return Runtime(context=run.context, store=run.graph.store, stream_writer=stream_writer_for(ctx), execution_info=info)


def get_runtime() -> Runtime[Any]:
    """The running node's ``Runtime``; a RuntimeError outside a node."""
    return runtime_for(require_task("get_runtime()"))


def injected_kwargs(ctx: TaskContext, names: tuple[str, ...], attempt: int) -> dict[str, Any]:
    """The keyword arguments a node declared it takes (``NodeSpec.inject``)."""
    out: dict[str, Any] = {}
    for name in names:
        if name == "config":
            out["config"] = ctx.run.task_config(ctx)
        elif name == "writer":
            out["writer"] = stream_writer_for(ctx)
        elif name == "store":
            out["store"] = ctx.run.graph.store
        elif name == "runtime":
            out["runtime"] = runtime_for(ctx, attempt)
        elif name == "previous":
            out["previous"] = None
    return out
