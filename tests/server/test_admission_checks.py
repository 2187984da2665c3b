"""``start_run`` refuses a config or an input the run would fail on, before anything is created:
no thread, no run, an ``invalid_field`` error naming the path (WebSocket and LangGraph HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect

ALICE = {"x-api-key": "alice-token"}

BAD_CONFIGS = [
    ({"configurable": {"checkpoint_ns": "zzz"}}, "config.configurable.checkpoint_ns"),
    ({"configurable": {"checkpoint_map": {"": "x"}}}, "config.configurable.checkpoint_map"),
    ({"configurable": {"__pregel_resuming": True}}, "config.configurable.__pregel_resuming"),
    ({"max_concurrency": -3}, "config.max_concurrency"),
    ({"metadata": "x"}, "config.metadata"),
    ({"tags": [1]}, "config.tags[0]"),
]
BAD_INPUTS = [("a string", "input"), ([1, 2], "input"), ({"request": "x", "bogus": 1}, "input.bogus")]


def test_a_bad_config_or_input_creates_nothing_on_the_websocket(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        for config, path in BAD_CONFIGS:
            error = wire.error("start_run", graph="approve", input={"request": "x"}, config=config)
            assert (error["code"], error["path"]) == ("invalid_field", path), error
        for value, path in BAD_INPUTS:
            error = wire.error("start_run", graph="approve", input=value)
            assert (error["code"], error["path"]) == ("invalid_field", path), error
            assert "input" in error["message"] and "request" in error["message"]
        assert wire.request("list_threads")["threads"] == []


def test_a_bad_input_on_an_existing_thread_leaves_it_as_it_was(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="approve", input={"request": "x"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value="approve")
        assert wire.run_end(tid)["event"] == "run_done"
        before = wire.request("list_threads")["threads"]
        error = wire.error("start_run", graph="approve", thread_id=tid, input={"reqest": "y"})
        assert (error["code"], error["path"]) == ("invalid_field", "input.reqest")
        assert wire.request("list_threads")["threads"] == before


def test_root_namespace_and_user_keys_are_accepted(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        config = {"configurable": {"checkpoint_ns": "", "user_id": "u"}, "max_concurrency": 2, "tags": ["t"]}
        tid = wire.request("start_run", graph="approve", input={"request": "x"}, config=config)["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted"
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["id"] for i in state["interrupts"]] == end["data"]["interrupt_ids"]  # in the root namespace
        wire.request("resume", thread_id=tid, value="approve")
        assert wire.run_end(tid)["event"] == "run_done"


# The LangGraph API drops input keys the graph does not have, as LangGraph's server does
# (docs/langgraph-clients.md): only the other bad inputs are refused there.
HTTP_BAD_INPUTS = [(value, path) for value, path in BAD_INPUTS if path == "input"]


@pytest.mark.parametrize(("body", "path"), [*[({"config": c}, p) for c, p in BAD_CONFIGS], *[({"input": v}, p) for v, p in HTTP_BAD_INPUTS]])
def test_the_langgraph_http_api_makes_the_same_checks(make_client: Any, body: dict[str, Any], path: str) -> None:
    with make_client(demo_graphs()) as client:
        tid = client.post("/threads", json={}, headers=ALICE).json()["thread_id"]
        body = {"assistant_id": "approve", "input": {"request": "x"}, **body}
        refused = client.post(f"/threads/{tid}/runs/wait", json=body, headers=ALICE)
        assert refused.status_code == 422, refused.text
        assert path in refused.text
        assert client.get(f"/threads/{tid}/runs", headers=ALICE).json() == []
        assert client.get(f"/threads/{tid}", headers=ALICE).json()["status"] == "idle"
