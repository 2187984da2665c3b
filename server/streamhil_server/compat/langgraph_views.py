"""Translation between streamhil's objects and the LangGraph Agent Server's JSON shapes.

Pure functions, no I/O: assistants (one per graph), threads, states, interrupts, runs, LangChain
message dicts, the resume-map rule, error bodies, and SSE framing. The HTTP and v3 surfaces
(:mod:`.langgraph_http`, :mod:`.langgraph_v3`) are built on it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from streamhil.protocol import ErrorCode

from ..encoding import state_wire
from ..errors import CommandError
from ..registry import GraphEntry, GraphRegistry
from ..run_records import RunInfo

__all__ = [
    "assistant_id_for",
    "assistant_view",
    "find_assistant",
    "lc_message",
    "lc_values",
    "lc_stream_data",
    "interrupts_by_task",
    "thread_status",
    "state_view",
    "snapshot_view",
    "run_view",
    "is_resume_map",
    "known_input",
    "error_status",
    "error_body",
    "sse_frame",
    "ThreadExists",
    "for_surface",
    "CREATED_AT",
]

_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
CREATED_AT = "1970-01-01T00:00:00+00:00"
_INTERRUPT_ID = re.compile(r"^[0-9a-f]{32}$")


# --- assistants --------------------------------------------------------------------------------


def assistant_id_for(graph: str) -> str:
    """The graph's assistant id: ``uuid5`` of its name, as LangGraph's server derives it."""
    return str(uuid.uuid5(_ASSISTANT_NAMESPACE, graph))


def find_assistant(registry: GraphRegistry, assistant_id: str) -> GraphEntry | None:
    """The graph an assistant id names: its uuid5 id or the graph's name."""
    entry = registry.get(assistant_id)
    if entry is not None:
        return entry
    for candidate in registry.entries():
        if assistant_id_for(candidate.name) == assistant_id:
            return candidate
    return None


def assistant_view(entry: GraphEntry) -> dict[str, Any]:
    """The synthetic assistant of one graph."""
    return {
        "assistant_id": assistant_id_for(entry.name),
        "graph_id": entry.name,
        "name": entry.name,
        "description": entry.description,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }


# --- messages ----------------------------------------------------------------------------------

_TYPES = {"user": "human", "assistant": "ai", "tool": "tool", "system": "system", "developer": "system"}


def _is_message(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("role") in _TYPES and "content" in value


def lc_message(message: Mapping[str, Any], *, chunk: bool = False) -> dict[str, Any]:
    """A streamhil message dict in LangChain's serialized shape (``type``: human/ai/tool/system).

    ``chunk`` marks a streamed piece (``AIMessageChunk``, tool call pieces as ``tool_call_chunks``).
    The other keys (``name``, ``tool_call_id``, ``status``...) are kept.
    """
    out = {k: v for k, v in message.items() if k != "role"}
    kind = _TYPES[message["role"]]
    out.setdefault("additional_kwargs", {})
    out.setdefault("response_metadata", {})
    if kind == "ai":
        out["tool_calls"] = [{**call, "type": "tool_call"} for call in message.get("tool_calls") or ()]
        out.setdefault("invalid_tool_calls", [])
        if chunk:
            out["tool_call_chunks"] = [
                {**piece, "type": "tool_call_chunk"} for piece in message.get("tool_call_chunks") or ()
            ]
    out["type"] = "AIMessageChunk" if chunk and kind == "ai" else kind
    return out


def lc_values(values: Any) -> Any:
    """A state (or an update) with every list of messages in LangChain's shape."""
    if not isinstance(values, Mapping):
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, list) and value and all(_is_message(m) for m in value):
            out[key] = [lc_message(m) for m in value]
        elif _is_message(value):
            out[key] = lc_message(value)
        else:
            out[key] = value
    return out


def lc_stream_data(mode: str, data: Any) -> Any:
    """A stream part's payload as LangGraph clients expect it for ``mode``."""
    if mode == "values":
        return lc_values(data)
    if mode == "updates" and isinstance(data, Mapping):
        return {node: lc_values(update) for node, update in data.items()}
    if mode == "messages" and isinstance(data, list) and len(data) == 2 and _is_message(data[0]):
        return [lc_message(data[0], chunk=data[0]["role"] == "assistant"), data[1]]
    if mode == "events" and isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        return {**data, "data": _lc_event_data(str(data.get("event", "")), data["data"])}
    return data


