"""The chat-model protocol, a helper that calls any model, and a deterministic scripted model.

A chat model is any callable, sync or async, taking ``(messages, tools)`` and returning the
assistant's reply: a message dict (``{"role": "assistant", "content", "tool_calls"?}``) or a
string. ``messages`` is a list of message dicts (see :mod:`streamhil.messages`); ``tools`` is a
list of tool specs in chat-completions form (``{"type": "function", "function": {"name",
"description", "parameters"}}``). A model that streams calls :func:`emit_chunk` for each piece;
the chunks reach the graph's ``messages`` stream mode::

    async def echo(messages, tools):
        return {"role": "assistant", "content": messages[-1]["content"]}
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio.lowlevel
import anyio.to_thread
import orjson

from ..errors import StreamhilError
from ..executor.context import write_message_chunk
from ..messages import Message, coerce_message

__all__ = [
    "ChatModel",
    "ChatModelError",
    "ScriptExhaustedError",
    "ScriptedChatModel",
    "call_chat_model",
    "emit_chunk",
]

Reply = Message | str


class ChatModel(Protocol):
    """``model(messages, tools)`` returns (or awaits to) the assistant's reply."""

    def __call__(self, messages: list[Message], tools: list[dict[str, Any]], /) -> Reply | Awaitable[Reply]: ...


class ChatModelError(StreamhilError):
    """A chat model failed to produce a reply (bad response, HTTP error, bad reply shape)."""


class ScriptExhaustedError(ChatModelError, IndexError):
    """A :class:`ScriptedChatModel` was asked for more replies than its script holds."""


def emit_chunk(chunk: Message) -> None:
    """Send one streamed piece of an assistant message to the ``messages`` stream mode.

    ``chunk`` is a partial message: ``{"id", "role": "assistant", "content": "<new text>"}``,
    optionally with ``tool_call_chunks`` (``[{"index", "id", "name", "args": "<json text>"}]``).
    Outside a running node, or when nobody asked for the ``messages`` mode, it does nothing.
    """
    write_message_chunk(chunk)


def to_assistant_message(reply: Any) -> Message:
    """Coerce a model's reply into an assistant message dict with an id."""
    if reply is None:
        raise ChatModelError("the chat model returned None; it must return a message dict or a string")
    if isinstance(reply, str):
        reply = {"role": "assistant", "content": reply}
    elif isinstance(reply, dict) and "role" not in reply and "type" not in reply:
        reply = {"role": "assistant", **reply}
    try:
        message = coerce_message(reply)
    except (TypeError, ValueError) as exc:
        raise ChatModelError(f"the chat model returned a bad message: {exc}") from exc
    if message["role"] != "assistant":
        raise ChatModelError(f"the chat model must reply as 'assistant', not {message['role']!r}")
    return message


async def call_chat_model(model: ChatModel, messages: list[Message], tools: list[dict[str, Any]]) -> Message:
    """Call a sync or async chat model and return its reply as an assistant message.

    A sync model runs in a worker thread, so a blocking HTTP call does not stall the event loop.
    """
    if _is_async_callable(model):
        reply = await model(messages, tools)  # type: ignore[misc]
    else:
        reply = await anyio.to_thread.run_sync(model, messages, tools)
        if inspect.isawaitable(reply):
            reply = await reply
    return to_assistant_message(reply)


def _is_async_callable(obj: Any) -> bool:
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(getattr(obj, "__call__", None))


_WORD = re.compile(r"\s*\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Split text into word-sized chunks that join back to exactly ``text``."""
    return _WORD.findall(text)


class ScriptedChatModel:
    """A deterministic chat model for tests and demos.

    ``script`` is either a list of replies or a function ``(messages, tools) -> reply``. With a
    list, the reply is chosen by how many assistant messages the conversation already holds, so
    one instance serves many threads and a re-run node gets the same answer. A reply is a string,
    or a message dict, e.g. ``{"content": "", "tool_calls": [{"name": "book_hotel", "args": {...}}]}``.

    With ``stream=True`` the content is emitted word by word (and each tool call as one chunk)
    through :func:`emit_chunk` before the whole message is returned; ``token_delay`` (seconds,
    default 0) waits between chunks, so a demo streams at a pace a person can see.
    """

    def __init__(
        self,
        script: Sequence[Reply] | Callable[[list[Message], list[dict[str, Any]]], Reply],
        *,
        stream: bool = False,
        token_delay: float = 0.0,
    ) -> None:
        if not isinstance(token_delay, (int, float)) or isinstance(token_delay, bool) or not 0 <= token_delay <= 10:
            raise ValueError(f"token_delay must be a number of seconds between 0 and 10, got {token_delay!r}")
        if callable(script):
            self._fn: Callable[[list[Message], list[dict[str, Any]]], Reply] | None = script
            self._replies: list[Reply] = []
        elif isinstance(script, Sequence) and not isinstance(script, (str, bytes)):
            self._fn = None
            self._replies = list(script)
            for i, reply in enumerate(self._replies):
                if not isinstance(reply, (str, dict)):
                    raise TypeError(f"script[{i}] must be a string or a message dict, got {type(reply).__name__}")
        else:
            raise TypeError("script must be a list of replies or a function (messages, tools) -> reply")
        self.stream = stream
        self.token_delay = float(token_delay)
        self.calls: deque[tuple[list[Message], list[dict[str, Any]]]] = deque(maxlen=256)
        """The latest calls (up to 256), as ``(messages, tools)``, for tests to inspect."""

    def _pick(self, messages: list[Message], tools: list[dict[str, Any]]) -> Reply:
        if self._fn is not None:
            return self._fn(messages, tools)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if turn >= len(self._replies):
            raise ScriptExhaustedError(
                f"the script has {len(self._replies)} replies but the conversation already has "
                f"{turn} assistant messages"
            )
        return self._replies[turn]

    async def __call__(self, messages: list[Message], tools: list[dict[str, Any]]) -> Message:
        self.calls.append(([dict(m) for m in messages], list(tools)))
        message = to_assistant_message(self._pick(messages, tools))
        if self.stream:
            await self._stream(message)
        return message

    async def _stream(self, message: Message) -> None:
        content = message.get("content")
        first = True
        if isinstance(content, str):
            for word in split_words(content):
                await self._pace(first)
                first = False
                emit_chunk({"id": message["id"], "role": "assistant", "content": word})
        for index, call in enumerate(message.get("tool_calls", ())):
            await self._pace(first)
            first = False
            emit_chunk(
                {
                    "id": message["id"],
                    "role": "assistant",
                    "content": "",
                    "tool_call_chunks": [
                        {"index": index, "id": call["id"], "name": call["name"], "args": _json(call["args"])}
                    ],
                }
            )

    async def _pace(self, first: bool) -> None:
        if self.token_delay and not first:
            await anyio.sleep(self.token_delay)
        else:
            await anyio.lowlevel.checkpoint()


def _json(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def new_message_id() -> str:
    """A fresh id for an assistant message (shared by its streamed chunks)."""
    return f"msg_{uuid.uuid4().hex}"
