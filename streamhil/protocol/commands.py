"""The commands a client sends, each a frozen dataclass (spec section 5): ``to_wire()`` gives the
JSON-ready dict, ``from_wire(fields)`` validates one strictly (the server decodes them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from ._fields import UNSET, Fields, Unset, json_type
from .messages import (
    DEFAULT_STREAM_MODES,
    IF_BUSY_POLICIES,
    STREAM_MODES,
    IfBusy,
    MessageType,
    _omit_none,
)
from .objects import THREAD_STATUSES, ThreadStatus

__all__ = [
    "StartRun",
    "Resume",
    "Cancel",
    "Subscribe",
    "Unsubscribe",
    "GetState",
    "GetHistory",
    "UpdateState",
    "ListThreads",
    "ListGraphs",
    "Ping",
    "WatchThreads",
    "UnwatchThreads",
    "Command",
    "COMMAND_TYPES",
    "run_config_problem",
]



# --- commands --------------------------------------------------------------------------------


def _breakpoints(fields: Fields, key: str) -> tuple[str, ...] | Literal["*"] | None:
    value = fields.raw(key)
    if value == "*":
        return "*"
    if isinstance(value, str):
        raise fields.fail(fields.path(key), 'expected an array of node names or "*"')
    return fields.texts(key)  # type: ignore[no-any-return]


def _goto(fields: Fields, key: str = "goto") -> str | tuple[str, ...] | None:
    value = fields.raw(key)
    if isinstance(value, str):
        return fields.text(key)  # type: ignore[no-any-return]
    return fields.texts(key, non_empty=True)  # type: ignore[no-any-return]


_OWN_FIELDS = ("thread_id", "checkpoint_id")
"""``configurable`` keys that have a command field of their own."""

_RUNTIME_KEYS = ("checkpoint_map",)
"""``configurable`` keys the runtime sets itself, as every ``__``-prefixed one (``checkpoint_ns``
may only name the root namespace, ``""``)."""


def run_config_problem(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a run's ``config`` (``start_run``'s, spec 5.2), as ``(path, message)``,
    or ``None``. Checked before anything is created, so a bad value never becomes a failed run
    on a new thread: ``configurable`` must not set what the command's fields or the runtime own
    (a run in another ``checkpoint_ns`` would save its checkpoints where the thread never looks);
    ``recursion_limit`` and ``max_concurrency`` are integers, ``metadata`` an object, ``tags`` an
    array of strings and ``run_name`` a string."""
    configurable = config.get("configurable")
    if configurable is not None:
        if not isinstance(configurable, Mapping):
            return "config.configurable", f"expected object, got {json_type(configurable)}"
        for key, value in configurable.items():
            path = f"config.configurable.{key}"
            if key in _OWN_FIELDS:
                return path, f"not allowed here; use the command's {key} field"
            if key == "checkpoint_ns":
                if value in ("", None):
                    continue  # the root namespace, where every run of a thread starts anyway
                return path, 'reserved: a run always starts in the thread\'s root namespace ("")'
            if key in _RUNTIME_KEYS or str(key).startswith("__"):
                return path, "reserved: the runtime sets this key itself"
    limit = config.get("recursion_limit")
    if limit is not None and (type(limit) is not int or limit < 1):
        return "config.recursion_limit", f"expected an integer >= 1, got {json_type(limit)} {limit!r}"
    concurrency = config.get("max_concurrency")
    if concurrency is not None and (type(concurrency) is not int or concurrency < 0):
        return "config.max_concurrency", (
            f"expected an integer >= 1 (0 or null: no limit), got {json_type(concurrency)} {concurrency!r}"
        )
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        return "config.metadata", f"expected object, got {json_type(metadata)}"
    tags = config.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            return "config.tags", f"expected an array of strings, got {json_type(tags)}"
        for i, tag in enumerate(tags):
            if not isinstance(tag, str):
                return f"config.tags[{i}]", f"expected string, got {json_type(tag)}"
    name = config.get("run_name")
    if name is not None and not isinstance(name, str):
        return "config.run_name", f"expected string, got {json_type(name)}"
    return None


