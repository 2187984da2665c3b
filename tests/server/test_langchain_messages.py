"""A graph whose node calls a LangChain chat model, served: its tokens reach the ``messages``
mode of the WebSocket protocol (as message-dict chunks) and of the LangGraph-compatible SSE
endpoint (``messages-tuple``, as LangChain's serialized ``AIMessageChunk``), with the node's
metadata; a node's update holding LangChain messages is sent as message dicts, not their repr."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from streamhil.graph import START, MessagesState, StateGraph  # noqa: E402

from .conftest import connect  # noqa: E402
from .sse import sse_events  # noqa: E402

REPLY = "tokens from a chat model"


def chat_graph() -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(REPLY, id="reply-1")]))

    def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile()


def test_websocket_messages_mode_streams_the_models_tokens(make_client: Any) -> None:
    with make_client({"chat": chat_graph()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="chat", input={"messages": [{"role": "user", "content": "hi"}]},
                           stream_modes=["messages", "updates"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_done"
        events = wire.thread_events(tid)
        chunks = [e["data"] for e in events if e["event"] == "messages"]
        assert len(chunks) > 1
        assert "".join(chunk["content"] for chunk, _ in chunks) == REPLY
        assert {chunk["role"] for chunk, _ in chunks} == {"assistant"} and {chunk["id"] for chunk, _ in chunks} == {"reply-1"}
        assert {meta["langgraph_node"] for _, meta in chunks} == {"chat"}
        [update] = [e["data"] for e in events if e["event"] == "updates"]
        assert update["chat"]["messages"][0] == {"role": "assistant", "content": REPLY, "id": "reply-1"}


def test_langgraph_sse_messages_tuple_streams_the_models_tokens(make_client: Any) -> None:
    with make_client({"chat": chat_graph()}) as client:
        chunks = [data for event, data in _sse_run(client, "messages-tuple") if event == "messages"]
        assert len(chunks) > 1
        assert all(chunk["type"] == "AIMessageChunk" and chunk["id"] == "reply-1" for chunk, _ in chunks)
        assert "".join(chunk["content"] for chunk, _ in chunks) == REPLY
        assert {meta["langgraph_node"] for _, meta in chunks} == {"chat"}


def _sse_run(client: Any, mode: str) -> list[tuple[str, Any]]:
    """A run of the chat graph on a new thread through the LangGraph API's ``runs/stream``, with
    ``stream_mode=[mode]``: its SSE events as ``(event, data)``."""
    headers = {"authorization": "Bearer alice-token"}
    tid = client.post("/threads", json={}, headers=headers).json()["thread_id"]
    body = {"assistant_id": "chat", "input": {"messages": [{"type": "human", "content": "hi"}]}, "stream_mode": [mode]}
    reply = client.post(f"/threads/{tid}/runs/stream", json=body, headers=headers)
    assert reply.status_code == 200
    return sse_events(reply.text)



def test_websocket_events_mode_gives_astream_events_of_the_run(make_client: Any) -> None:
    """``stream_modes: ["events"]``: LangChain's "v2" events, as ``astream_events`` gives them —
    the graph's start and end, the node's start/stream/end with its metadata, the model's
    tokens — each run's events hanging from the run (its ``run_id`` is their root)."""
    with make_client({"chat": chat_graph()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="chat", input={"messages": [{"role": "user", "content": "hi"}]},
                           stream_modes=["events"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_done"
        events = [e for e in wire.thread_events(tid) if e["event"] == "events"]
        run_id = events[0]["run_id"]
        kinds = [(e["data"]["event"], e["data"]["name"]) for e in events]
        assert kinds[0] == ("on_chain_start", "LangGraph") and kinds[-1] == ("on_chain_end", "LangGraph")
        assert ("on_chain_start", "chat") in kinds and ("on_chain_end", "chat") in kinds
        assert ("on_chat_model_start", "GenericFakeChatModel") in kinds
        tokens = [e["data"]["data"]["chunk"] for e in events if e["data"]["event"] == "on_chat_model_stream"]
        assert "".join(t["content"] for t in tokens) == REPLY
        node_start = next(e["data"] for e in events if e["data"]["event"] == "on_chain_start" and e["data"]["name"] == "chat")
        assert node_start["parent_ids"] == [run_id] and node_start["metadata"]["langgraph_node"] == "chat"
        assert events[0]["data"]["run_id"] == run_id
        assert events[-1]["data"]["data"]["output"]["messages"][-1]["content"] == REPLY


def test_langgraph_sse_events_mode(make_client: Any) -> None:
    """LangGraph's ``stream_mode="events"``: the events as SSE ``events``, messages in LangChain's
    shape (what Agent Inbox watches: ``on_chain_start`` with ``metadata.langgraph_node``)."""
    with make_client({"chat": chat_graph()}) as client:
        events = [data for event, data in _sse_run(client, "events") if event == "events"]
        assert any(e["event"] == "on_chain_start" and e["metadata"].get("langgraph_node") == "chat" for e in events)
        chunks = [e["data"]["chunk"] for e in events if e["event"] == "on_chat_model_stream"]
        assert chunks and all(c["type"] == "AIMessageChunk" for c in chunks)
        assert "".join(c["content"] for c in chunks) == REPLY
