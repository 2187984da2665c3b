"""Chat messages as plain dicts, and the ``add_messages`` reducer that merges them.

A message is a dict with a ``role`` (``"system"``, ``"developer"``, ``"user"``, ``"assistant"`` or
``"tool"``), a ``content`` (a string or a list of content parts) and an ``id``. Assistant messages
carry ``tool_calls`` (``[{"id", "name", "args": dict}]``, ``[]`` when there are none, as LangChain's
``AIMessage.tool_calls``); tool messages carry the
``tool_call_id`` they answer, the tool's ``name`` and a ``status`` (``"success"``/``"error"``).

Being plain dicts, messages go through any checkpointer and over the wire unchanged. LangChain
message objects (``HumanMessage``, ``AIMessage``...) are accepted wherever a message is and become
dicts of the same meaning; LangChain itself is never imported here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypedDict

__all__ = [
    "Message",
    "MessagesState",
    "RemoveMessage",
    "REMOVE_ALL_MESSAGES",
    "add_messages",
    "coerce_message",
    "coerce_messages",
]

Message = dict[str, Any]
"""A chat message: a plain dict with at least ``role``, ``content`` and ``id``."""

REMOVE_ALL_MESSAGES = "__remove_all__"
"""Give ``RemoveMessage(REMOVE_ALL_MESSAGES)`` to drop every message before it."""

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_ROLE_ALIASES = {"human": "user", "ai": "assistant"}
_REMOVE_ROLE = "remove"


class RemoveMessage(dict[str, Any]):
    """An update that deletes the message with ``id`` (or all, with ``REMOVE_ALL_MESSAGES``).

    It is a dict (``{"role": "remove", "id": id}``), so it survives a checkpointer round-trip; any
    dict with role ``"remove"`` works the same.
    """

    def __init__(self, id: str) -> None:
        if not isinstance(id, str) or not id:
            raise TypeError(f"RemoveMessage needs a non-empty string id, got {id!r}")
        super().__init__(role=_REMOVE_ROLE, id=id, content="")


def _new_id() -> str:
    return str(uuid.uuid4())


def _coerce_tool_call(call: Any, where: str) -> dict[str, Any]:
    """One tool call in LangChain's shape ``{"name", "args", "id", "type": "tool_call"}`` (so a
    LangChain tool's ``invoke(call)`` answers with a tool message); OpenAI's shape is accepted too."""
    if not isinstance(call, Mapping):
        raise TypeError(f"{where}: a tool call must be a dict, got {type(call).__name__}")
    if "function" in call and isinstance(call["function"], Mapping):  # OpenAI chat-completions shape
        name = call["function"].get("name")
        args: Any = call["function"].get("arguments", {})
    else:
        name = call.get("name")
        args = call.get("args", {})
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: a tool call needs a non-empty string 'name', got {name!r}")
    if isinstance(args, str):
        # Models send arguments as JSON text; keep text that is not valid JSON so the
        # tool node can answer with an error the model can read.
        try:
            parsed = json.loads(args) if args.strip() else {}
        except ValueError:
            parsed = args
        args = parsed
    elif args is None:
        args = {}
    elif isinstance(args, Mapping):
        args = dict(args)
    call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
    if not isinstance(call_id, str):
        raise TypeError(f"{where}: a tool call id must be a string, got {call_id!r}")
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def coerce_message(message: Any) -> Message:
    """Turn one message-like value into a message dict with an ``id``.

    Accepts a dict (``role`` or LangChain's ``type``), a string (a user message), a
    ``(role, content)`` tuple or 2-item list (what a JSON client sends for a tuple, accepted as
    LangChain's ``convert_to_messages`` does) or a LangChain message object (``HumanMessage``,
    ``AIMessage``, ``ToolMessage``, ``RemoveMessage``...). The input is not modified; a new dict is
    returned.
    """
    if isinstance(message, str):
        return {"role": "user", "content": message, "id": _new_id()}
    if isinstance(message, (tuple, list)):
        if len(message) != 2:
            raise ValueError(f"a message tuple or list must be (role, content), got {len(message)} items")
        role, content = message
        return coerce_message({"role": role, "content": content})
    if is_langchain_message(message):
        return coerce_message(langchain_message_dict(message))
    if not isinstance(message, Mapping):
        raise TypeError(
            "a message must be a dict, a string, a (role, content) tuple or list or a LangChain message, "
            f"got {type(message).__name__}"
        )
    out = dict(message)
    role = out["role"] if "role" in out else out.pop("type", None)
    if not isinstance(role, str):
        raise ValueError(f"a message needs a string 'role', got {role!r} in {dict(message)!r}")
    role = _ROLE_ALIASES.get(role, role)
    if role == _REMOVE_ROLE:
        if not isinstance(out.get("id"), str) or not out["id"]:
            raise ValueError("a remove message needs the string 'id' of the message to remove")
        out["role"] = role
        return out
    if role not in ROLES:
        raise ValueError(f"unknown message role {role!r}; expected one of {sorted(ROLES)}")
    out["role"] = role
    content = out.get("content")
    if content is None:
        out["content"] = ""
    elif not isinstance(content, (str, list)):
        raise TypeError(
            f"message content must be a string or a list of parts, got {type(content).__name__}"
        )
    if not out.get("id"):
        out["id"] = _new_id()
    elif not isinstance(out["id"], str):
        raise TypeError(f"a message id must be a string, got {out['id']!r}")
    calls = out.get("tool_calls")
    if calls:
        if role != "assistant":
            raise ValueError(f"only assistant messages carry tool_calls, not {role!r} ones")
        if not isinstance(calls, list):
            raise TypeError(f"tool_calls must be a list, got {type(calls).__name__}")
        out["tool_calls"] = [_coerce_tool_call(c, f"tool_calls[{i}]") for i, c in enumerate(calls)]
    elif role == "assistant":
        out["tool_calls"] = []  # always there, as LangChain's AIMessage.tool_calls: m["tool_calls"] works
    elif "tool_calls" in out:
        del out["tool_calls"]
    if role == "tool" and not isinstance(out.get("tool_call_id"), str):
        raise ValueError("a tool message needs the string 'tool_call_id' of the call it answers")
    return out


def is_langchain_message(value: Any) -> bool:
    """Whether ``value`` is a LangChain message object (checked without importing LangChain)."""
    return not isinstance(value, Mapping) and any(
        cls.__module__.startswith("langchain_core.messages") and cls.__name__ == "BaseMessage"
        for cls in type(value).__mro__
    )


_LANGCHAIN_ROLES = {
    "human": "user",
    "HumanMessageChunk": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "SystemMessageChunk": "system",
    "developer": "developer",
    "tool": "tool",
    "ToolMessageChunk": "tool",
    "remove": _REMOVE_ROLE,
}


def langchain_message_dict(message: Any) -> dict[str, Any]:
    """A LangChain message object as a streamhil message dict (state stays plain data)."""
    kind = message.type
    role = _LANGCHAIN_ROLES.get(kind)
    if role is None:
        raise ValueError(f"cannot use a LangChain {type(message).__name__} (type {kind!r}) as a chat message")
    out: dict[str, Any] = {"role": role, "content": message.content}
    if message.id:
        out["id"] = message.id
    if getattr(message, "name", None):
        out["name"] = message.name
    calls = getattr(message, "tool_calls", None)
    if calls:
        out["tool_calls"] = [{"id": c.get("id"), "name": c["name"], "args": c.get("args", {})} for c in calls]
    if role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out["status"] = getattr(message, "status", "success")
    return out


def coerce_messages(value: Any) -> list[Message]:
    """Turn a message, a list of messages or ``None`` into a list of message dicts."""
    if value is None:
        return []
    if isinstance(value, (str, tuple, Mapping)) or is_langchain_message(value):
        return [coerce_message(value)]
    if isinstance(value, Iterable):
        return [coerce_message(m) for m in value]
    raise TypeError(f"expected a message or a list of messages, got {type(value).__name__}")


def add_messages(left: Any, right: Any) -> list[Message]:
    """Merge ``right`` into ``left``: append new messages, replace those whose ``id`` matches.

    ``RemoveMessage(id)`` in ``right`` deletes a message (``ValueError`` if no message has that
    id); ``RemoveMessage(REMOVE_ALL_MESSAGES)`` drops everything before it. Both sides are
    coerced with :func:`coerce_messages` and get ids where missing. Returns a new list.
    """
    left_msgs = [m for m in coerce_messages(left) if m["role"] != _REMOVE_ROLE]
    right_msgs = coerce_messages(right)
    for i in range(len(right_msgs) - 1, -1, -1):
        msg = right_msgs[i]
        if msg["role"] == _REMOVE_ROLE and msg["id"] == REMOVE_ALL_MESSAGES:
            return add_messages([], right_msgs[i + 1 :])
    merged = list(left_msgs)
    index = {m["id"]: i for i, m in enumerate(merged)}
    removed: set[str] = set()
    for msg in right_msgs:
        if msg["role"] == _REMOVE_ROLE:
            if msg["id"] not in index:
                raise ValueError(
                    f"Attempting to delete a message with an ID that doesn't exist ({msg['id']!r})"
                )
            removed.add(msg["id"])
            continue
        position = index.get(msg["id"])
        if position is None:
            index[msg["id"]] = len(merged)
            merged.append(msg)
        else:
            merged[position] = msg
            removed.discard(msg["id"])
    if removed:
        merged = [m for m in merged if m["id"] not in removed]
    return merged


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged by :func:`add_messages`."""

    messages: Annotated[list[Message], add_messages]
