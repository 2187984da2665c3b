"""streamhil.prebuilt.openai against a local fake chat-completions endpoint (no internet)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamhil.prebuilt import ChatModelError, OpenAIChatModel, create_tool
from streamhil.prebuilt.openai import to_openai_messages

from .fake_openai import JsonReply, SseReply, completion, delta_event, serve_fake_openai

pytestmark = pytest.mark.anyio


def weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief", "id": "s"},
    {"role": "user", "content": "weather in Paris?", "id": "u"},
    {
        "role": "assistant",
        "content": "",
        "id": "a",
        "tool_calls": [{"id": "call_1", "name": "weather", "args": {"city": "Paris"}}],
    },
    {"role": "tool", "content": "sunny", "tool_call_id": "call_1", "name": "weather", "id": "t", "status": "success"},
]


def test_messages_are_converted_to_the_wire_shape() -> None:
    wire = to_openai_messages(CONVERSATION)
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


async def test_non_streaming_reply_and_request_shape() -> None:
    spec = create_tool(weather).spec
    async with serve_fake_openai([JsonReply(completion("It is sunny."))]) as fake:
        model = OpenAIChatModel("fake-model", base_url=fake.base_url, api_key="sk-test", stream=False, temperature=0)
        with anyio.fail_after(5):
            reply = await model(CONVERSATION, [spec])
    assert reply["role"] == "assistant" and reply["content"] == "It is sunny."
    assert reply["id"] and reply["tool_calls"] == []  # always there, as AIMessage.tool_calls
    assert reply["response_metadata"]["usage"]["total_tokens"] == 8
    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "fake-model"
    assert request.body["temperature"] == 0
    assert request.body["tools"] == [spec]
    assert "stream" not in request.body
    assert request.body["messages"] == to_openai_messages(CONVERSATION)


async def test_non_streaming_tool_calls_are_parsed() -> None:
    calls = [
        {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Rome"}'}},
    ]
    async with serve_fake_openai([JsonReply(completion(None, calls))]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url, stream=False)
        with anyio.fail_after(5):
            reply = await model([{"role": "user", "content": "hi", "id": "u"}], [])
    assert reply["content"] == ""
    assert reply["tool_calls"] == [
        {"name": "weather", "args": {"city": "Oslo"}, "id": "call_a", "type": "tool_call"},
        {"name": "weather", "args": {"city": "Rome"}, "id": "call_b", "type": "tool_call"},
    ]
    assert "tools" not in fake.requests[0].body, "an empty tool list is not sent"
    assert "authorization" not in fake.requests[0].headers


async def test_streamed_tokens_arrive_one_at_a_time() -> None:
    first_seen = anyio.Event()
    events = [delta_event("Hel"), first_seen, delta_event("lo "), delta_event("world"), delta_event(finish="stop"), "data: [DONE]\n\n"]
    chunks: list[dict[str, Any]] = []

    def on_chunk(chunk: dict[str, Any]) -> None:
        chunks.append(chunk)
        first_seen.set()  # the server holds the rest of the stream until the first token is here

    async with serve_fake_openai([SseReply(events)]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url)
        with anyio.fail_after(5):
            reply = await model.complete([{"role": "user", "content": "hi", "id": "u"}], [], on_chunk=on_chunk)
    assert fake.requests[0].body["stream"] is True
    assert [c["content"] for c in chunks] == ["Hel", "lo ", "world"]
    assert {c["id"] for c in chunks} == {reply["id"]}, "chunks carry the final message's id"
    assert reply["content"] == "Hello world"
    assert reply["response_metadata"]["finish_reason"] == "stop"


async def test_streamed_tool_call_deltas_are_assembled() -> None:
    events = [
        delta_event(tool_calls=[{"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}]),
        delta_event(tool_calls=[{"index": 1, "id": "call_b", "type": "function", "function": {"name": "weather", "arguments": '{"ci'}}]),
        delta_event(tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}]),
        delta_event(tool_calls=[{"index": 0, "function": {"arguments": '"Oslo"}'}}]),
        delta_event(tool_calls=[{"index": 1, "function": {"arguments": 'ty": "Rome"}'}}]),
        ": keep-alive comment\n\n",
        delta_event(finish="tool_calls"),
        "data: [DONE]\n\n",
    ]
    chunks: list[dict[str, Any]] = []

    async def on_chunk(chunk: dict[str, Any]) -> None:
        chunks.append(chunk)

    async with serve_fake_openai([SseReply(events)]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url)
        with anyio.fail_after(5):
            reply = await model.complete([{"role": "user", "content": "hi", "id": "u"}], [], on_chunk=on_chunk)
    assert reply["tool_calls"] == [
        {"name": "weather", "args": {"city": "Oslo"}, "id": "call_a", "type": "tool_call"},
        {"name": "weather", "args": {"city": "Rome"}, "id": "call_b", "type": "tool_call"},
    ]
    pieces = [p for c in chunks for p in c["tool_call_chunks"]]
    assert [p["index"] for p in pieces] == [0, 1, 0, 0, 1]
    assert "".join(p["args"] for p in pieces if p["index"] == 1) == '{"city": "Rome"}'


async def test_http_error_is_a_chat_model_error_with_the_body() -> None:
    async with serve_fake_openai([JsonReply({"error": {"message": "bad key"}}, status=401)]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url, api_key="wrong")
        with anyio.fail_after(5), pytest.raises(ChatModelError, match="HTTP 401.*bad key"):
            await model([{"role": "user", "content": "hi", "id": "u"}], [])


async def test_error_event_in_the_stream_is_a_chat_model_error() -> None:
    events = [delta_event("partial"), {"error": {"message": "overloaded"}}]
    async with serve_fake_openai([SseReply(events)]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url)
        with anyio.fail_after(5), pytest.raises(ChatModelError, match="overloaded"):
            await model([{"role": "user", "content": "hi", "id": "u"}], [])


async def test_reply_that_is_not_a_completion() -> None:
    async with serve_fake_openai([JsonReply({"unexpected": True})]) as fake:
        model = OpenAIChatModel("m", base_url=fake.base_url, stream=False)
        with anyio.fail_after(5), pytest.raises(ChatModelError, match="not a chat completion"):
            await model([{"role": "user", "content": "hi", "id": "u"}], [])


async def test_connection_refused_is_a_chat_model_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    model = OpenAIChatModel("m", base_url=f"http://127.0.0.1:{port}/v1")
    with anyio.fail_after(5), pytest.raises(ChatModelError, match="failed"):
        await model([{"role": "user", "content": "hi", "id": "u"}], [])


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.invalid/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    model = OpenAIChatModel()
    assert (model.model, model.base_url, model.api_key) == ("env-model", "http://example.invalid/v1", "sk-env")
    assert model.url == "http://example.invalid/v1/chat/completions"
    assert OpenAIChatModel("explicit", base_url="http://h/v1", api_key="k").model == "explicit"


def test_missing_model_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_MODEL"):
        OpenAIChatModel()


async def test_agent_on_the_endpoint_streams_tokens_and_runs_tool_calls() -> None:
    from streamhil.prebuilt import create_react_agent

    first = [
        delta_event(tool_calls=[{"index": 0, "id": "call_w", "type": "function", "function": {"name": "weather", "arguments": '{"city"'}}]),
        delta_event(tool_calls=[{"index": 0, "function": {"arguments": ': "Paris"}'}}]),
        delta_event(finish="tool_calls"),
        "data: [DONE]\n\n",
    ]
    second = [delta_event("It is "), delta_event("sunny."), delta_event(finish="stop"), "data: [DONE]\n\n"]
    async with serve_fake_openai([SseReply(first), SseReply(second)]) as fake:
        agent = create_react_agent(OpenAIChatModel("m", base_url=fake.base_url), [weather])
        parts: list[tuple[str, Any]] = []
        with anyio.fail_after(10):
            async for mode, payload in agent.astream({"messages": ["weather in Paris?"]}, stream_mode=["messages", "updates"]):
                parts.append((mode, payload))
    tokens = [p[0]["content"] for m, p in parts if m == "messages" and p[0]["content"]]
    assert tokens == ["It is ", "sunny."]
    arg_pieces = [c["args"] for m, p in parts if m == "messages" for c in p[0].get("tool_call_chunks", ())]
    assert arg_pieces == ['{"city"', ': "Paris"}']
    updates = [p for m, p in parts if m == "updates"]
    assert updates[1]["tools"]["messages"][0]["content"] == "sunny in Paris"
    assert updates[-1]["agent"]["messages"][0]["content"] == "It is sunny."
    # the second request carried the tool call and its result back to the endpoint
    sent = fake.requests[1].body["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_w", "content": "sunny in Paris"}
    assert fake.requests[0].body["tools"][0]["function"]["name"] == "weather"
