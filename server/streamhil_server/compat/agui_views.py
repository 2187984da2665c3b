"""How streamhil's messages, interrupts and answers look in AG-UI, and back.

Pure functions over JSON data and ``ag_ui.core`` models; no I/O.

* messages: streamhil's dicts (``role``, ``content``, ``id``, ``tool_calls`` as
  ``{"id", "name", "args"}``, ``tool_call_id``) ⇄ AG-UI messages (``toolCalls`` as
  ``{"id", "type": "function", "function": {"name", "arguments": "<json>"}}``);
* interrupts: streamhil's wire Interrupt (``id``, ``value``, ``node``, ``task_id``, ``ns``) →
  ``ag_ui.core.Interrupt``;
* answers: an AG-UI ``ResumeEntry`` → the value the graph's ``interrupt()`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    DeveloperMessage,
    FunctionCall,
    Interrupt,
    Message,
    ResumeEntry,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from streamhil.prebuilt.human_review import REVIEW_ASKED_BY

__all__ = [
    "CANCELLED_KEY",
    "to_agui_message",
    "to_agui_messages",
    "from_agui_message",
    "text_of",
    "review_request",
    "agui_interrupt",
    "answer_for",
]

CANCELLED_KEY = "__agui_cancelled__"
"""An interrupt resumed with ``status: "cancelled"`` gets ``{CANCELLED_KEY: True, "interrupt_id": id}``
(the key ``ag-ui-langgraph`` uses, so graphs written for it recognise it too)."""

_MESSAGE_KEYS = ("message", "question", "description", "prompt", "task")
_REJECTED = "The reviewer rejected this tool call; it was not run."
_CANCELLED = "The reviewer cancelled this tool call; it was not run."


# --- messages ------------------------------------------------------------------------------------


def text_of(content: Any) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) and part.get("type") == "text" else
            part if isinstance(part, str) else ""
            for part in content
        )
    return "" if content is None else str(content)


def _arguments(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args, separators=(",", ":"), ensure_ascii=False)


def to_agui_message(message: Mapping[str, Any], fallback_id: str | None = None) -> Message | None:
    """One streamhil message as an AG-UI message (None for what AG-UI cannot show, e.g. a removal).

    A message without an id (a graph that keeps plain dicts with ``operator.add``) gets ``fallback_id``.
    """
    role, mid = message.get("role"), message.get("id") or fallback_id
    if not isinstance(mid, str) or not mid:
        return None
    content = message.get("content")
    if role == "user":
        return UserMessage(id=mid, content=text_of(content), name=message.get("name"))
    if role == "assistant":
        calls = [
            ToolCall(id=str(c.get("id")), function=FunctionCall(name=str(c.get("name")), arguments=_arguments(c.get("args", {}))))
            for c in message.get("tool_calls") or ()
            if isinstance(c, Mapping) and c.get("id") and c.get("name")
        ]
        text = text_of(content)
        return AssistantMessage(id=mid, content=text if text or not calls else None, tool_calls=calls or None, name=message.get("name"))
    if role == "tool":
        text = text_of(content)
        error = text if message.get("status") == "error" else None
        return ToolMessage(id=mid, content=text, tool_call_id=str(message.get("tool_call_id", "")), error=error)
    if role == "system":
        return SystemMessage(id=mid, content=text_of(content), name=message.get("name"))
    if role == "developer":
        return DeveloperMessage(id=mid, content=text_of(content), name=message.get("name"))
    return None


def to_agui_messages(messages: Any) -> list[Message]:
    """A state's messages; those without an id are named by their position (``message-3``)."""
    if not isinstance(messages, list):
        return []
    out = []
    for position, message in enumerate(messages):
        if isinstance(message, Mapping):
            converted = to_agui_message(message, f"message-{position}")
            if converted is not None:
                out.append(converted)
    return out


def from_agui_message(message: Any) -> dict[str, Any] | None:
    """An AG-UI message as a streamhil message dict (None for activity and reasoning messages)."""
    role = getattr(message, "role", None)
    if role not in ("user", "assistant", "tool", "system", "developer"):
        return None
    out: dict[str, Any] = {"id": message.id, "role": role}
    content = getattr(message, "content", None)
    if isinstance(content, list):
        out["content"] = [part.model_dump(by_alias=True, exclude_none=True) for part in content]
    else:
        out["content"] = content if content is not None else ""
    if getattr(message, "name", None):
        out["name"] = message.name
    if role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}
            for call in message.tool_calls
        ]
    if role == "tool":
        out["tool_call_id"] = message.tool_call_id
        if message.error:
            out["status"] = "error"
    return out


# --- interrupts ----------------------------------------------------------------------------------


