"""A thread made with ``POST /threads`` (the LangGraph API) before its first run is its maker's on
every surface: another identity cannot run it (AG-UI, ``/ws``, the LangGraph API, v3), read it or
take it over, and its attempts change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from streamhil_server.demo_graphs import demo_graphs

from .agui_helpers import body, sse_data, validated
from .conftest import connect

ALICE = {"x-api-key": "alice-token"}
BOB = {"x-api-key": "bob-token"}
THREAD = "alice-made-this"


def _agui(client: TestClient, headers: dict[str, str], **fields: Any) -> list[dict[str, Any]]:
    response = client.post("/agui/approve", json=body(THREAD, **fields), headers=headers)
    assert response.status_code == 200, response.text
    return validated(sse_data(response.text))


@pytest.fixture
def client(make_client: Any) -> Any:
    with make_client(demo_graphs()) as c:
        made = c.post("/threads", json={"thread_id": THREAD, "metadata": {"owner": "alice"}}, headers=ALICE)
        assert made.status_code == 200, made.text
        yield c


def _alice_still_has_it(client: TestClient) -> None:
    seen = client.get(f"/threads/{THREAD}", headers=ALICE)
    assert seen.status_code == 200, seen.text
    assert seen.json()["metadata"] == {"owner": "alice"}
    assert (seen.json()["status"], seen.json()["values"]) == ("idle", {})
    assert client.get(f"/threads/{THREAD}", headers=BOB).status_code == 404
    assert client.post("/threads/search", json={}, headers=BOB).json() == []


def test_agui_refuses_another_identitys_thread_that_has_not_run(client: TestClient) -> None:
    events = _agui(client, BOB, state={"request": "bob's request"})
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[-1]["code"] == "forbidden"
    resume = [{"interruptId": "0" * 32, "status": "resolved", "payload": "approve"}]
    assert _agui(client, BOB, resume=resume)[-1]["code"] == "not_found"
    _alice_still_has_it(client)
    # and its maker runs it as usual
    mine = _agui(client, {"authorization": "Bearer alice-token"}, state={"request": "order 42"})
    assert mine[-1]["type"] == "RUN_FINISHED" and mine[-1]["outcome"]["type"] == "interrupt"
    assert client.get(f"/threads/{THREAD}", headers=ALICE).json()["metadata"]["owner"] == "alice"


def test_the_websocket_protocol_refuses_it_too(client: TestClient) -> None:
    with connect(client, token="bob-token") as wire:
        assert wire.error("start_run", graph="approve", thread_id=THREAD, input={"request": "x"})["code"] == "forbidden"
        assert wire.error("resume", thread_id=THREAD, value="approve")["code"] == "not_found"
        assert wire.error("subscribe", thread_id=THREAD)["code"] == "not_found"
        assert wire.error("get_state", thread_id=THREAD)["code"] == "not_found"
        assert wire.request("list_threads")["threads"] == []
    _alice_still_has_it(client)
    with connect(client) as wire:  # alice
        wire.request("start_run", graph="approve", thread_id=THREAD, input={"request": "x"})
        assert wire.run_end(THREAD)["event"] == "run_interrupted"


def test_the_langgraph_api_and_v3_refuse_it_too(client: TestClient) -> None:
    run = {"assistant_id": "approve", "input": {"request": "x"}}
    assert client.post(f"/threads/{THREAD}/runs/wait", json=run, headers=BOB).status_code == 404
    taken = client.post(f"/threads/{THREAD}/runs/wait", json={**run, "if_not_exists": "create"}, headers=BOB)
    assert (taken.status_code, taken.json()["code"]) == (403, "forbidden")
    assert client.post(f"/threads/{THREAD}/state", json={"values": {"request": "x"}}, headers=BOB).status_code == 404
    assert client.patch(f"/threads/{THREAD}", json={"metadata": {"owner": "bob"}}, headers=BOB).status_code == 404
    started = client.post(f"/threads/{THREAD}/commands", json={"id": 1, "method": "run.start", "params": run}, headers=BOB)
    assert started.json()["type"] == "error" and started.json()["streamhil_code"] == "forbidden", started.json()
    with client.websocket_connect(f"/threads/{THREAD}/stream/events", headers=BOB) as ws:
        ws.send_json({"id": 1, "method": "subscription.subscribe", "params": {"channels": ["values"]}})
        with pytest.raises(WebSocketDisconnect) as closed:  # (a socket let in would answer the subscription)
            ws.receive_text()
        assert closed.value.code == 4404
    _alice_still_has_it(client)
