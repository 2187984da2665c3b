"""A chat model for any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, vLLM, Ollama...).

Needs ``httpx`` (``pip install 'streamhil[openai]'``). The base URL, key and model come from the
arguments or from ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` and ``OPENAI_MODEL``. With
``stream=True`` (the default) the reply is read as server-sent events and each token or
tool-call fragment reaches the graph's ``messages`` stream mode as it arrives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ..messages import Message
from .chat_models import ChatModelError, emit_chunk, new_message_id, to_assistant_message

try:
    import httpx
except ImportError:  # pragma: no cover - exercised only without the extra
    httpx = None  # type: ignore[assignment]

__all__ = ["OpenAIChatModel", "to_openai_messages"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

ChunkHandler = Callable[[Message], Any]


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Message dicts in the chat-completions wire shape (tool calls as ``function`` + JSON text)."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg["role"]
        if role == "assistant":
            wire: dict[str, Any] = {"role": "assistant", "content": msg.get("content") or None}
            calls = msg.get("tool_calls")
            if calls:
                wire["tool_calls"] = [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {
                            "name": call["name"],
                            "arguments": call["args"]
                            if isinstance(call["args"], str)
                            else orjson.dumps(call["args"]).decode(),
                        },
                    }
                    for call in calls
                ]
            elif wire["content"] is None:
                wire["content"] = ""
        elif role == "tool":
            content = msg.get("content", "")
            wire = {
                "role": "tool",
                "tool_call_id": msg["tool_call_id"],
                "content": content if isinstance(content, (str, list)) else str(content),
            }
        else:
            wire = {"role": role, "content": msg.get("content", "")}
            if role == "user" and isinstance(msg.get("name"), str):
                wire["name"] = msg["name"]
        out.append(wire)
    return out


class _Assembler:
    """Folds streamed deltas into one assistant message, and turns each into a chunk."""

    def __init__(self, message_id: str) -> None:
        self.id = message_id
        self.content: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.response_id: str | None = None
        self.model: str | None = None

    def add(self, event: Mapping[str, Any]) -> Message | None:
        if "error" in event:
            raise ChatModelError(f"the endpoint sent an error while streaming: {event['error']!r}")
        self.response_id = self.response_id or event.get("id")
        self.model = self.model or event.get("model")
        if event.get("usage"):
            self.usage = event["usage"]
        choices = event.get("choices") or []
        if not choices:
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        chunk: Message = {"id": self.id, "role": "assistant", "content": ""}
        text = delta.get("content")
        if isinstance(text, str) and text:
            self.content.append(text)
            chunk["content"] = text
        pieces = []
        for part in delta.get("tool_calls") or []:
            index = part.get("index", len(self.calls))
            slot = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            function = part.get("function") or {}
            if part.get("id"):
                slot["id"] = part["id"]
            if function.get("name"):
                slot["name"] += function["name"]
            if function.get("arguments"):
                slot["arguments"] += function["arguments"]
            pieces.append(
                {
                    "index": index,
                    "id": part.get("id"),
                    "name": function.get("name"),
                    "args": function.get("arguments") or "",
                }
            )
        if pieces:
            chunk["tool_call_chunks"] = pieces
        if not chunk["content"] and not pieces:
            return None
        return chunk

    def message(self) -> Message:
        reply: Message = {"id": self.id, "role": "assistant", "content": "".join(self.content)}
        if self.calls:
            reply["tool_calls"] = [
                {"id": c["id"] or None, "name": c["name"], "args": c["arguments"]}
                for _, c in sorted(self.calls.items())
            ]
        reply["response_metadata"] = _metadata(self.response_id, self.model, self.finish_reason, self.usage)
        return to_assistant_message(reply)


def _metadata(response_id: Any, model: Any, finish_reason: Any, usage: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in {"id": response_id, "model": model, "finish_reason": finish_reason, "usage": usage}.items()
        if v is not None
    }


class OpenAIChatModel:
    """Chat model over an OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        stream: bool = True,
        temperature: float | None = None,
        timeout: float = 60.0,
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if httpx is None:
            raise ImportError(
                "OpenAIChatModel needs httpx. Install it with: pip install 'streamhil[openai]'"
            )
        resolved = model or os.environ.get("OPENAI_MODEL")
        if not resolved:
            raise ValueError("no model name: pass OpenAIChatModel(model=...) or set OPENAI_MODEL")
        self.model = resolved
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.stream = stream
        self.temperature = temperature
        self.timeout = timeout
        self.extra_body = dict(extra_body or {})
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.model!r}, base_url={self.base_url!r}, stream={self.stream})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def request_body(self, messages: list[Message], tools: list[dict[str, Any]], *, stream: bool) -> dict[str, Any]:
        """The JSON body sent for one call."""
        body: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        if tools:
            body["tools"] = tools
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if stream:
            body["stream"] = True
        body.update(self.extra_body)
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def __call__(self, messages: list[Message], tools: list[dict[str, Any]]) -> Message:
        return await self.complete(messages, tools, on_chunk=emit_chunk)

    async def complete(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]],
        *,
        on_chunk: ChunkHandler | None = None,
    ) -> Message:
        """One chat completion; when streaming, ``on_chunk`` gets each partial message first.

        ``on_chunk`` may be sync or async. Raises :class:`ChatModelError` on any failure.
        """
        body = self.request_body(messages, tools, stream=self.stream)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                if not self.stream:
                    response = await client.post(self.url, content=orjson.dumps(body), headers=self._headers())
                    await self._raise_for_status(response)
                    return self._parse_reply(response)
                async with client.stream(
                    "POST", self.url, content=orjson.dumps(body), headers=self._headers()
                ) as response:
                    await self._raise_for_status(response)
                    return await self._read_stream(response, on_chunk)
        except httpx.HTTPError as exc:
            raise ChatModelError(f"request to {self.url} failed: {exc!r}") from exc

    async def _raise_for_status(self, response: Any) -> None:
        if response.status_code < 400:
            return
        text = (await response.aread()).decode("utf-8", "replace")
        raise ChatModelError(f"{self.url} answered HTTP {response.status_code}: {text[:500]}")

    def _parse_reply(self, response: Any) -> Message:
        try:
            data = orjson.loads(response.content)
            choice = data["choices"][0]
            wire = choice["message"]
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise ChatModelError(f"{self.url} sent a reply that is not a chat completion: {exc!r}") from exc
        reply: Message = {
            "id": new_message_id(),
            "role": "assistant",
            "content": wire.get("content") or "",
            "response_metadata": _metadata(data.get("id"), data.get("model"), choice.get("finish_reason"), data.get("usage")),
        }
        if wire.get("tool_calls"):
            reply["tool_calls"] = wire["tool_calls"]
        return to_assistant_message(reply)

    async def _read_stream(self, response: Any, on_chunk: ChunkHandler | None) -> Message:
        assembler = _Assembler(new_message_id())
        data_lines: list[str] = []
        done = False
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data_lines.append(line[5:].lstrip(" "))
                continue
            if line.strip() or not data_lines:
                continue  # comments, event:/id: fields, or stray blank lines
            payload, data_lines = "\n".join(data_lines), []
            if payload.strip() == "[DONE]":
                done = True
                break
            await self._feed(assembler, payload, on_chunk)
        if data_lines and not done:  # last event without its blank line
            payload = "\n".join(data_lines)
            if payload.strip() != "[DONE]":
                await self._feed(assembler, payload, on_chunk)
        return assembler.message()

    async def _feed(self, assembler: _Assembler, payload: str, on_chunk: ChunkHandler | None) -> None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ChatModelError(f"{self.url} streamed an event that is not JSON: {payload[:200]!r}") from exc
        if not isinstance(event, dict):
            raise ChatModelError(f"{self.url} streamed an event that is not an object: {payload[:200]!r}")
        chunk = assembler.add(event)
        if chunk is not None and on_chunk is not None:
            result = on_chunk(chunk)
            if hasattr(result, "__await__"):
                await result
