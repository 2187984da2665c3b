"""A failed task's ``error``: the library's ``tasks`` and ``debug`` parts carry the exception itself
(as LangGraph's); the server sends its ``repr`` string (docs/protocol.md: ``error: string|null``)
on the WebSocket protocol and the LangGraph API's SSE, for the root graph's task and, with
subgraphs, for the subgraph's own."""

from __future__ import annotations

from typing import Any

import pytest
from streamhil.graph import START, StateGraph

from streamhil_server.encoding import stream_payload

from .conftest import connect
from .graphs import S, failing
from .sse import sse_events

ERROR = repr(ValueError("boom: the node failed"))


def failing_subgraph() -> Any:
    g = StateGraph(S)
    g.add_node("child", failing())
    g.add_edge(START, "child")
    return g.compile()


def errors_of(events: list[tuple[str, Any]]) -> list[Any]:
    """The ``error`` of every task result among ``(mode, data)`` events."""
    found = []
    for mode, data in events:
        payload = data["payload"] if mode.startswith("debug") else data
        if mode.split("|")[0] in ("tasks", "debug") and "error" in payload:
            found.append(payload["error"])
    return found


def test_stream_payload_turns_the_exception_into_its_repr() -> None:
    error = ValueError("boom: the node failed")
    result = {"id": "t", "name": "boom", "error": error, "result": {}, "interrupts": []}
    assert stream_payload("tasks", result) == {**result, "error": ERROR}
    debug = {"step": 1, "timestamp": "now", "type": "task_result", "payload": result}
    assert stream_payload("debug", debug) == {**debug, "payload": {**result, "error": ERROR}}
    assert result["error"] is error  # the part itself is left as it was
    done = {"id": "t", "name": "ok", "error": None, "result": {"n": 1}, "interrupts": []}
    assert stream_payload("tasks", done) == done


@pytest.mark.parametrize("subgraphs", [False, True])
def test_websocket_tasks_and_debug_parts_carry_the_error_string(make_client: Any, subgraphs: bool) -> None:
    with make_client({"failing": failing_subgraph()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="failing", input={}, stream_modes=["tasks", "debug"], subgraphs=subgraphs)["thread_id"]
        assert wire.run_end(tid)["event"] == "run_error"
        events = [(e["event"], e["data"]) for e in wire.thread_events(tid) if e["event"] in ("tasks", "debug")]
        # tasks and debug, each: the child's, and with subgraphs the failed node's in it too
        assert errors_of(events) == [ERROR] * (4 if subgraphs else 2)


@pytest.mark.parametrize("subgraphs", [False, True])
def test_langgraph_sse_tasks_and_debug_parts_carry_the_error_string(make_client: Any, subgraphs: bool) -> None:
    headers = {"authorization": "Bearer alice-token"}
    with make_client({"failing": failing_subgraph()}) as client:
        tid = client.post("/threads", json={}, headers=headers).json()["thread_id"]
        body = {"assistant_id": "failing", "input": {}, "stream_mode": ["tasks", "debug"], "stream_subgraphs": subgraphs}
        reply = client.post(f"/threads/{tid}/runs/stream", json=body, headers=headers)
        assert reply.status_code == 200
        events = sse_events(reply.text)
        assert errors_of(events) == [ERROR] * (4 if subgraphs else 2)
        assert events[-1][0] == "error"

