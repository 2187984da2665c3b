"""``POST /agui/{graph}``: every SSE frame of every run validated with ``ag-ui-protocol``'s models,
the order rules, the interrupt outcome by streamhil's id, resume by id, and the refusals."""

from __future__ import annotations

import json
import sys
from typing import Any, TypedDict

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from streamhil import END, START, StateGraph, interrupt
from streamhil.prebuilt import ScriptedChatModel, create_react_agent
from streamhil.prebuilt.human_review import IGNORED_TOOL_MESSAGE, add_human_in_the_loop
from streamhil_server.compat.agui_views import CANCELLED_KEY
from streamhil_server.compat.json_patch import apply, diff
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.settings import ServerSettings

from .agui_helpers import body, of_type, sse_data, validated
from .conftest import connect
from .graphs import counter, failing

ALICE = {"authorization": "Bearer alice-token"}


class AskState(TypedDict, total=False):
    answer: Any


def asking(value: Any) -> Any:
    """One node that asks ``value`` and keeps the answer, exactly as it came."""

    def ask(state: AskState) -> AskState:
        return {"answer": interrupt(value)}

    g = StateGraph(AskState)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile()


def convert(amount: float) -> str:
    """Convert dollars to euros.

    Args:
        amount: How many dollars.
    """
    return f"{amount * 0.5:.2f} EUR"


def quiet_agent() -> Any:
    """A model that does not stream: its replies reach AG-UI only as whole messages."""
    model = ScriptedChatModel([{"content": "", "tool_calls": [{"name": "convert", "args": {"amount": 10}}]}, "That is 5.00 EUR."])
    return create_react_agent(model, [convert])


def graphs(**extra: Any) -> dict[str, Any]:
    return {**{name: graph for name, (graph, _) in demo_graphs().items()}, "counter": counter(), "failing": failing(), **extra}


