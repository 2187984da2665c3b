"""Graph values → JSON for the wire.

Graph state may hold anything. The server sends what orjson can encode as is (dicts, lists,
strings, numbers, dataclasses, datetimes, UUIDs), turns tuples and sets into arrays, interrupts
into the protocol's Interrupt object (spec 4.1), LangChain messages (``AIMessageChunk``s of the
``messages`` mode, ``AIMessage``s a node returns) into streamhil message dicts, and any other
object into its ``repr`` string, so one odd value never breaks a stream.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any

import orjson
from streamhil.messages import is_langchain_message, langchain_message_dict
from streamhil.protocol import InterruptInfo
from streamhil.types import Interrupt

__all__ = ["dumps_event", "jsonable", "interrupt_wire", "message_wire", "stream_payload", "state_wire", "task_error_wire"]

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def interrupt_wire(interrupt: Any) -> dict[str, Any]:
    """An :class:`~streamhil.types.Interrupt` as the wire's Interrupt object.

    The core's ``Interrupt.ns`` is the checkpoint namespace of the task that asked (it ends
    with ``node:task_id``); the wire's ``ns`` is the namespace of the graph the node belongs
    to, so that last segment is dropped (``[]`` for a node of the root graph).
    """
    return InterruptInfo.from_interrupt(interrupt).to_wire()


def message_wire(message: Any) -> dict[str, Any]:
    """A LangChain message as a streamhil message dict; a chunk keeps its ``tool_call_chunks``
    (``{"index", "id", "name", "args": "<json text>"}``), as the ``messages`` mode's chunks have."""
    out = langchain_message_dict(message)
    pieces = getattr(message, "tool_call_chunks", None)
    if pieces:
        out["tool_call_chunks"] = [
            {"index": p.get("index"), "id": p.get("id"), "name": p.get("name"), "args": p.get("args") or ""}
            for p in pieces
        ]
    return out


def task_error_wire(payload: Any) -> Any:
    """A ``tasks`` result payload with its ``error`` (the exception, as LangGraph's) as the wire's
    string, the exception's ``repr``."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), BaseException):
        return {**payload, "error": repr(payload["error"])}
    return payload


def stream_payload(mode: str, payload: Any) -> Any:
    """A stream part's payload with its ``__interrupt__`` entries as wire Interrupt objects, a
    ``messages`` part's LangChain message as a message dict and a failed task's ``error`` (in a
    ``tasks`` part or a ``debug`` part's ``payload``) as a string."""
    if mode == "messages" and isinstance(payload, tuple) and len(payload) == 2 and is_langchain_message(payload[0]):
        return (message_wire(payload[0]), payload[1])
    if mode == "tasks":
        return task_error_wire(payload)
    if mode == "debug" and isinstance(payload, dict) and "payload" in payload:
        return {**payload, "payload": task_error_wire(payload["payload"])}
    if mode in ("updates", "values") and isinstance(payload, dict) and "__interrupt__" in payload:
        payload = dict(payload)
        payload["__interrupt__"] = [
            interrupt_wire(i) if isinstance(i, Interrupt) else i for i in payload["__interrupt__"]
        ]
    return payload


def _default(value: Any) -> Any:
    if isinstance(value, Interrupt):
        return interrupt_wire(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if is_langchain_message(value):  # e.g. an AIMessage in a node's update
        return message_wire(value)
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    model_dump = getattr(value, "model_dump", None)  # a pydantic model (v2) in the state: its JSON fields
    if callable(model_dump) and not isinstance(value, type):
        return model_dump(mode="json")
    return repr(value)


def dumps_event(
    event: str, thread_id: str, run_id: str | None, seq: int, ns: tuple[str, ...] | list[str], data: Any
) -> str:
    """One ``event`` frame as JSON text."""
    frame = {"type": "event", "event": event, "thread_id": thread_id, "run_id": run_id, "seq": seq, "ns": list(ns), "data": data}
    try:
        return orjson.dumps(frame, default=_default, option=_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:  # keys JSON has no text for (a tuple): written as their str()
        frame["data"] = _keys_as_text(data)
        return orjson.dumps(frame, default=_default, option=_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError, RecursionError):
        # e.g. an int above 64 bits or a cycle: fall back to a repr of the payload
        frame["data"] = repr(data)
        return orjson.dumps(frame, default=_default, option=_OPTIONS).decode()


_JSON_KEY_TYPES = (str, int, float, bool, type(None), datetime.date, datetime.time, uuid.UUID, enum.Enum)
"""Dict keys orjson writes as text itself (``OPT_NON_STR_KEYS``)."""


def _keys_as_text(value: Any) -> Any:
    """``value`` with every dict key orjson cannot write (a tuple, a frozenset) as its ``str()``;
    the rest as it is (only walked when orjson refused the whole)."""
    if isinstance(value, dict):
        return {
            (key if isinstance(key, _JSON_KEY_TYPES) else str(key)): _keys_as_text(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_keys_as_text(item) for item in value]
    return value


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (for replies built from graph state)."""
    try:
        return orjson.loads(orjson.dumps(value, default=_default, option=_OPTIONS))
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return orjson.loads(orjson.dumps(_keys_as_text(value), default=_default, option=_OPTIONS))
    except (TypeError, orjson.JSONEncodeError, RecursionError):
        return repr(value)


def state_wire(snapshot: Any) -> dict[str, Any]:
    """A :class:`~streamhil.types.StateSnapshot` as the wire's State object (spec 4.2), as JSON data."""
    from streamhil.protocol import StateView

    wire = StateView.from_snapshot(snapshot).to_wire()
    wire["interrupts"] = [interrupt_wire(i) for i in snapshot.interrupts]
    for task, original in zip(wire["tasks"], snapshot.tasks, strict=True):
        task["interrupts"] = [interrupt_wire(i) for i in original.interrupts]
    return jsonable(wire)
