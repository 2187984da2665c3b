"""The demo graphs read answers the way a person means them (issue 14, items 1, 4, 5 and 10)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from streamhil.prebuilt import ScriptedChatModel
from streamhil.prebuilt.chat_models import split_words
from streamhil_server.demo_graphs import DEFAULT_TOKEN_DELAY, demo_graphs, yes_or_no

from .conftest import connect


@pytest.mark.parametrize("answer", ["no", "No", " NO ", "nope", "reject", "Reject.", False, {"approved": False},
                                    {"__agui_cancelled__": True, "interrupt_id": "i-1"}])
def test_no_words_reject(answer: Any) -> None:
    assert yes_or_no(answer) is False


def test_the_agui_cancel_marker_is_the_one_agui_uses() -> None:
    from streamhil_server.compat.agui_views import CANCELLED_KEY
    from streamhil_server.demo_graphs import _AGUI_CANCELLED

    assert CANCELLED_KEY == _AGUI_CANCELLED


@pytest.mark.parametrize("answer", ["yes", "Y", "approve", "ok", True, {"approved": True}])
def test_yes_words_approve(answer: Any) -> None:
    assert yes_or_no(answer) is True


@pytest.mark.parametrize("answer", ["maybe", "", "no way of knowing", 1, None, {"approved": "no"}, ["yes"]])
def test_anything_else_is_neither(answer: Any) -> None:
    assert yes_or_no(answer) is None


def last_interrupt(wire: Any, tid: str) -> dict[str, Any]:
    return [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"][0]


def test_no_rejects_the_publish_draft_and_unclear_answers_are_asked_again(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value="maybe")
        assert wire.run_end(tid)["event"] == "run_interrupted"
        again = last_interrupt(wire, tid)
        assert again["value"]["question"] == "Approve the draft?" and "yes or no" in again["value"]["error"]
        wire.request("resume", thread_id=tid, value="no")
        assert wire.run_end(tid)["event"] == "run_done"
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert values["approved"] is False and values["posted"] is False and "channel" not in values


def test_approve_demo_reads_no_as_reject(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="approve", input={"request": "a broken kettle"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value="No")
        wire.run_end(tid)
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert values["decision"] == "rejected" and values["outcome"] == "cancelled by the reviewer"


def test_multi_turn_replies_to_the_first_message(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        first = {"role": "user", "content": "hello there"}
        tid = wire.request("start_run", graph="multi_turn", input={"messages": [first]})["thread_id"]
        wire.run_end(tid)
        messages = wire.request("get_state", thread_id=tid)["state"]["values"]["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["content"] == "You said 'hello there' (2 words)."
        assert last_interrupt(wire, tid)["value"]["question"].startswith("Anything else?")


def test_multi_turn_takes_the_langchain_shaped_messages_langgraph_clients_send_back(make_client: Any) -> None:
    # the LangGraph API sends messages as {"type": "human"|"ai"}; a client resends them that way
    with make_client(demo_graphs()) as client:
        alice = {"x-api-key": "alice-token"}
        tid = client.post("/threads", json={}, headers=alice).json()["thread_id"]
        first = [{"type": "human", "content": [{"type": "text", "text": "hello there"}], "id": "h-1"}]
        wait = {"assistant_id": "multi_turn", "input": {"messages": first}}
        out = client.post(f"/threads/{tid}/runs/wait", json=wait, headers=alice).json()
        assert "__error__" not in out, out
        assert [(m["type"], m["content"]) for m in out["messages"]][1:] == [("ai", "You said 'hello there' (2 words).")]
        assert out["messages"][0]["id"] == "h-1"
        assert out["__interrupt__"][0]["value"]["turn"] == 2  # one user turn counted
    with make_client(demo_graphs()) as client, connect(client) as wire:  # role-shaped ones stay as they are
        tid = wire.request("start_run", graph="multi_turn", input={"messages": [{"role": "user", "content": "hi"}]})["thread_id"]
        wire.run_end(tid)
        messages = wire.request("get_state", thread_id=tid)["state"]["values"]["messages"]
        assert messages == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "You said 'hi' (1 words)."}]


def test_tool_review_offers_every_action_its_description_names(make_client: Any) -> None:
    graphs = demo_graphs(token_delay=0)
    with make_client(graphs) as client, connect(client) as wire:
        description = {g["name"]: g for g in wire.request("list_graphs")["graphs"]}["tool_review"]["description"]
        message = {"role": "user", "content": "book the Ritz"}
        tid = wire.request("start_run", graph="tool_review", input={"messages": [message]})["thread_id"]
        wire.run_end(tid)
        config = last_interrupt(wire, tid)["value"][0]["config"]
        for action, flag in [("accept", "allow_accept"), ("edit", "allow_edit"), ("respond", "allow_respond"), ("ignore", "allow_ignore")]:
            assert action in description and config[flag] is True
        wire.request("resume", thread_id=tid, value=[{"type": "ignore"}])
        assert wire.run_end(tid)["event"] == "run_done"
        tool = [m for m in wire.request("get_state", thread_id=tid)["state"]["values"]["messages"] if m["role"] == "tool"]
        assert "ignore" in tool[0]["content"]


def test_validation_reports_a_bad_age_as_an_error_and_checks_an_age_given_as_input(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        given = wire.request("start_run", graph="validation", input={"age": 42})["thread_id"]
        assert wire.run_end(given)["event"] == "run_done"
        bad = wire.request("start_run", graph="validation", input={"age": 400})["thread_id"]
        wire.run_end(bad)
        asked = last_interrupt(wire, bad)["value"]
        assert asked["question"] == "What is your age?" and asked["error"].startswith("400 is not a valid age")


@pytest.mark.anyio
async def test_the_scripted_model_streams_at_the_configured_pace() -> None:
    """Each word after the first waits ``token_delay``: the stream spans at least that long."""
    from streamhil.prebuilt import chat_models

    delay = 0.03
    text = "Booking the McKittrick and the Ritz: please review."
    model = ScriptedChatModel([text], stream=True, token_delay=delay)
    stamps: list[float] = []
    original = chat_models.emit_chunk
    chat_models.emit_chunk = lambda chunk: stamps.append(time.monotonic())  # type: ignore[assignment]
    try:
        with anyio.fail_after(10):
            await model([{"role": "user", "content": "hi"}], [])
    finally:
        chat_models.emit_chunk = original  # type: ignore[assignment]
    words = len(split_words(text))
    assert len(stamps) == words
    assert stamps[-1] - stamps[0] >= (words - 1) * delay * 0.95
    assert DEFAULT_TOKEN_DELAY >= 0.03  # the demo's default is visible to a person
    with pytest.raises(ValueError, match="token_delay"):
        ScriptedChatModel([text], token_delay=-1)
