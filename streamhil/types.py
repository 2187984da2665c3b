"""Public value types (Command, Send, Interrupt, Overwrite, RetryPolicy, StateSnapshot, PregelTask)
and, as in ``langgraph.types``, the ``interrupt()`` function that raises one.

Below the executor and the graph package: it imports only ``errors`` and the task context
(``_context``), never the executor. Checkpoints name these classes ``streamhil.types:<name>``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar, cast

from ._context import require_site
from ._retry import default_retry_on, matches
from ._ids import interrupt_id, position_key
from .errors import GraphInterrupt, mark_invalid_resume

__all__ = [
    "interrupt",
    "Command",
    "Send",
    "Interrupt",
    "Overwrite",
    "RetryPolicy",
    "StateSnapshot",
    "PregelTask",
    "StreamMode",
    "Durability",
    "StreamWriter",
    "GraphOutput",
    "All",
]

N = TypeVar("N", bound=Hashable)

StreamMode = Literal["values", "updates", "custom", "messages", "debug", "tasks", "checkpoints"]
Durability = Literal["sync", "async", "exit"]
All = Literal["*"]
"""``interrupt_before="*"``: every node."""
StreamWriter = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Send:
    """Schedule one run of ``node`` in the next superstep, with ``arg`` as its input (not the state)."""

    node: str
    arg: Any

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A question a node asked with :func:`streamhil.interrupt`, waiting for an answer.

    Beyond LangGraph's ``value``, ``id`` and ``response_schema`` (the JSON Schema of the answer
    the node expects, or None), it says where it was raised: the ``node``, the ``task_id`` and
    the checkpoint namespace ``ns`` (``""`` at the root graph).
    """

    value: Any
    id: str = "placeholder-id"
    node: str | None = None
    task_id: str | None = None
    ns: str = ""
    index: int = 0
    response_schema: dict[str, Any] | None = field(default=None, compare=False)

    def __getattr__(self, name: str) -> Any:
        # Only reached for an unset slot: an Interrupt saved before ``response_schema`` existed.
        if name == "response_schema":
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"Interrupt(value={self.value!r}, id={self.id!r}, response_schema={self.response_schema!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": self.value,
            "node": self.node,
            "task_id": self.task_id,
            "ns": self.ns,
            "index": self.index,
        }


@dataclass(frozen=True, slots=True)
class Command(Generic[N]):
    """Update the state, route, or answer interrupts.

    As graph input: ``Command(resume=...)`` answers pending interrupts (one value, or a
    map ``{interrupt_id: value}``); ``update`` and ``goto`` apply before the paused tasks re-run.
    Returned from a node: ``update`` is the node's writes and ``goto`` routes (in addition to
    the node's static edges). ``graph=Command.PARENT`` sends it to the parent graph.
    """

    graph: str | None = None
    update: Any = None
    resume: Any = None
    goto: str | Send | Sequence[str | Send] = ()

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __repr__(self) -> str:
        parts = [
            f"{name}={getattr(self, name)!r}"
            for name in ("graph", "update", "resume", "goto")
            if getattr(self, name)
        ]
        return f"Command({', '.join(parts)})"

    def goto_targets(self) -> list[str | Send]:
        if not self.goto:
            return []
        if isinstance(self.goto, (str, Send)):
            return [self.goto]
        return list(self.goto)


@dataclass(frozen=True, slots=True)
class Overwrite:
    """Write ``value`` to a reducer key as is, bypassing its reducer."""

    value: Any


