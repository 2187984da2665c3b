"""The Agent Server endpoints streamhil does not serve answer like every other error of the API:
JSON ``{detail, code: "not_supported"}`` saying what is not supported (404, or 405 with
``Allow`` at a path served with other methods), not Starlette's plain-text 404/405."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.settings import ServerSettings

ALICE = {"x-api-key": "alice-token"}
ORIGIN = "http://ui.example"

UNSUPPORTED = [
    ("DELETE", "/threads/t-1", 405, "deleting threads"),
    ("POST", "/threads/t-1/copy", 404, "copying threads"),
    ("POST", "/threads/count", 405, "counting threads"),
    ("POST", "/threads/prune", 405, "pruning threads"),
    ("GET", "/threads/t-1/stream", 404, "a thread's runs as one stream"),
    ("PATCH", "/threads/t-1/state", 405, "changing a checkpoint's metadata"),
    ("DELETE", "/threads/t-1/runs/r-1", 405, "deleting runs"),
    ("POST", "/assistants", 404, "creating assistants"),
    ("POST", "/assistants/count", 405, "counting assistants"),
    ("PATCH", "/assistants/approve", 405, "updating assistants"),
    ("DELETE", "/assistants/approve", 405, "deleting assistants"),
    ("GET", "/assistants/approve/schemas", 404, "assistant schemas"),
    ("GET", "/assistants/approve/subgraphs", 404, "assistant schemas and subgraphs"),
    ("POST", "/assistants/approve/versions", 404, "assistant versions"),
    ("POST", "/runs/stream", 404, "stateless runs"),
    ("POST", "/runs/wait", 404, "stateless runs"),
    ("POST", "/runs", 404, "stateless runs"),
    ("POST", "/runs/batch", 404, "batches of runs"),
    ("POST", "/runs/cancel", 404, "cancelling runs in bulk"),
    ("POST", "/runs/crons", 404, "crons"),
    ("POST", "/threads/t-1/runs/crons", 405, "crons"),  # (GET there is run "crons")
    ("PUT", "/store/items", 404, "the store"),
    ("POST", "/store/namespaces", 404, "the store"),
    ("GET", "/threads", 405, "is not an endpoint"),
    ("GET", "/threads/t-1/nothing/here", 404, "is not an endpoint"),
]


@pytest.fixture
def client(make_client: Any) -> Any:
    with make_client(demo_graphs(), settings=ServerSettings(allowed_origins=(ORIGIN,))) as c:
        yield c


@pytest.mark.parametrize(("method", "path", "status", "said"), UNSUPPORTED)
def test_an_unsupported_endpoint_says_so_in_json(client: TestClient, method: str, path: str, status: int, said: str) -> None:
    answer = client.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None, headers={**ALICE, "origin": ORIGIN})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == "not_supported"
    assert said in answer.json()["detail"] and "docs/langgraph-clients.md" in answer.json()["detail"]
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    if status == 405:
        assert answer.headers["allow"] and method not in answer.headers["allow"].split(", ")


def test_credentials_come_first_and_preflights_are_answered(client: TestClient) -> None:
    assert client.delete("/threads/t-1").status_code == 401
    preflight = client.options("/threads/t-1/copy", headers={"origin": ORIGIN, "access-control-request-method": "POST"})
    assert preflight.status_code == 204


def test_served_paths_and_the_ui_are_unchanged(client: TestClient) -> None:
    assert client.get("/threads/t-1", headers=ALICE).json()["code"] == "not_found"
    assert client.post("/threads/search", json={}, headers=ALICE).json() == []
    assert client.get("/chat/").headers["content-type"].startswith("text/html")
    assert client.get("/no-such-page").status_code == 404
