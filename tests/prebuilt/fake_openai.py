"""A tiny OpenAI-compatible HTTP endpoint on a loopback anyio listener (works on asyncio and trio).

Each request is answered by the next item of ``replies``: a :class:`JsonReply` or an
:class:`SseReply`. An ``SseReply`` event may be an ``anyio.Event``: the server waits for it
before sending the rest, which lets a test prove tokens arrive one at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio.abc import SocketAttribute, SocketStream


@dataclass
class JsonReply:
    body: Any
    status: int = 200


@dataclass
class SseReply:
    events: list[Any]
    status: int = 200


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeOpenAI:
    replies: list[JsonReply | SseReply]
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""

    async def _read_request(self, stream: SocketStream) -> Request:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode().split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += await stream.receive()
        method, path, _ = request_line.split(" ", 2)
        return Request(method, path, headers, orjson.loads(body) if body else None)

    async def handle(self, stream: SocketStream) -> None:
        async with stream:
            self.requests.append(await self._read_request(stream))
            reply = self.replies.pop(0)
            if isinstance(reply, JsonReply):
                payload = orjson.dumps(reply.body)
                await stream.send(
                    f"HTTP/1.1 {reply.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
                )
                return
            await stream.send(
                f"HTTP/1.1 {reply.status} X\r\nContent-Type: text/event-stream\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            for event in reply.events:
                if isinstance(event, anyio.Event):
                    await event.wait()
                elif isinstance(event, str):
                    await stream.send(event.encode())
                else:
                    await stream.send(b"data: " + orjson.dumps(event) + b"\n\n")


@asynccontextmanager
async def serve_fake_openai(replies: list[JsonReply | SseReply]) -> AsyncIterator[FakeOpenAI]:
    """Run the fake endpoint for the duration of the block; ``fake.base_url`` is its ``/v1`` URL."""
    fake = FakeOpenAI(list(replies))
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    fake.base_url = f"http://127.0.0.1:{port}/v1"
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, fake.handle)
        try:
            yield fake
        finally:
            tg.cancel_scope.cancel()


def delta_event(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None, finish: str | None = None) -> dict[str, Any]:
    """One chat.completion.chunk event."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def completion(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A whole chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }
