"""Every exception streamhil raises.

::

    StreamhilError
     ├── GraphBuildError (ValueError)          a graph that cannot be compiled
     │    ├── DuplicateNodeError
     │    ├── ReservedNameError
     │    ├── UnknownNodeError
     │    ├── NoEntryPointError
     │    ├── UnreachableNodeError
     │    └── InvalidSchemaError
     ├── GraphRecursionError (RecursionError)  the step budget ran out
     ├── InvalidUpdateError (ValueError)       a write the state cannot take
     │    └── UnknownBranchKeyError (KeyError)  a branch's key missing from its path_map
     ├── EmptyInputError (ValueError)          nothing to run
     ├── ConfigError (ValueError)              a config without what the call needs
     ├── ResumeError (ValueError)              a resume that answers nothing, or is ambiguous
     │    ├── NothingPendingError
     │    ├── UnknownInterruptError
     │    │    └── AlreadyAnsweredError
     │    └── AmbiguousResumeError
     ├── CheckpointError                       the checkpointer failed or is missing
     │    ├── CheckpointNotFoundError (EmptyInputError) a checkpoint_id the thread does not have
     │    ├── NoCheckpointerError (RuntimeError) resuming a graph that has no checkpointer
     │    └── SerializationError (TypeError)  a value that cannot be stored
     ├── NodeTimeoutError (TimeoutError)       a node ran past its timeout
     └── SyncCallError (RuntimeError)          a sync method called where it cannot work

    GraphBubbleUp (BaseException)               control flow, caught by the runtime
     ├── GraphInterrupt                        raised by interrupt(); not an Exception,
     │                                         so ``except Exception`` cannot swallow it
     └── ParentCommand                         a Command(graph=Command.PARENT) on its way up

``is_invalid_resume(error)`` tells the ``pydantic.ValidationError`` of an answer that does not
fit an interrupt's ``response_schema`` from a node's own.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "StreamhilError",
    "GraphBuildError",
    "DuplicateNodeError",
    "ReservedNameError",
    "UnknownNodeError",
    "NoEntryPointError",
    "UnreachableNodeError",
    "InvalidSchemaError",
    "GraphRecursionError",
    "InvalidUpdateError",
    "UnknownBranchKeyError",
    "EmptyInputError",
    "ConfigError",
    "ResumeError",
    "NothingPendingError",
    "UnknownInterruptError",
    "AlreadyAnsweredError",
    "AmbiguousResumeError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "NoCheckpointerError",
    "SerializationError",
    "NodeTimeoutError",
    "SyncCallError",
    "GraphBubbleUp",
    "GraphInterrupt",
    "ParentCommand",
    "is_invalid_resume",
]


class StreamhilError(Exception):
    """Base class of every error streamhil raises on purpose."""


class GraphBuildError(StreamhilError, ValueError):
    """The graph cannot be built or compiled as written."""


class DuplicateNodeError(GraphBuildError):
    """Two nodes share a name."""


class ReservedNameError(GraphBuildError):
    """A node name is reserved (``__start__``, ``__end__``...) or holds ``|`` or ``:``."""


class UnknownNodeError(GraphBuildError):
    """An edge, branch or breakpoint names a node the graph does not have."""


class NoEntryPointError(GraphBuildError):
    """Nothing leaves START."""


class UnreachableNodeError(GraphBuildError):
    """A node no edge, branch or declared Command destination can reach."""


class InvalidSchemaError(GraphBuildError):
    """A state schema or reducer that streamhil cannot use."""


class GraphRecursionError(StreamhilError, RecursionError):
    """The run used up its ``recursion_limit`` of supersteps before it finished."""


class InvalidUpdateError(StreamhilError, ValueError):
    """A node, Command or update_state wrote something the state cannot take."""


class UnknownBranchKeyError(InvalidUpdateError, KeyError):
    """A conditional edge's function returned a key its ``path_map`` does not have. A
    ``KeyError`` too, as LangGraph raises one there (``except KeyError`` keeps working)."""

    def __str__(self) -> str:  # the message, not KeyError's repr of it
        return str(self.args[0]) if self.args else ""


class EmptyInputError(StreamhilError, ValueError):
    """A run was asked for with nothing to run."""


class ConfigError(StreamhilError, ValueError):
    """The config lacks what the call needs (usually ``configurable.thread_id``)."""


class ResumeError(StreamhilError, ValueError):
    """A ``Command(resume=...)`` that cannot be delivered."""


class NothingPendingError(ResumeError):
    """A resume was sent to a thread that has no pending interrupt."""


class UnknownInterruptError(ResumeError):
    """A resume map names an interrupt id that is not pending."""

    def __init__(self, message: str, *, unknown_ids: tuple[str, ...] = (), pending_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unknown_ids = unknown_ids
        self.pending_ids = pending_ids


class AlreadyAnsweredError(UnknownInterruptError):
    """A resume names an interrupt that an earlier resume already answered (the first answer wins)."""


class AmbiguousResumeError(ResumeError):
    """A plain resume value was sent while several interrupts are pending."""


class CheckpointError(StreamhilError):
    """The checkpointer is missing where one is needed, or failed."""


class CheckpointNotFoundError(CheckpointError, EmptyInputError):
    """A config names a ``checkpoint_id`` the thread does not have. Also an ``EmptyInputError``
    (and a ``ValueError``), what LangGraph raises when such a run has nothing to start from."""


class NoCheckpointerError(CheckpointError, RuntimeError):
    """A resume, or a state call, on a graph compiled without a checkpointer."""


class SerializationError(CheckpointError, TypeError):
    """A value cannot be stored; nothing was written."""


class NodeTimeoutError(StreamhilError, TimeoutError):
    """A node ran longer than the timeout given to ``add_node``."""


class SyncCallError(StreamhilError, RuntimeError):
    """A sync method (``invoke``, ``stream``...) was called from inside a running event loop."""


class GraphBubbleUp(BaseException):
    """Control flow that travels up through user code to the runtime."""


class GraphInterrupt(GraphBubbleUp):
    """Raised by :func:`streamhil.interrupt`; carries the interrupts that paused the task
    (``streamhil.types.Interrupt`` values: this module is the bottom layer and imports nothing of
    streamhil, so the annotations name them loosely)."""

    def __init__(self, interrupts: tuple[Any, ...] = ()) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


class ParentCommand(GraphBubbleUp):
    """Carries a ``Command(graph=Command.PARENT)`` (a ``streamhil.types.Command``) from a
    subgraph to its parent."""

    def __init__(self, command: Any) -> None:
        super().__init__(command)
        self.command = command



_INVALID_RESUME = "_streamhil_invalid_resume"


def mark_invalid_resume(error: BaseException) -> None:
    """Mark ``error`` as raised by ``interrupt()`` for an answer that does not fit its
    ``response_schema`` (see :func:`is_invalid_resume`)."""
    setattr(error, _INVALID_RESUME, True)


def is_invalid_resume(error: BaseException) -> bool:
    """Whether ``error`` (a ``pydantic.ValidationError``) was raised by ``interrupt()`` because
    the answer did not fit its ``response_schema``, as LangGraph's. ToolNode never answers such
    an error with a tool message: the model cannot fix it; the human answers again."""
    return getattr(error, _INVALID_RESUME, False) is True
