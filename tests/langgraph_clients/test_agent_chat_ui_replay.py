"""Agent Chat UI's exact requests, recorded from Chromium driving the real UI against a streamhil
server (``ui/agent_chat_ui.py``; CORS preflights included), replayed in order against a fresh
server: three chats reach a tool review in the HITL-middleware shape, and are approved, edited
and rejected. Thread ids are mapped to the ones this server hands out; the resume's
``checkpoint`` is the head the replayed history returned, as the UI would have sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from .conftest import LangGraphServer, launch, shut_down

RECORDED = Path(__file__).resolve().parent / "ui" / "agent_chat_ui.recorded.json"
OUTCOMES = [
    "Successfully booked 1 night(s) at the Ritz.",
    "Successfully booked 1 night(s) at the Savoy Grand.",
    "Too expensive, find another",
]


@pytest.fixture(scope="module")
def recording() -> dict[str, Any]:
    return json.loads(RECORDED.read_text())


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory, recording: dict[str, Any]) -> Iterator[LangGraphServer]:
    server = launch(tmp_path_factory.mktemp("ui") / "server.sqlite", "--allow-origin", recording["ui_origin"])
    try:
        yield server
    finally:
        shut_down(server)


def _sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = orjson.loads(line[6:])
        if name is not None:
            events.append((name, data))
    return events


def test_agent_chat_ui_traffic_replays(open_server: LangGraphServer, recording: dict[str, Any]) -> None:
    requests = recording["requests"]
    recorded_threads: list[str] = []
    for entry in requests:
        parts = entry["path"].split("/")
        if len(parts) > 2 and parts[1] == "threads" and parts[2] not in ("search", "") and parts[2] not in recorded_threads:
            recorded_threads.append(parts[2])
    created: list[str] = []
    heads: dict[str, str] = {}
    finals: dict[str, list[dict[str, Any]]] = {}
    preflights = 0
    with httpx.Client(base_url=open_server.base_url, timeout=30) as http:
        for entry in requests:
            path = entry["path"]
            for k, recorded in enumerate(recorded_threads):
                if recorded in path:
                    path = path.replace(recorded, created[k])
            thread = path.split("/")[2] if path.startswith("/threads/") and path.split("/")[2] != "search" else None
            body = entry["body"]
            if isinstance(body, dict) and body.get("command") and isinstance(body.get("checkpoint"), dict) and thread:
                body = {**body, "checkpoint": {**body["checkpoint"], "checkpoint_id": heads[thread]}}
            headers = dict(entry["headers"])
            content = None if body is None else orjson.dumps(body)
            response = http.request(entry["method"], path, headers=headers, content=content)
            where = f"{entry['method']} {entry['path']}"
            if entry["preflight"]:
                preflights += 1
                assert response.status_code == 204, where
                assert response.headers["access-control-allow-origin"] == headers["origin"], where
                assert headers["access-control-request-method"] in response.headers["access-control-allow-methods"], where
                for name in headers.get("access-control-request-headers", "").split(","):
                    assert name.strip() in response.headers["access-control-allow-headers"], where
                continue
            assert response.status_code == 200, f"{where}: {response.status_code} {response.text[:300]}"
            assert response.headers["access-control-allow-origin"] == headers["origin"], where
            if path == "/threads" and entry["method"] == "POST":
                created.append(response.json()["thread_id"])
            elif path.endswith("/history"):
                history = response.json()
                assert history, where
                heads[thread] = history[0]["checkpoint"]["checkpoint_id"]  # type: ignore[index]
            elif path.endswith("/runs/stream"):
                assert response.headers["content-type"].startswith("text/event-stream"), where
                events = _sse(response.text)
                assert events[0][0] == "metadata", where
                values = [data for name, data in events if name == "values"]
                if body and body.get("command"):
                    finals[thread] = values[-1]["messages"]  # type: ignore[index]
                else:
                    [asked] = values[-1]["__interrupt__"]
                    assert asked["value"]["action_requests"][0]["name"] == "book_hotel"
                    assert [m["type"] for m in values[-1]["messages"]] == ["human", "ai"]
                    assert any(name == "messages" for name, _ in events)  # messages-tuple chunks
    assert preflights >= 6 and len(created) == 3
    for thread, outcome in zip(created, OUTCOMES):
        messages = finals[thread]
        assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
        assert messages[2]["content"] == outcome