class RetryPolicy(NamedTuple):
    """How often and how soon a node that raised is tried again (LangGraph's fields, order and
    defaults). ``retry_on``: an exception class, a list or tuple of them, or a predicate; by
    default lost connections and HTTP 5xx answers, not programming errors such as
    ``ValueError`` or ``KeyError`` (see ``streamhil._retry.default_retry_on``). ``jitter`` adds
    up to one second at random to each wait. A node may have several policies: the first whose
    ``retry_on`` covers the failure applies."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: type[BaseException] | Sequence[type[BaseException]] | Callable[[BaseException], bool] = default_retry_on

    def should_retry(self, exc: BaseException) -> bool:
        """Whether this policy covers ``exc``."""
        return matches(self.retry_on, exc)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1), before jitter."""
        return min(self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1))

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt``, jitter included."""
        return self.delay(attempt) + (random.uniform(0, 1) if self.jitter else 0.0)


@dataclass(frozen=True, slots=True)
class GraphOutput:
    """What ``invoke(..., version="v2")`` returns: the output values and the pending interrupts."""

    value: dict[str, Any]
    interrupts: tuple[Interrupt, ...] = ()


class PregelTask(NamedTuple):
    """One task of a snapshot's step: what ran or will run, and how it ended."""

    id: str
    name: str
    path: tuple[Any, ...]
    error: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    """The state of a thread at one checkpoint (LangGraph's field order)."""

    values: dict[str, Any]
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()


def interrupt(value: Any = None, *, response_schema: dict[str, Any] | type | None = None) -> Any:
    """Pause the graph and surface ``value`` to the human; return their answer once resumed.

    On resume the node runs again from its first line, and the n-th ``interrupt()`` call of
    this execution returns the n-th answer. ``GraphInterrupt`` derives from ``BaseException``,
    so an ``except Exception`` in the node cannot swallow it.

    ``response_schema``, as in LangGraph, describes the answer: a JSON Schema ``dict`` is put on
    the ``Interrupt`` as it is (answers are not checked); a pydantic model, ``TypedDict`` or
    dataclass (this needs pydantic) is put there as its JSON Schema, and the answer is validated
    and converted with it: the node gets the converted value, and an answer that does not fit
    raises ``pydantic.ValidationError`` from the node, leaving the question pending with its id.
    """
    ctx = require_site("interrupt()")
    adapter = None if response_schema is None or isinstance(response_schema, dict) else _type_adapter(response_schema)
    index = ctx.counter
    ctx.counter += 1
    if index in ctx.answers:
        return ctx.answers[index] if adapter is None else _validated(adapter, ctx.answers[index])
    iid = interrupt_id(ctx.ns, index)
    resume_map = ctx.resume_map
    fallback = position_key(ctx.ns, ctx.node, index)
    if iid in resume_map or fallback in resume_map:
        # By id; or by position, when the question's id changed since it was answered
        # (update_state on the subgraph's thread wrote a new checkpoint, so new task ids).
        answer = resume_map[iid] if iid in resume_map else resume_map[fallback]
        resume_map.pop(fallback, None)
        ctx.answers[index] = answer
        ctx.consumed.append(iid)
        return answer if adapter is None else _validated(adapter, answer)
    schema = adapter.json_schema() if adapter is not None else cast("dict[str, Any] | None", response_schema)
    raise GraphInterrupt(
        (Interrupt(value=value, id=iid, node=ctx.node, task_id=ctx.task_id, ns=ctx.ns, index=index, response_schema=schema),)
    )


def _validated(adapter: Any, answer: Any) -> Any:
    """The answer converted by ``response_schema``'s adapter; its ``ValidationError`` is marked
    so :func:`~streamhil.errors.is_invalid_resume` tells it from a node's own."""
    from pydantic import ValidationError  # imported already: the adapter is pydantic's

    try:
        return adapter.validate_python(answer)
    except ValidationError as exc:
        mark_invalid_resume(exc)
        raise


def _type_adapter(schema: type) -> Any:
    """A pydantic ``TypeAdapter`` for ``interrupt(response_schema=...)`` (pydantic is optional)."""
    try:
        import pydantic
    except ImportError as exc:
        raise ImportError(
            "interrupt(response_schema=<a type>) needs pydantic (pip install pydantic); "
            "a JSON Schema dict works without it"
        ) from exc
    return pydantic.TypeAdapter(schema)