def _config(fields: Fields) -> dict[str, Any] | None:
    config: dict[str, Any] | None = fields.mapping("config")
    if config is None:
        return None
    problem = run_config_problem(config)
    if problem is not None:
        raise fields.fail(*problem)
    return config


def _stream_modes(fields: Fields) -> tuple[str, ...]:
    """``stream_modes``: absent (or null) is the default; an empty list means no stream modes
    (only the lifecycle and ``interrupt`` events, which every run sends)."""
    modes = fields.texts("stream_modes", choices=STREAM_MODES)
    return DEFAULT_STREAM_MODES if modes is None else modes


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRun:
    """Start a run of ``graph`` on a new or existing thread."""

    type: ClassVar[MessageType] = MessageType.START_RUN
    graph: str
    thread_id: str | None = None
    input: Any = None
    stream_modes: tuple[str, ...] = DEFAULT_STREAM_MODES
    config: dict[str, Any] | None = None
    interrupt_before: tuple[str, ...] | Literal["*"] | None = None
    interrupt_after: tuple[str, ...] | Literal["*"] | None = None
    checkpoint_id: str | None = None
    if_busy: IfBusy = "reject"
    subgraphs: bool = True
    metadata: dict[str, Any] | None = None
    context: Any = None
    """The run's context (``graph.invoke(..., context=...)``): what nodes read as ``runtime.context``."""
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        def bp(value: tuple[str, ...] | str | None) -> Any:
            return value if value is None or isinstance(value, str) else list(value)

        return _omit_none(
            {
                "type": "start_run",
                "id": self.id,
                "graph": self.graph,
                "thread_id": self.thread_id,
                "input": self.input,
                "stream_modes": list(self.stream_modes),
                "config": self.config,
                "interrupt_before": bp(self.interrupt_before),
                "interrupt_after": bp(self.interrupt_after),
                "checkpoint_id": self.checkpoint_id,
                "if_busy": self.if_busy,
                "subgraphs": self.subgraphs,
                "metadata": self.metadata,
                "context": self.context,
            }
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> StartRun:
        return cls(
            id=fields.id or "",
            graph=fields.text("graph", required=True, max_len=200),
            thread_id=fields.text("thread_id", max_len=200),
            input=fields.any("input"),
            stream_modes=_stream_modes(fields),
            config=_config(fields),
            interrupt_before=_breakpoints(fields, "interrupt_before"),
            interrupt_after=_breakpoints(fields, "interrupt_after"),
            checkpoint_id=fields.text("checkpoint_id", max_len=200),
            if_busy=fields.text("if_busy", choices=IF_BUSY_POLICIES, default="reject"),
            subgraphs=fields.boolean("subgraphs", default=True),
            metadata=fields.mapping("metadata"),
            context=fields.any("context"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    """Answer pending interrupts: a plain ``value``, ``interrupt_id`` + ``value``, or ``answers``.

    ``value`` is :data:`UNSET` when not given (``None`` is a real answer, JSON ``null``).
    """

    type: ClassVar[MessageType] = MessageType.RESUME
    thread_id: str
    value: Any = UNSET
    interrupt_id: str | None = None
    answers: dict[str, Any] | None = None
    update: Any = None
    goto: str | tuple[str, ...] | None = None
    stream_modes: tuple[str, ...] = DEFAULT_STREAM_MODES
    if_busy: Literal["reject", "enqueue"] = "reject"
    context: Any = None
    """The answer's run's context (as ``start_run``'s): what its nodes read as ``runtime.context``."""
    id: str = ""

    @property
    def form(self) -> Literal["value", "interrupt_id", "answers"]:
        """Which of the three forms this resume uses."""
        if self.answers is not None:
            return "answers"
        return "interrupt_id" if self.interrupt_id is not None else "value"

    def resume_value(self) -> Any:
        """The value for ``Command(resume=...)``: the plain value, or a map id → answer."""
        if self.answers is not None:
            return dict(self.answers)
        if self.interrupt_id is not None:
            return {self.interrupt_id: self.value}
        return self.value

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "resume", "id": self.id, "thread_id": self.thread_id}
        if self.interrupt_id is not None:
            data["interrupt_id"] = self.interrupt_id
        if not isinstance(self.value, Unset):
            data["value"] = self.value
        if self.answers is not None:
            data["answers"] = self.answers
        if self.update is not None:
            data["update"] = self.update
        if self.goto is not None:
            data["goto"] = self.goto if isinstance(self.goto, str) else list(self.goto)
        data["stream_modes"] = list(self.stream_modes)
        data["if_busy"] = self.if_busy
        if self.context is not None:
            data["context"] = self.context
        return data

    @classmethod
    def from_wire(cls, fields: Fields) -> Resume:
        thread_id = fields.text("thread_id", required=True, max_len=200)
        value = fields.raw("value")
        interrupt_id = fields.text("interrupt_id", max_len=200)
        answers = fields.mapping("answers")
        if answers is not None:
            if interrupt_id is not None:
                raise fields.fail("interrupt_id", "give either answers or interrupt_id, not both")
            if not isinstance(value, Unset):
                raise fields.fail("value", "give either answers or value, not both")
            if not answers:
                raise fields.fail("answers", "must not be empty")
            for key in answers:
                if not key or len(key) > 200:
                    raise fields.fail(f"answers.{key}", "interrupt ids are 1-200 characters")
        elif isinstance(value, Unset):
            raise fields.fail("value", "required field is missing (or give answers)")
        return cls(
            id=fields.id or "",
            thread_id=thread_id,
            value=value,
            interrupt_id=interrupt_id,
            answers=answers,
            update=fields.any("update"),
            goto=_goto(fields),
            stream_modes=_stream_modes(fields),
            if_busy=fields.text("if_busy", choices=("reject", "enqueue"), default="reject"),
            context=fields.any("context"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    """Cancel the thread's active run (or a queued one named by ``run_id``)."""

    type: ClassVar[MessageType] = MessageType.CANCEL
    thread_id: str
    run_id: str | None = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none({"type": "cancel", "id": self.id, "thread_id": self.thread_id, "run_id": self.run_id})

    @classmethod
    def from_wire(cls, fields: Fields) -> Cancel:
        return cls(
            id=fields.id or "",
            thread_id=fields.text("thread_id", required=True, max_len=200),
            run_id=fields.text("run_id", max_len=200),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe:
    """Watch a thread's events; ``after`` replays what followed that seq."""

    type: ClassVar[MessageType] = MessageType.SUBSCRIBE
    thread_id: str
    after: int | None = None
    epoch: str | None = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none(
            {"type": "subscribe", "id": self.id, "thread_id": self.thread_id, "after": self.after, "epoch": self.epoch}
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> Subscribe:
        return cls(
            id=fields.id or "",
            thread_id=fields.text("thread_id", required=True, max_len=200),
            after=fields.integer("after", minimum=0),
            epoch=fields.text("epoch", max_len=200),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe:
    """Stop watching a thread."""

    type: ClassVar[MessageType] = MessageType.UNSUBSCRIBE
    thread_id: str
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"type": "unsubscribe", "id": self.id, "thread_id": self.thread_id}

    @classmethod
    def from_wire(cls, fields: Fields) -> Unsubscribe:
        return cls(id=fields.id or "", thread_id=fields.text("thread_id", required=True, max_len=200))


@dataclass(frozen=True, slots=True, kw_only=True)
class GetState:
    """Read the thread's state, now or at ``checkpoint_id``."""

    type: ClassVar[MessageType] = MessageType.GET_STATE
    thread_id: str
    checkpoint_id: str | None = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none(
            {"type": "get_state", "id": self.id, "thread_id": self.thread_id, "checkpoint_id": self.checkpoint_id}
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> GetState:
        return cls(
            id=fields.id or "",
            thread_id=fields.text("thread_id", required=True, max_len=200),
            checkpoint_id=fields.text("checkpoint_id", max_len=200),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GetHistory:
    """Read the thread's checkpoints, newest first."""

    type: ClassVar[MessageType] = MessageType.GET_HISTORY
    thread_id: str
    limit: int = 20
    before: str | None = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none(
            {"type": "get_history", "id": self.id, "thread_id": self.thread_id, "limit": self.limit, "before": self.before}
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> GetHistory:
        return cls(
            id=fields.id or "",
            thread_id=fields.text("thread_id", required=True, max_len=200),
            limit=fields.integer("limit", minimum=1, maximum=1000, default=20),
            before=fields.text("before", max_len=200),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateState:
    """Write ``values`` as if ``as_node`` returned them (LangGraph's ``update_state``)."""

    type: ClassVar[MessageType] = MessageType.UPDATE_STATE
    thread_id: str
    values: Any = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        data = {"type": "update_state", "id": self.id, "thread_id": self.thread_id, "values": self.values}
        if self.as_node is not None:
            data["as_node"] = self.as_node
        if self.checkpoint_id is not None:
            data["checkpoint_id"] = self.checkpoint_id
        return data

    @classmethod
    def from_wire(cls, fields: Fields) -> UpdateState:
        if isinstance(fields.raw("values"), Unset):
            raise fields.fail("values", "required field is missing (null is allowed)")
        return cls(
            id=fields.id or "",
            thread_id=fields.text("thread_id", required=True, max_len=200),
            values=fields.any("values"),
            as_node=fields.text("as_node", max_len=200),
            checkpoint_id=fields.text("checkpoint_id", max_len=200),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ListThreads:
    """The caller's threads, filtered by status and graph."""

    type: ClassVar[MessageType] = MessageType.LIST_THREADS
    status: tuple[ThreadStatus, ...] | None = None
    graph: str | None = None
    limit: int = 100
    offset: int = 0
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none(
            {
                "type": "list_threads",
                "id": self.id,
                "status": None if self.status is None else list(self.status),
                "graph": self.graph,
                "limit": self.limit,
                "offset": self.offset,
            }
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> ListThreads:
        raw = fields.raw("status")
        if isinstance(raw, str):
            status: tuple[ThreadStatus, ...] | None = (fields.text("status", choices=THREAD_STATUSES),)
        else:
            status = fields.texts("status", choices=THREAD_STATUSES)
        return cls(
            id=fields.id or "",
            status=status,
            graph=fields.text("graph", max_len=200),
            limit=fields.integer("limit", minimum=1, maximum=1000, default=100),
            offset=fields.integer("offset", minimum=0, default=0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGraphs:
    """The graphs the server can run."""

    type: ClassVar[MessageType] = MessageType.LIST_GRAPHS
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"type": "list_graphs", "id": self.id}

    @classmethod
    def from_wire(cls, fields: Fields) -> ListGraphs:
        return cls(id=fields.id or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """Liveness check; the server echoes ``payload``."""

    type: ClassVar[MessageType] = MessageType.PING
    payload: Any = None
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return _omit_none({"type": "ping", "id": self.id, "payload": self.payload})

    @classmethod
    def from_wire(cls, fields: Fields) -> Ping:
        return cls(id=fields.id or "", payload=fields.any("payload"))


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchThreads:
    """Follow the caller's threads as a whole: the reply lists them with the server's counters,
    then ``notice`` frames announce threads created, status changes and new counters."""

    type: ClassVar[MessageType] = MessageType.WATCH_THREADS
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"type": "watch_threads", "id": self.id}

    @classmethod
    def from_wire(cls, fields: Fields) -> WatchThreads:
        return cls(id=fields.id or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class UnwatchThreads:
    """Stop the notices that ``watch_threads`` started."""

    type: ClassVar[MessageType] = MessageType.UNWATCH_THREADS
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"type": "unwatch_threads", "id": self.id}

    @classmethod
    def from_wire(cls, fields: Fields) -> UnwatchThreads:
        return cls(id=fields.id or "")


Command: TypeAlias = (
    StartRun | Resume | Cancel | Subscribe | Unsubscribe | GetState | GetHistory | UpdateState | ListThreads | ListGraphs | Ping
    | WatchThreads | UnwatchThreads
)

COMMAND_TYPES: dict[MessageType, type[Command]] = {
    cls.type: cls
    for cls in (
        StartRun, Resume, Cancel, Subscribe, Unsubscribe, GetState, GetHistory, UpdateState, ListThreads, ListGraphs, Ping,
        WatchThreads, UnwatchThreads,
    )
}
