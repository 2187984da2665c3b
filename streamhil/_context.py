"""Which task is running: the one context variable the executor sets around a node's call and
``interrupt()`` (in ``streamhil.types``) reads.

It sits below the value types and the executor so that neither imports the other for it: the
executor stores its ``TaskContext`` here (``streamhil.executor.context`` reads it back with that
type), ``interrupt()`` sees it only as an :class:`InterruptSite`. anyio copies context variables
into worker threads, so sync nodes see the same task.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

__all__ = ["CURRENT_TASK", "InterruptSite", "outside_a_node", "require_site"]


class InterruptSite(Protocol):
    """What ``interrupt()`` reads and counts on the running task."""

    task_id: str
    node: str
    ns: str  # the task's full namespace, e.g. "child:<tid>|ask:<tid>"
    answers: dict[int, Any]  # answers already given to this task's interrupts, by position
    consumed: list[str]  # interrupt ids answered during this execution
    counter: int  # interrupt() calls made during this execution

    @property
    def resume_map(self) -> dict[str, Any]:
        """The run's answers not yet delivered, by interrupt id (or position key)."""
        ...


CURRENT_TASK: ContextVar[InterruptSite | None] = ContextVar("streamhil_task", default=None)
"""The running task, or None outside a node."""


def outside_a_node(what: str) -> RuntimeError:
    """The error for ``what`` (``"interrupt()"``, ``"get_config()"``...) called outside a node."""
    return RuntimeError(f"{what} was called outside a running graph node; call it from inside a node function.")


def require_site(what: str) -> InterruptSite:
    """The running task; a clear RuntimeError naming ``what`` outside a node."""
    site = CURRENT_TASK.get()
    if site is None:
        raise outside_a_node(what)
    return site