def _human_interrupt(value: Any) -> dict[str, Any] | None:
    """The Agent Inbox ``HumanInterrupt`` (``action_request`` + ``config``) an interrupt value
    is, alone or as a one-item list (``interrupt([request])``), or None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, Mapping) and isinstance(value.get("action_request"), Mapping) and isinstance(value.get("config"), Mapping):
        return dict(value)
    return None


def review_request(value: Any) -> dict[str, Any] | None:
    """The tool-call review request in an interrupt value, or None: a ``HumanInterrupt`` that
    ``add_human_in_the_loop`` made (its ``asked_by``; outside a tool node it names no tool call)
    or that names the tool call it reviews (``tool_call_id``). Both directions decide by this:
    such an interrupt is reported as ``reason: "tool_call"`` and its answer mapped to a
    ``HumanResponse``; any other (an Agent Inbox request a graph raises itself included) is a
    plain interrupt, answered with the payload as sent."""
    request = _human_interrupt(value)
    if request is None:
        return None
    if request.get("asked_by") == REVIEW_ASKED_BY or isinstance(request.get("tool_call_id"), str):
        return request
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _response_schema(request: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"approved": {"type": "boolean"}}
    if request["config"].get("allow_edit"):
        properties["editedArgs"] = {"type": "object", "description": "Full replacement of the tool's arguments. Not merged."}
    if request["config"].get("allow_respond"):
        properties["message"] = {"type": "string", "description": "With approved: false, the text the model reads instead of the tool's result."}
    return {"type": "object", "properties": properties, "required": ["approved"]}


def agui_interrupt(wire: Mapping[str, Any]) -> Interrupt:
    """streamhil's wire Interrupt as AG-UI's: ``id`` kept, ``reason``/``message``/``toolCallId``
    read from the value, and streamhil's provenance in ``metadata.streamhil``."""
    value = wire.get("value")
    provenance = {"value": value, "node": wire.get("node"), "task_id": wire.get("task_id"), "ns": list(wire.get("ns") or [])}
    metadata = {"streamhil": provenance}
    request = review_request(value)
    if request is not None:
        action = request["action_request"]
        text = f"{request.get('description') or 'Review the tool call'}: {action.get('action')}({_arguments(action.get('args', {}))})"
        if request.get("error"):
            text += f" ({request['error']})"
        return Interrupt(
            id=str(wire["id"]), reason="tool_call", message=text, tool_call_id=_str_or_none(request.get("tool_call_id")),
            response_schema=_response_schema(request), metadata=metadata,
        )
    reason, message, schema, expires = "input_required", None, None, None
    value = _human_interrupt(value) or value  # interrupt([request]): the request's description
    if isinstance(value, str):
        message = value
    elif isinstance(value, Mapping):
        if isinstance(value.get("reason"), str) and value["reason"]:
            reason = value["reason"]
        message = next((value[k] for k in _MESSAGE_KEYS if isinstance(value.get(k), str)), None)
        found = value.get("responseSchema", value.get("response_schema"))
        schema = dict(found) if isinstance(found, Mapping) else None
        found = value.get("expiresAt", value.get("expires_at"))
        expires = found if isinstance(found, str) else None
    return Interrupt(
        id=str(wire["id"]), reason=reason, message=message, response_schema=schema, expires_at=expires, metadata=metadata,
    )


# --- answers -------------------------------------------------------------------------------------


def _review_answer(entry: ResumeEntry, request: Mapping[str, Any]) -> Any:
    allow = request["config"]
    payload = entry.payload

    def declined(text: str) -> Any:
        if allow.get("allow_ignore"):
            return {"type": "ignore"}
        return {"type": "response", "args": text}

    if entry.status == "cancelled":
        return declined(_CANCELLED)
    if isinstance(payload, Mapping) and "approved" in payload and "type" not in payload:
        if not payload.get("approved"):
            note = payload.get("message")
            if isinstance(note, str) and note.strip() and allow.get("allow_respond"):
                return {"type": "response", "args": note}  # a reason the model should read
            return declined(note if isinstance(note, str) and note.strip() else _REJECTED)
        edited = payload.get("editedArgs")
        if edited is not None:
            return {"type": "edit", "args": {"args": edited}}
        return {"type": "accept"}
    return payload  # streamhil's own HumanResponse ({"type": "accept"}, ...) or anything else: as sent


def answer_for(entry: ResumeEntry, wire: Mapping[str, Any]) -> Any:
    """The value ``interrupt()`` returns for a resume entry answering the interrupt ``wire``.

    A tool-call review (:func:`review_request`, as :func:`agui_interrupt` reports it) takes
    AG-UI's ``{"approved", "editedArgs"?, "message"?}`` or streamhil's ``HumanResponse``;
    ``cancelled`` skips the call. Any other interrupt gets the payload as sent (``None`` when
    absent), or ``{CANCELLED_KEY: True, "interrupt_id": id}`` when cancelled.
    """
    request = review_request(wire.get("value"))
    if request is not None:
        return _review_answer(entry, request)
    if entry.status == "cancelled":
        answer: dict[str, Any] = {CANCELLED_KEY: True, "interrupt_id": entry.interrupt_id}
        if entry.metadata:
            answer["metadata"] = entry.metadata
        return answer
    return entry.payload