def run(client: TestClient, graph: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = client.post(f"/agui/{graph}", json=payload, headers=ALICE if headers is None else headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in response.headers
    return validated(sse_data(response.text))


def error_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"], events
    return events[-1]


def replayed_state(events: list[dict[str, Any]]) -> Any:
    """The state a client holds after applying every STATE_SNAPSHOT and STATE_DELTA (RFC 6902, by
    the independent ``jsonpatch`` package) before the final snapshot."""
    state: Any = None
    for event in events[:-3]:
        if event["type"] == "STATE_SNAPSHOT":
            state = event["snapshot"]
        elif event["type"] == "STATE_DELTA":
            state = jsonpatch.apply_patch(state, event["delta"])
    return state


@pytest.fixture
def client(make_client: Any) -> Any:
    with make_client(graphs(quiet=quiet_agent(), ask=asking({"question": "Which quarter?", "reason": "confirmation",
                                         "responseSchema": {"type": "string"}}), inbox=asking([INBOX_REQUEST]),
                            direct_review=reviewed_outside_a_tool_node())) as c:
        yield c


def send_email(to: str) -> str:
    """Send an email.

    Args:
        to: Who gets it.
    """
    return f"sent to {to}"


def reviewed_outside_a_tool_node() -> Any:
    """A node that calls an ``add_human_in_the_loop`` tool itself, not through a tool node: its
    review names no tool call."""
    reviewed = add_human_in_the_loop(send_email, interrupt_config={"allow_accept": True, "allow_respond": True})

    async def act(state: AskState) -> AskState:
        return {"answer": await reviewed.ainvoke({"to": "bob"})}

    g = StateGraph(AskState)
    g.add_node("act", act)
    g.add_edge(START, "act")
    g.add_edge("act", END)
    return g.compile()


INBOX_REQUEST = {
    "action_request": {"action": "send_email", "args": {"to": "bob"}},
    "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True, "allow_accept": True},
    "description": "Please review the email",
}
"""Agent Inbox's ``HumanInterrupt`` as a graph raises it itself (``interrupt([request])``), naming no tool call."""


def test_pause_then_resume_by_streamhil_id(client: TestClient) -> None:
    first = run(client, "approve", body(state={"request": "order 42"}))
    tid = first[0]["threadId"]
    assert [e["stepName"] for e in of_type(first, "STEP_STARTED")] == ["propose", "human_approval"]
    finished = first[-1]
    assert finished["type"] == "RUN_FINISHED" and finished["outcome"]["type"] == "interrupt"
    [pending] = finished["outcome"]["interrupts"]
    with connect(client) as wire:  # streamhil's own view of the thread
        state = wire.request("get_state", thread_id=tid)["state"]
        [wire_interrupt] = state["interrupts"]
        assert pending["id"] == wire_interrupt["id"]
        assert pending["reason"] == "input_required" and pending["message"] == "Approve this action?"
        assert pending["metadata"]["streamhil"] == {key: wire_interrupt[key] for key in ("value", "node", "task_id", "ns")}
        assert pending["metadata"]["streamhil"]["node"] == "human_approval"
        assert first[-3]["snapshot"] == state["values"] == {"request": "order 42", "proposal": "Refund the customer for: order 42"}
        assert first[-2]["messages"] == []
        assert first[0]["metadata"]["streamhil"]["run_id"] == finished["metadata"]["streamhil"]["run_id"]

        # a run that ignores the pending interrupt is refused by the server too (AG-UI rule 4)
        refused = error_of(run(client, "approve", body(tid, state=first[-3]["snapshot"])))
        assert refused["code"] == "interrupt_pending" and pending["id"] in refused["message"]

        resume = [{"interruptId": pending["id"], "status": "resolved", "payload": "approve"}]
        second = run(client, "approve", body(tid, state={"stale": "ignored with resume"}, resume=resume))
        assert second[-1]["outcome"] == {"type": "success"}
        final = wire.request("get_state", thread_id=tid)["state"]
        assert second[-3]["snapshot"] == final["values"] and final["values"]["outcome"].startswith("done:")
        assert "stale" not in final["values"]
        assert replayed_state(second) == final["values"]
        assert of_type(second, "STATE_DELTA"), "values that grew by a key go as JSON Patch"

        # the same resume again is safe (AG-UI rule 5): no new run, the thread's state reported
        again = run(client, "approve", body(tid, resume=resume))
        assert again[-1]["outcome"] == {"type": "success"} and again[-3]["snapshot"] == final["values"]
        assert "metadata" not in again[0]
        # a stale tab answering it differently is told, not given a success that discards its answer
        differ = error_of(run(client, "approve", body(tid, resume=[{**resume[0], "payload": "reject"}])))
        assert differ["code"] == "already_answered" and pending["id"] in differ["message"]
        assert wire.request("get_state", thread_id=tid)["state"]["values"] == final["values"]
        head = wire.request("subscribe", thread_id=tid, after=0)["head_seq"]
        wire.until(lambda f: f.get("seq") == head)
        kinds = [e["data"]["kind"] for e in wire.thread_events(tid) if e["event"] == "run_started"]
        assert kinds == ["start", "resume"]  # the refused start never ran, the replay started nothing


def test_parallel_interrupts_answered_in_one_resume(client: TestClient) -> None:
    first = run(client, "parallel", body(state={"doc": "the NDA"}))
    tid = first[0]["threadId"]
    interrupts = {i["metadata"]["streamhil"]["value"]["reviewer"]: i for i in first[-1]["outcome"]["interrupts"]}
    legal, finance = interrupts["legal"], interrupts["finance"]
    assert {s["stepName"] for s in of_type(first, "STEP_STARTED")} == {"legal", "finance"}

    partial = error_of(run(client, "parallel", body(tid, resume=[{"interruptId": legal["id"], "status": "resolved", "payload": "ok"}])))
    assert partial["code"] == "invalid_argument" and finance["id"] in partial["message"]
    both = [{"interruptId": legal["id"], "status": "resolved", "payload": "ok"},
            {"interruptId": finance["id"], "status": "resolved", "payload": "5k"}]
    unknown = error_of(run(client, "parallel", body(tid, resume=[*both, {"interruptId": "nope", "status": "resolved"}])))
    assert unknown["code"] == "not_found" and "nope" in unknown["message"]
    twice = error_of(run(client, "parallel", body(tid, resume=[*both, both[0]])))
    assert twice["code"] == "invalid_argument" and "more than once" in twice["message"]

    with connect(client) as wire:  # a /ws watcher of the thread sees the AG-UI run
        wire.request("subscribe", thread_id=tid)
        second = run(client, "parallel", body(tid, resume=both))
        assert second[-1]["outcome"] == {"type": "success"}
        assert second[-3]["snapshot"]["verdict"] == "legal=ok; finance=5k"
        end = wire.run_end(tid)
        assert end["event"] == "run_done" and end["run_id"] == second[0]["metadata"]["streamhil"]["run_id"]
        seen = {e["event"] for e in wire.thread_events(tid)}
        assert {"run_started", "tasks", "updates", "values", "run_done"} <= seen


def test_tool_review_edit_and_cancel(client: TestClient) -> None:
    user = {"id": "u-1", "role": "user", "content": "book the Ritz and the Savoy"}
    first = run(client, "tool_review", body(messages=[user]))
    tid = first[0]["threadId"]
    [start] = of_type(first, "TEXT_MESSAGE_START")
    text = "".join(e["delta"] for e in of_type(first, "TEXT_MESSAGE_CONTENT"))
    assert start["role"] == "assistant" and text == "Booking the Ritz, the Savoy: please review."
    calls = of_type(first, "TOOL_CALL_START")
    assert [c["toolCallName"] for c in calls] == ["book_hotel", "book_hotel"]
    assert all(c["parentMessageId"] == start["messageId"] for c in calls)
    args = {e["toolCallId"]: json.loads(e["delta"]) for e in of_type(first, "TOOL_CALL_ARGS")}
    assert sorted(a["hotel_name"] for a in args.values()) == ["the Ritz", "the Savoy"]
    interrupts = first[-1]["outcome"]["interrupts"]
    assert {i["reason"] for i in interrupts} == {"tool_call"}
    assert {i["toolCallId"] for i in interrupts} == set(args)
    assert all("editedArgs" in i["responseSchema"]["properties"] for i in interrupts)
    by_hotel = {args[i["toolCallId"]]["hotel_name"]: i for i in interrupts}
    snapshot = first[-2]["messages"]
    assert snapshot[0] == user and snapshot[1]["toolCalls"][0]["type"] == "function"

    resume = [
        {"interruptId": by_hotel["the Ritz"]["id"], "status": "resolved", "payload": {"approved": True, "editedArgs": {"hotel_name": "Claridge's", "nights": 2}}},
        {"interruptId": by_hotel["the Savoy"]["id"], "status": "cancelled"},
    ]
    second = run(client, "tool_review", body(tid, messages=snapshot, resume=resume))
    assert not of_type(second, "TOOL_CALL_START"), "a resumed tool call is answered, not started again"
    results = {e["toolCallId"]: e["content"] for e in of_type(second, "TOOL_CALL_RESULT")}
    assert results == {
        by_hotel["the Ritz"]["toolCallId"]: "Successfully booked 2 night(s) at Claridge's.",
        # the demo's review allows ignore, so a cancelled call is ignored (else a response says so)
        by_hotel["the Savoy"]["toolCallId"]: IGNORED_TOOL_MESSAGE,
    }
    assert second[-1]["outcome"] == {"type": "success"}
    messages = second[-2]["messages"]
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"] == "All set. Anything else?"

    # the next turn: the client sends its messages plus a new one; only the new one is added
    third = run(client, "tool_review", body(tid, messages=[*messages, {"id": "u-2", "role": "user", "content": "thanks"}]))
    ids = [m["id"] for m in third[-2]["messages"]]
    assert ids[: len(messages)] == [m["id"] for m in messages] and ids[len(messages)] == "u-2" and len(ids) == len(messages) + 2
    assert not any(e.get("messageId") in {m["id"] for m in messages} for e in of_type(third, "TEXT_MESSAGE_START"))

    # approved: false is a refusal the model reads; a streamhil HumanResponse goes through as is
    fourth = run(client, "tool_review", body(tid, messages=third[-2]["messages"] + [{"id": "u-3", "role": "user", "content": "book the Ritz and the Plaza"}]))
    ritz, plaza = sorted(fourth[-1]["outcome"]["interrupts"], key=lambda i: i["message"])[::-1]
    fifth = run(client, "tool_review", body(tid, resume=[
        {"interruptId": ritz["id"], "status": "resolved", "payload": {"approved": False, "message": "too expensive"}},
        {"interruptId": plaza["id"], "status": "resolved", "payload": {"type": "accept"}},
    ]))
    results = {e["toolCallId"]: e["content"] for e in of_type(fifth, "TOOL_CALL_RESULT")}
    assert results == {ritz["toolCallId"]: "too expensive", plaza["toolCallId"]: "Successfully booked 1 night(s) at the Plaza."}


def test_interrupt_fields_and_cancelled_answer(client: TestClient) -> None:
    first = run(client, "ask", body())
    [pending] = first[-1]["outcome"]["interrupts"]
    assert pending["reason"] == "confirmation" and pending["message"] == "Which quarter?"
    assert pending["responseSchema"] == {"type": "string"}
    tid = first[0]["threadId"]
    resume = [{"interruptId": pending["id"], "status": "cancelled", "metadata": {"by": "alice"}}]
    second = run(client, "ask", body(tid, resume=resume))
    assert second[-3]["snapshot"] == {"answer": {CANCELLED_KEY: True, "interrupt_id": pending["id"], "metadata": {"by": "alice"}}}

    # the approve graph reads the cancelled answer as "not approved"
    approve = run(client, "approve", body())
    [ask] = approve[-1]["outcome"]["interrupts"]
    done = run(client, "approve", body(approve[0]["threadId"], resume=[{"interruptId": ask["id"], "status": "cancelled"}]))
    assert done[-3]["snapshot"]["outcome"] == "cancelled by the reviewer"


@pytest.mark.parametrize(
    ("entry", "returned"),
    [
        ({"status": "cancelled"}, "cancelled"),
        ({"status": "resolved", "payload": {"approved": False, "message": "nope"}}, {"approved": False, "message": "nope"}),
        ({"status": "resolved", "payload": [{"type": "accept", "args": None}]}, [{"type": "accept", "args": None}]),
    ],
)
def test_an_agent_inbox_request_without_a_tool_call_is_a_plain_interrupt_both_ways(client: TestClient, entry: dict[str, Any], returned: Any) -> None:
    """A ``HumanInterrupt`` that names no tool call is not a tool-call review: reported as
    ``input_required`` with its description, and answered as any plain interrupt is (the payload
    as sent; cancelled: the cancelled marker), not rewritten into a ``HumanResponse``."""
    first = run(client, "inbox", body())
    [pending] = first[-1]["outcome"]["interrupts"]
    assert pending["reason"] == "input_required" and pending["message"] == "Please review the email"
    assert "toolCallId" not in pending and "responseSchema" not in pending
    assert pending["metadata"]["streamhil"]["value"] == [INBOX_REQUEST]
    second = run(client, "inbox", body(first[0]["threadId"], resume=[{"interruptId": pending["id"], **entry}]))
    assert second[-1]["outcome"] == {"type": "success"}
    expected = {CANCELLED_KEY: True, "interrupt_id": pending["id"]} if returned == "cancelled" else returned
    assert second[-3]["snapshot"] == {"answer": expected}


@pytest.mark.parametrize(
    ("entry", "answer"),
    [
        ({"status": "resolved", "payload": {"approved": True}}, "sent to bob"),
        ({"status": "resolved", "payload": {"approved": False, "message": "not now"}}, "not now"),
        ({"status": "cancelled"}, "The reviewer cancelled this tool call; it was not run."),
    ],
)
def test_a_review_outside_a_tool_node_is_still_a_review(client: TestClient, entry: dict[str, Any], answer: Any) -> None:
    """``add_human_in_the_loop`` called outside a tool node asks with no ``tool_call_id``; its
    request is still a tool-call review (by its ``asked_by``): reported as ``tool_call`` without
    a ``toolCallId``, and AG-UI's ``{"approved": ...}`` answers it (it used to pass as sent, and
    the tool asked again, for ever)."""
    first = run(client, "direct_review", body())
    [pending] = first[-1]["outcome"]["interrupts"]
    assert pending["reason"] == "tool_call" and "toolCallId" not in pending
    assert pending["message"] == 'Please review the tool call: send_email({"to":"bob"})'
    assert set(pending["responseSchema"]["properties"]) == {"approved", "message"}
    assert "tool_call_id" not in pending["metadata"]["streamhil"]["value"][0]
    second = run(client, "direct_review", body(first[0]["threadId"], resume=[{"interruptId": pending["id"], **entry}]))
    assert second[-1]["outcome"] == {"type": "success"}
    assert second[-3]["snapshot"] == {"answer": answer}


def test_subgraph_steps_and_provenance(client: TestClient) -> None:
    first = run(client, "subgraph", body(state={"item": "a lamp"}))
    steps = [e["stepName"] for e in of_type(first, "STEP_STARTED")]
    assert steps == ["shipping", "shipping|ask_address"]
    [pending] = first[-1]["outcome"]["interrupts"]
    provenance = pending["metadata"]["streamhil"]
    assert provenance["node"] == "ask_address" and provenance["ns"][0].startswith("shipping:")
    second = run(client, "subgraph", body(first[0]["threadId"], resume=[{"interruptId": pending["id"], "status": "resolved", "payload": " 1 main st "}]))
    assert second[-3]["snapshot"]["confirmation"] == "a lamp ships to 1 Main St"


def test_multi_turn_messages_written_by_the_graph(client: TestClient) -> None:
    first = run(client, "multi_turn", body())
    [pending] = first[-1]["outcome"]["interrupts"]
    second = run(client, "multi_turn", body(first[0]["threadId"], resume=[{"interruptId": pending["id"], "status": "resolved", "payload": "hello there"}]))
    # the graph keeps id-less dicts (operator.add): they reach the client in the messages snapshot,
    # named by position, since no event can refer to a message without an id
    assert not of_type(second, "TEXT_MESSAGE_START")
    assert [(m["id"], m["role"], m["content"]) for m in second[-2]["messages"]] == [
        ("message-0", "user", "hello there"), ("message-1", "assistant", "You said 'hello there' (2 words)."),
    ]
    assert second[-1]["outcome"]["type"] == "interrupt"


def test_a_model_that_does_not_stream(client: TestClient) -> None:
    events = run(client, "quiet", body(messages=[{"id": "u-1", "role": "user", "content": "10 dollars in euros?"}]))
    kinds = [e["type"] for e in events]
    [start] = of_type(events, "TOOL_CALL_START")
    assert start["toolCallName"] == "convert"
    at = kinds.index("TOOL_CALL_START")
    assert kinds[at : at + 3] == ["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END"]
    assert json.loads(events[at + 1]["delta"]) == {"amount": 10}
    [result] = of_type(events, "TOOL_CALL_RESULT")
    assert result["toolCallId"] == start["toolCallId"] and result["content"] == "5.00 EUR"
    [text] = of_type(events, "TEXT_MESSAGE_CONTENT")
    assert text["delta"] == "That is 5.00 EUR."
    assert kinds.index("TOOL_CALL_RESULT") < kinds.index("TEXT_MESSAGE_START")
    assert [m["role"] for m in events[-2]["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert events[-1]["outcome"] == {"type": "success"}


def test_a_server_failure_is_a_run_error(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = client.app.state.runtime.runs  # type: ignore[attr-defined]
    first = run(client, "counter", body())
    calls = {"n": 0}
    real = runs.get_state

    async def flaky(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the state read after the run
            raise RuntimeError("the disk is gone")
        return await real(*args)

    monkeypatch.setattr(runs, "get_state", flaky)
    failed = run(client, "counter", body(first[0]["threadId"], state={"n": 7}))
    assert failed[-1] == {"type": "RUN_ERROR", "message": "the server failed carrying out this run", "code": "internal_error"}
    assert failed[0]["metadata"]["streamhil"]["run_id"]


def test_run_error_and_input_errors(client: TestClient) -> None:
    failed = run(client, "failing", body())
    assert [e["type"] for e in failed] == ["RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "RUN_ERROR"]
    assert failed[-1]["message"] == "ValueError: boom: the node failed"

    refused = error_of(run(client, "approve", body(messages=[{"id": "m1", "role": "user", "content": "refund order 7"}])))
    assert refused["code"] == "invalid_argument" and "state" in refused["message"]

    done = run(client, "counter", body(state={"n": 41, "not_an_input_key": 1}))  # dropped, as LangGraph's server does
    assert done[-3]["snapshot"] == {"n": 42} and done[-1]["outcome"] == {"type": "success"}
    tid = done[0]["threadId"]
    again = run(client, "counter", body(tid, state={"n": 42}))  # the client's state equals the thread's: no input
    assert again[-3]["snapshot"] == {"n": 42}
    edited = run(client, "counter", body(tid, state={"n": 100}))  # a changed key is the new run's input
    assert edited[-3]["snapshot"] == {"n": 101}

    other_graph = error_of(run(client, "approve", body(tid)))
    assert other_graph["code"] == "invalid_argument" and "counter" in other_graph["message"]
    nothing = error_of(run(client, "counter", body(tid, resume=[{"interruptId": "x", "status": "resolved"}])))
    assert nothing["code"] == "not_found"
    missing = error_of(run(client, "approve", body(resume=[{"interruptId": "x", "status": "resolved"}])))
    assert missing["code"] == "not_found" and "thread" in missing["message"]


def test_identities_and_http_errors(client: TestClient) -> None:
    def problem(response: Any, status: int, code: str) -> str:
        assert response.status_code == status, response.text
        assert response.json()["code"] == code
        return str(response.json()["detail"])

    problem(client.post("/agui/approve", json=body()), 401, "unauthenticated")
    assert client.post("/agui/approve", json=body()).headers["www-authenticate"] == "Bearer"
    problem(client.post("/agui/approve", json=body(), headers={"authorization": "Bearer nope"}), 401, "unauthenticated")
    assert "kitchen" in problem(client.post("/agui/kitchen", json=body(), headers=ALICE), 404, "not_found")
    problem(client.post("/agui/approve", content=b"{not json", headers=ALICE), 400, "bad_json")
    problem(client.post("/agui/approve", content=b"[" * (9 * 1024 * 1024), headers=ALICE), 413, "frame_too_large")
    chunked = iter([b'{"threadId": "', b"x" * (9 * 1024 * 1024)])  # no Content-Length: stopped while reading
    problem(client.post("/agui/approve", content=chunked, headers=ALICE), 413, "frame_too_large")
    assert "threadId" in problem(client.post("/agui/approve", json={"runId": "r", "messages": []}, headers=ALICE), 422, "invalid_field")
    problem(client.post("/agui/approve", json=body("t" * 201), headers=ALICE), 422, "invalid_field")
    problem(client.post("/agui/approve", json=body(forwardedProps={"streamhil": {"on_disconnect": "maybe"}}), headers=ALICE), 422, "invalid_field")
    problem(client.post("/agui/approve", json=body(), headers={**ALICE, "origin": "http://evil.example"}), 403, "forbidden")
    assert client.get("/agui/approve", headers=ALICE).status_code == 405

    # x-api-key works like a bearer token; another identity's thread is not reachable
    mine = run(client, "approve", body(), headers={"x-api-key": "alice-token"})
    tid, [pending] = mine[0]["threadId"], mine[-1]["outcome"]["interrupts"]
    bob = {"authorization": "Bearer bob-token"}
    assert error_of(run(client, "approve", body(tid), headers=bob))["code"] == "forbidden"
    resume = [{"interruptId": pending["id"], "status": "resolved", "payload": "approve"}]
    assert error_of(run(client, "approve", body(tid, resume=resume), headers=bob))["code"] == "not_found"


@pytest.mark.parametrize("state", [[{"request": "order 42"}], "order 42", 42, True])
def test_a_state_that_is_not_an_object_is_refused(client: TestClient, state: Any) -> None:
    tid = "state-not-an-object"
    refused = client.post("/agui/approve", json=body(tid, state=state), headers=ALICE)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_field" and "state must be an object" in refused.json()["detail"]
    with connect(client) as wire:  # nothing ran
        assert wire.error("get_state", thread_id=tid)["code"] == "not_found"
    assert run(client, "approve", body(tid, state=None))[-1]["type"] == "RUN_FINISHED"  # null: no state, as before


def test_cross_origin_preflight(make_client: Any) -> None:
    with make_client(graphs(), settings=ServerSettings(allowed_origins=("http://app.example",))) as client:
        pre = client.options("/agui/approve", headers={"origin": "http://app.example", "access-control-request-method": "POST"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "http://app.example"
        assert "authorization" in pre.headers["access-control-allow-headers"]
        response = client.post("/agui/approve", json=body(), headers={**ALICE, "origin": "http://app.example"})
        assert response.headers["access-control-allow-origin"] == "http://app.example"
        assert client.options("/agui/approve", headers={"origin": "http://evil.example"}).status_code == 403


def test_legacy_on_interrupt_convention(make_client: Any) -> None:
    with make_client(graphs(), settings=ServerSettings(agui_legacy_interrupts=True)) as client:
        first = run(client, "approve", body())
        custom = of_type(first, "CUSTOM")
        assert [c["name"] for c in custom] == ["on_interrupt"]
        assert json.loads(custom[0]["value"])["question"] == "Approve this action?"
        assert "outcome" not in first[-1]
        tid = first[0]["threadId"]
        # the answer in forwardedProps.command.resume (text that is not JSON stays text)
        second = run(client, "approve", body(tid, forwardedProps={"command": {"resume": "approve"}}))
        assert second[-3]["snapshot"]["decision"] == "approved" and second[-1]["outcome"] == {"type": "success"}

        par = run(client, "parallel", body())
        ids = [json.loads(c["value"])["reviewer"] for c in of_type(par, "CUSTOM")]
        assert sorted(ids) == ["finance", "legal"]
        ptid = par[0]["threadId"]
        ambiguous = error_of(run(client, "parallel", body(ptid, forwardedProps={"command": {"resume": "yes"}})))
        assert ambiguous["code"] == "ambiguous_resume"
        pending = [c["metadata"]["streamhil"]["id"] for c in of_type(par, "CUSTOM")]
        answers = json.dumps({pending[0]: "a", pending[1]: "b"})  # as JSON text, the way older apps send it
        done = run(client, "parallel", body(ptid, forwardedProps={"command": {"resume": answers}}))
        assert done[-3]["snapshot"]["verdict"] in ("legal=a; finance=b", "legal=b; finance=a")

    with make_client(graphs()) as client:  # per request, on a server that defaults to the outcome
        legacy = run(client, "approve", body(forwardedProps={"streamhil": {"legacy_interrupts": True}}))
        assert of_type(legacy, "CUSTOM") and "outcome" not in legacy[-1]


def test_without_ag_ui_protocol_the_route_says_how_to_install(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ag_ui.core", None)
    response = client.post("/agui/approve", json=body(), headers=ALICE)
    assert response.status_code == 501 and "streamhil[agui]" in response.json()["detail"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False) | st.text("ab~/", max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("ab~/", max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json, _json)
def test_json_patch_diff_applies(old: Any, new: Any) -> None:
    patch = diff(old, new)
    assert jsonpatch.apply_patch(old, patch) == new or _floats_equal(jsonpatch.apply_patch(old, patch), new)
    assert apply(old, patch) == jsonpatch.apply_patch(old, patch)


def _floats_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