def _lc_event_data(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """An ``astream_events`` event's ``data`` with its messages in LangChain's shape: a model's
    streamed chunk as an ``AIMessageChunk``, states and updates with their message lists."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if _is_message(value):
            out[key] = lc_message(value, chunk=event == "on_chat_model_stream" and value["role"] == "assistant")
        elif isinstance(value, Mapping):
            out[key] = lc_values(value)
        else:
            out[key] = value
    return out


# --- threads and states ------------------------------------------------------------------------


def thread_status(status: str) -> str:
    """streamhil's thread status in LangGraph's words (``running`` is ``busy``)."""
    return "busy" if status == "running" else status


def interrupts_by_task(interrupts: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Pending interrupts grouped by the root graph's task that asked, as ``Thread.interrupts`` is:
    an interrupt inside a subgraph under the task of the subgraph's node in the root graph (the
    first segment of its ``ns``, ``node:task_id``), as LangGraph's server keys it.

    Each keeps streamhil's provenance (``node``, ``task_id``, ``ns``) beside ``value`` and ``id``.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in interrupts:
        grouped.setdefault(_root_task(item), []).append(dict(item))
    return grouped


def _root_task(interrupt: Mapping[str, Any]) -> str:
    ns = interrupt.get("ns")
    if isinstance(ns, (list, tuple)) and ns and isinstance(ns[0], str) and ":" in ns[0]:
        return ns[0].split(":", 1)[1]
    return str(interrupt.get("task_id") or "")


def _checkpoint(thread_id: str, checkpoint_id: str | None) -> dict[str, Any] | None:
    if checkpoint_id is None:
        return None
    return {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id, "checkpoint_map": None}


def state_view(thread_id: str, state: Mapping[str, Any] | None) -> dict[str, Any]:
    """A streamhil State (wire JSON) as LangGraph's ``ThreadState``; ``None``: a thread with no
    state yet (created before its first run)."""
    if state is None:
        return {
            "values": {}, "next": [], "checkpoint": None, "metadata": None, "created_at": None,
            "parent_checkpoint": None, "tasks": [], "interrupts": [],
        }
    tasks = [
        {
            "id": task["id"],
            "name": task["name"],
            "path": [],
            "error": task.get("error"),
            "interrupts": task.get("interrupts") or [],
            "checkpoint": None,
            "state": None,
            "result": task.get("result"),
        }
        for task in state.get("tasks") or ()
    ]
    return {
        "values": lc_values(state.get("values")) if state.get("values") is not None else {},
        "next": list(state.get("next") or ()),
        "checkpoint": _checkpoint(thread_id, state.get("checkpoint_id")),
        "metadata": state.get("metadata"),
        "created_at": state.get("created_at"),
        "parent_checkpoint": _checkpoint(thread_id, state.get("parent_checkpoint_id")),
        "tasks": tasks,
        "interrupts": list(state.get("interrupts") or ()),
    }


def snapshot_view(thread_id: str, snapshot: Any) -> dict[str, Any]:
    """A ``StateSnapshot`` as LangGraph's ``ThreadState``, as its server shows one: a subgraph
    task's ``checkpoint`` is its namespace (``{thread_id, checkpoint_ns}``), or, when the
    snapshot was read with ``subgraphs``, its ``state`` is the subgraph's own ``ThreadState``."""
    view = state_view(thread_id, state_wire(snapshot))
    configurable = (getattr(snapshot, "config", None) or {}).get("configurable") or {}
    if configurable.get("checkpoint_ns") and view["checkpoint"] is not None:
        view["checkpoint"]["checkpoint_ns"] = configurable["checkpoint_ns"]
    for task_view, task in zip(view["tasks"], snapshot.tasks, strict=True):
        inner = task.state
        if isinstance(inner, Mapping):
            task_view["checkpoint"] = dict(inner.get("configurable") or {})
        elif inner is not None:
            task_view["state"] = snapshot_view(thread_id, inner)
    return view


def run_view(info: RunInfo) -> dict[str, Any]:
    """A run record as LangGraph's ``Run``."""
    return {
        "run_id": info.run_id,
        "thread_id": info.thread_id,
        "assistant_id": info.assistant_id,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
        "status": info.status,
        "metadata": info.metadata,
        "kwargs": {},
        "multitask_strategy": info.multitask_strategy or "reject",
    }


def is_resume_map(resume: Any) -> bool:
    """LangGraph's rule: ``resume`` answers by id iff it is a non-empty dict whose keys are all
    interrupt ids (32 hex digits)."""
    return isinstance(resume, Mapping) and bool(resume) and all(
        isinstance(k, str) and _INTERRUPT_ID.match(k) for k in resume
    )


def known_input(graph: Any, value: Any) -> Any:
    """A run's input with the keys the graph's input schema lacks dropped, as LangGraph's server
    ignores them (Agent Chat UI sends ``context`` with its messages); the core library refuses
    them. Anything but a dict, or any input of an ``@entrypoint`` (any value), passes as it is."""
    if getattr(getattr(graph, "spec", None), "entry", None) is not None:
        return value
    keys = getattr(graph, "input_keys", None)
    if not isinstance(value, Mapping) or keys is None:
        return value
    return {k: v for k, v in value.items() if k in keys}


# --- errors ------------------------------------------------------------------------------------

_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INVALID_ARGUMENT: 422,
    ErrorCode.INVALID_FIELD: 422,
    ErrorCode.BAD_JSON: 422,
    ErrorCode.THREAD_BUSY: 409,
    ErrorCode.INTERRUPT_PENDING: 409,
    ErrorCode.NOTHING_PENDING: 409,
    ErrorCode.AMBIGUOUS_RESUME: 409,
    ErrorCode.ALREADY_ANSWERED: 409,
    ErrorCode.NO_ACTIVE_RUN: 409,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.TOO_MANY_RUNS: 429,
    ErrorCode.SHUTTING_DOWN: 503,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
    ErrorCode.NOT_READY: 503,
}


