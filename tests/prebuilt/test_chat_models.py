"""streamhil.prebuilt.chat_models: the model protocol helpers and ScriptedChatModel."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streamhil.prebuilt import ChatModelError, ScriptedChatModel, ScriptExhaustedError, call_chat_model
from streamhil.prebuilt import chat_models
from streamhil.prebuilt.chat_models import split_words

pytestmark = pytest.mark.anyio

USER = {"role": "user", "content": "hi", "id": "u1"}


async def test_scripted_replies_follow_the_number_of_assistant_turns() -> None:
    model = ScriptedChatModel(["first", {"content": "", "tool_calls": [{"name": "f", "args": {"x": 1}}]}])
    one = await model([USER], [])
    assert (one["role"], one["content"]) == ("assistant", "first")
    two = await model([USER, one], [])
    assert two["tool_calls"][0]["name"] == "f" and two["tool_calls"][0]["id"].startswith("call_")
    again = await model([USER], [])
    assert again["content"] == "first", "the same conversation gets the same reply (stateless choice)"
    with pytest.raises(ScriptExhaustedError, match="2 replies"):
        await model([USER, one, two], [])
    assert len(model.calls) == 4


async def test_scripted_function_sees_messages_and_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "description": "", "parameters": {"type": "object"}}}]
    model = ScriptedChatModel(lambda messages, tools: f"{len(messages)} messages, {len(tools)} tools")
    assert (await model([USER, USER], tools))["content"] == "2 messages, 1 tools"


async def test_streaming_emits_words_then_tool_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(chat_models, "write_message_chunk", seen.append)
    model = ScriptedChatModel(
        [{"content": "Booking it now", "tool_calls": [{"id": "c1", "name": "book", "args": {"h": "X"}}]}], stream=True
    )
    reply = await model([USER], [])
    assert [c["content"] for c in seen] == ["Booking ", "it ", "now", ""]
    assert seen[-1]["tool_call_chunks"] == [{"index": 0, "id": "c1", "name": "book", "args": '{"h":"X"}'}]
    assert {c["id"] for c in seen} == {reply["id"]}


def test_split_words_round_trips() -> None:
    text = "  a  b\nc d "
    assert "".join(split_words(text)) == text


async def test_call_chat_model_with_sync_and_async_models() -> None:
    threads: list[bool] = []

    def sync_model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
        threads.append(threading.current_thread() is threading.main_thread())
        return "sync"

    async def async_model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        return {"role": "assistant", "content": "async"}

    assert (await call_chat_model(sync_model, [USER], []))["content"] == "sync"
    assert threads == [False], "a sync model runs in a worker thread"
    reply = await call_chat_model(async_model, [USER], [])
    assert reply["content"] == "async" and reply["id"]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (None, "returned None"),
        ({"role": "user", "content": "x"}, "as 'assistant'"),
        (42, "bad message"),
    ],
)
async def test_bad_replies_are_chat_model_errors(reply: Any, match: str) -> None:
    async def model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        return reply

    with pytest.raises(ChatModelError, match=match):
        await call_chat_model(model, [USER], [])


def test_script_must_be_replies_or_a_function() -> None:
    with pytest.raises(TypeError):
        ScriptedChatModel("just a string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"script\[0\]"):
        ScriptedChatModel([42])  # type: ignore[list-item]
