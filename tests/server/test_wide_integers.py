"""Integers wider than 64 bits are refused with ``invalid_field`` and their path (the WebSocket and
the LangGraph HTTP API); the JSON parser used to turn them into floats without a word (found by a
tester). The widest integers that fit, and large float literals, are kept as they are.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .graphs import odd_values

ALICE = {"x-api-key": "alice-token"}
WIDE = 2**70 + 1


def test_integers_wider_than_64_bits_are_refused_not_rounded(make_client: Any) -> None:
    with make_client({"store_any": odd_values()}) as client, connect(client) as wire:
        wire.send_raw(f'{{"type": "ping", "id": "p1", "payload": {{"n": [1, {WIDE}]}}}}')
        refused = wire.until(lambda f: f.get("id") == "p1")
        assert (refused["type"], refused["code"], refused["path"]) == ("error", "invalid_field", "payload.n[1]"), refused
        assert str(WIDE) in refused["message"] and "64 bits" in refused["message"]
        assert refused["details"] == {"min_integer": -(2**63), "max_integer": 2**64 - 1}
        wire.send_raw(f'{{"type": "start_run", "id": "s1", "graph": "store_any", "thread_id": "t-w", "input": {{"answer": {WIDE}}}}}')
        refused = wire.until(lambda f: f.get("id") == "s1")
        assert (refused["code"], refused["path"]) == ("invalid_field", "input.answer"), refused
        assert wire.error("get_state", thread_id="t-w")["code"] == "not_found"  # nothing created
        # the widest integers that fit, and float literals as large, are kept as they are
        edge = {"top": 2**64 - 1, "bottom": -(2**63), "float": 1e20}
        wire.send_raw(orjson.dumps({"type": "ping", "id": "p2", "payload": edge}).decode())
        assert wire.until(lambda f: f.get("id") == "p2")["result"]["payload"] == edge
        wire.send_raw('{"type": "ping", "id": "p3", "payload": {"digits": "1180591620717411303425"}}')
        assert wire.until(lambda f: f.get("id") == "p3")["type"] == "reply"  # in a string: not a number


def test_the_langgraph_http_api_refuses_wide_integers_too(make_client: Any) -> None:
    with make_client(demo_graphs()) as client:
        tid = client.post("/threads", json={}, headers=ALICE).json()["thread_id"]
        body = f'{{"assistant_id": "approve", "input": {{"request": "x", "n": {WIDE}}}}}'
        refused = client.post(f"/threads/{tid}/runs/wait", content=body, headers={**ALICE, "content-type": "application/json"})
        assert refused.status_code == 422, refused.text
        assert "input.n" in refused.text and "64 bits" in refused.text
        assert client.get(f"/threads/{tid}/runs", headers=ALICE).json() == []


def test_an_ag_ui_body_with_a_wide_integer_is_refused(make_client: Any) -> None:
    pytest.importorskip("ag_ui")
    from .agui_helpers import body

    with make_client(demo_graphs()) as client:
        text = orjson.dumps(body(state={"n": 0})).decode().replace('"n":0', f'"n":{WIDE}')
        refused = client.post("/agui/approve", content=text, headers={**ALICE, "content-type": "application/json"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_field" and "state.n" in refused.json()["detail"]