_WS_BUSY_HINT = "or pass if_busy='enqueue'"
"""How the run manager's ``thread_busy`` ends: ``if_busy`` is the ``/ws`` parameter."""


def for_surface(error: CommandError, busy_hint: str) -> CommandError:
    """``error`` as a client of this surface should read it: a ``thread_busy`` that names
    ``/ws``'s ``if_busy`` names this surface's way (``busy_hint``) instead."""
    if error.code is not ErrorCode.THREAD_BUSY or not error.message.endswith(_WS_BUSY_HINT):
        return error
    message = error.message[: -len(_WS_BUSY_HINT)] + busy_hint
    return CommandError(error.code, message, path=error.path, details=error.details)


def error_status(error: CommandError) -> int:
    """The HTTP status of a refused command."""
    if isinstance(error, ThreadExists):
        return 409
    status = getattr(error, "http_status", None)  # .unsupported.NotSupported
    if isinstance(status, int):
        return status
    return _STATUS.get(error.code, 400)


class ThreadExists(CommandError):
    """``POST /threads`` with the id of an existing thread: 409 ``thread_exists``."""

    wire_code = "thread_exists"

    def __init__(self, thread_id: str, hint: str = "") -> None:
        super().__init__(ErrorCode.INVALID_ARGUMENT, f"thread {thread_id!r} exists{hint}", details={"resource": "thread"})


def error_body(error: CommandError) -> dict[str, Any]:
    """``{detail, code}`` (plus ``path`` and streamhil's details when there are any)."""
    body: dict[str, Any] = {"detail": error.message, "code": getattr(error, "wire_code", error.code.value)}
    if error.path:
        body["path"] = error.path
    if error.details:
        body["details"] = error.details
    return body


# --- SSE ---------------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return repr(value)


def sse_frame(event: str, data: Any, event_id: str | int | None = None) -> bytes:
    """One server-sent event: ``id:`` (when given), ``event:`` and one ``data:`` line of JSON."""
    head = b"" if event_id is None else f"id: {event_id}\n".encode()
    body = orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return head + f"event: {event}\n".encode() + b"data: " + body + b"\n\n"
