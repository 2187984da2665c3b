"""The HTTP surfaces against cross-site requests, token guessing and deep JSON (security report 3,
items 2-4): the LangGraph API, v3 and AG-UI refuse what ``/ws`` refuses, before anything runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs

from .agui_helpers import body as agui_body
from .conftest import LOCAL_WS
from .wire import Closed, Wire

ALICE = {"x-api-key": "alice-token"}
COOKIE = {"cookie": "streamhil_token=alice-token"}
EVIL = {"origin": "http://127.0.0.1:9999"}  # same site, another port: SameSite does not help
ALLOWED = "https://ui.example"
RUN = {"assistant_id": "approve", "input": {"request": "x"}}


@pytest.fixture
def client(make_client: Any) -> Iterator[TestClient]:
    with make_client(demo_graphs(), settings=ServerSettings(allowed_origins=(ALLOWED,))) as c:
        yield c


def _alices_threads(client: TestClient) -> list[str]:
    found = client.post("/threads/search", json={}, headers=ALICE)
    assert found.status_code == 200, found.text
    return [t["thread_id"] for t in found.json()]


# --- item 2: cross-site requests ------------------------------------------------------------


@pytest.mark.parametrize("credentials", [COOKIE, ALICE], ids=["cookie", "x-api-key"])
def test_a_request_from_an_origin_not_allowed_is_refused_before_anything_runs(client: TestClient, credentials: dict[str, str]) -> None:
    made = client.post("/threads", json={"thread_id": "mine"}, headers=ALICE)
    assert made.status_code == 200, made.text
    headers = {**credentials, **EVIL}
    attempts = [
        client.post("/threads", json={"thread_id": "planted"}, headers=headers),
        client.post("/threads/planted/runs", json={**RUN, "if_not_exists": "create"}, headers=headers),
        client.post("/threads/mine/runs/wait", json=RUN, headers=headers),
        client.post("/threads/mine/state", json={"values": {"request": "y"}}, headers=headers),
        client.patch("/threads/mine", json={"metadata": {"by": "evil"}}, headers=headers),
        client.post("/threads/mine/commands", json={"id": 1, "method": "run.start", "params": RUN}, headers=headers),
        client.get("/threads/mine", headers=headers),
        client.post("/threads/search", json={}, headers=headers),
    ]
    for refused in attempts:
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), refused.text
        assert "access-control-allow-origin" not in refused.headers
    assert _alices_threads(client) == ["mine"]
    seen = client.get("/threads/mine", headers=ALICE).json()
    assert (seen["status"], seen["metadata"], seen["values"]) == ("idle", {}, {})


def test_the_cookie_needs_a_json_body_on_requests_that_change_something(client: TestClient) -> None:
    simple = json.dumps({"thread_id": "forged"})  # what a no-cors fetch or a form can send
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {**COOKIE, **({"content-type": content_type} if content_type else {})}
        refused = client.post("/threads", content=simple, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), (content_type, refused.text)
        assert "application/json" in refused.json()["detail"]
    commands = client.post("/threads/x/commands", content=json.dumps({"id": 1, "method": "run.start", "params": RUN}),
                           headers={**COOKIE, "content-type": "text/plain"})
    assert commands.status_code == 403
    assert _alices_threads(client) == []
    # the same body as JSON: a page of the server's origin (or an allowed one) does this
    made = client.post("/threads", content=simple, headers={**COOKIE, "content-type": "application/json"})
    assert made.status_code == 200, made.text
    allowed = client.post("/threads", json={"thread_id": "ui"}, headers={**COOKIE, "origin": ALLOWED})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ALLOWED
    own = client.post("/threads", json={"thread_id": "own"}, headers={**COOKIE, "origin": "http://localhost"})
    assert own.status_code == 200, own.text
    # a request with no body needs no type (cancelling from the SDK); GETs change nothing
    cancel = client.post("/threads/forged/runs/none/cancel", headers=COOKIE)
    assert cancel.status_code == 404, cancel.text
    assert client.get("/threads/forged", headers=COOKIE).status_code == 200
    # a key in a header is not ambient: a browser never adds it cross-site
    keyed = client.post("/threads", content=json.dumps({"thread_id": "keyed"}), headers={**ALICE, "content-type": "text/plain"})
    assert keyed.status_code == 200, keyed.text
    assert sorted(_alices_threads(client)) == ["forged", "keyed", "own", "ui"]


def test_a_server_without_tokens_needs_a_json_body_too(make_client: Any) -> None:
    with make_client(demo_graphs(), tokens=None) as client:
        refused = client.post("/threads", content=json.dumps({"thread_id": "t"}), headers={"content-type": "text/plain"})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert client.post("/threads", json={"thread_id": "t"}).status_code == 200
        evil = client.post("/threads", json={"thread_id": "u"}, headers=EVIL)
        assert evil.status_code == 403
        assert [t["thread_id"] for t in client.post("/threads/search", json={}).json()] == ["t"]


def test_agui_refuses_a_cookie_request_whose_body_is_not_json(client: TestClient) -> None:
    forged = client.post("/agui/approve", content=json.dumps(agui_body("agui-forged")), headers={**COOKIE, "content-type": "text/plain"})
    assert (forged.status_code, forged.json()["code"]) == (403, "forbidden")
    assert _alices_threads(client) == []


# --- item 3: one budget of failed attempts on every surface -----------------------------------


@pytest.fixture
def strict(make_client: Any) -> Iterator[TestClient]:
    settings = ServerSettings(auth_failures_burst=3, auth_failures_per_minute=1)
    with make_client(demo_graphs(), settings=settings) as c:
        yield c


def _ws_close(client: TestClient, token: str) -> int:
    with client.websocket_connect(LOCAL_WS) as ws:
        wire = Wire(ws)
        wire.send_json({"type": "hello", "protocol_version": 1, "token": token})
        with pytest.raises(Closed) as closed:
            while True:
                wire.recv()
        return closed.value.code


def _v3_close(client: TestClient, token: str) -> int:
    with client.websocket_connect(f"/threads/t/stream/events?token={token}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        return closed.value.code


def test_wrong_keys_on_the_http_api_use_up_the_address_budget(strict: TestClient) -> None:
    codes = [strict.post("/threads/search", json={}, headers={"x-api-key": f"guess-{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    locked = strict.post("/threads/search", json={}, headers=ALICE)  # a right key too: refused before comparing
    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_requests"), locked.text
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert strict.get("/threads/x", headers={"authorization": "Bearer alice-token"}).status_code == 429
    # the same budget on every other surface
    assert _ws_close(strict, "alice-token") == 4429
    assert _v3_close(strict, "alice-token") == 4429
    agui = strict.post("/agui/approve", json=agui_body(), headers={"authorization": "Bearer alice-token"})
    assert (agui.status_code, agui.json()["code"]) == (429, "too_many_requests")
    assert int(agui.headers["retry-after"]) >= 1


def test_wrong_tokens_on_agui_and_v3_count_too(strict: TestClient) -> None:
    assert strict.post("/agui/approve", json=agui_body(), headers={"authorization": "Bearer nope"}).status_code == 401
    assert _v3_close(strict, "nope") == 4401
    assert _v3_close(strict, "nope-again") == 4401
    assert _v3_close(strict, "alice-token") == 4429
    assert strict.post("/threads/search", json={}, headers=ALICE).status_code == 429


def test_requests_without_a_key_use_up_nothing(strict: TestClient) -> None:
    for _ in range(5):
        assert strict.post("/threads/search", json={}).status_code == 401
    assert strict.post("/threads/search", json={}, headers=ALICE).status_code == 200


# --- item 4: JSON nested deeper than /ws takes -------------------------------------------------


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _deep_post(client: TestClient, url: str, body: dict[str, Any], levels: int) -> Any:
    """POST ``body`` with its ``"DEEP"`` string replaced by a list nested ``levels`` deep (written
    as text: Python's json module cannot write 2000 levels)."""
    text = json.dumps(body).replace('"DEEP"', "[" * levels + '"leaf"' + "]" * levels)
    return client.post(url, content=text, headers={**ALICE, "content-type": "application/json"})


@pytest.mark.parametrize("levels", [101, 300, 2000])  # 300: past orjson's dumps; 2000: past its loads
def test_a_deep_body_is_refused_naming_its_path_and_nothing_is_made(client: TestClient, levels: int) -> None:
    made = _deep_post(client, "/threads", {"thread_id": "deep", "metadata": {"k": "DEEP"}}, levels)
    assert (made.status_code, made.json()["code"]) == (422, "invalid_field"), made.text
    assert made.json()["path"].startswith("metadata.k[0][0]")
    assert made.json()["details"] == {"max_nesting_depth": 100}
    assert client.get("/threads/deep", headers=ALICE).status_code == 404
    assert _alices_threads(client) == []
    run = _deep_post(client, "/threads/deep/runs/wait", {**RUN, "input": {"request": "DEEP"}, "if_not_exists": "create"}, levels)
    assert (run.status_code, run.json()["code"], run.json()["path"][:13]) == (422, "invalid_field", "input.request"), run.text
    command = _deep_post(client, "/threads/deep/commands", {"id": 1, "method": "run.start", "params": {**RUN, "input": "DEEP"}}, levels)
    assert (command.status_code, command.json()["code"]) == (422, "invalid_field"), command.text
    agui = _deep_post(client, "/agui/approve", agui_body("deep", state={"request": "DEEP"}), levels)
    assert (agui.status_code, agui.json()["code"]) == (422, "invalid_field"), agui.text
    assert agui.json()["path"].startswith("state.request")
    assert _alices_threads(client) == [] and client.get("/threads/deep", headers=ALICE).status_code == 404
    # a hundred levels are fine
    fine = client.post("/threads", json={"thread_id": "deep", "metadata": {"k": _nested(99)}}, headers=ALICE)
    assert fine.status_code == 200, fine.text
    assert _alices_threads(client) == ["deep"]


def test_a_deep_command_on_the_v3_websocket_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/threads/t/stream/events?token=alice-token") as ws:
        ws.send_text(json.dumps({"id": 1, "method": "run.start", "params": {**RUN, "input": _nested(300)}}))
        answer = json.loads(ws.receive_text())
    assert answer["type"] == "error" and "nested deeper than 100 levels" in answer["message"], answer
    assert _alices_threads(client) == []


def test_a_thread_whose_storing_fails_is_not_made(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = client.app.state.runtime.thread_metadata  # type: ignore[attr-defined]

    async def refuse(record: Any) -> None:
        raise RuntimeError("the database refused it")

    made = client.post("/threads", json={"thread_id": "kept", "metadata": {"v": 1}}, headers=ALICE)
    assert made.status_code == 200
    monkeypatch.setattr(metadata, "_save", refuse)
    with pytest.raises(RuntimeError):
        client.post("/threads", json={"thread_id": "half"}, headers=ALICE)
    with pytest.raises(RuntimeError):
        client.patch("/threads/kept", json={"metadata": {"v": 2}}, headers=ALICE)
    monkeypatch.undo()
    assert client.get("/threads/half", headers=ALICE).status_code == 404
    assert _alices_threads(client) == ["kept"]
    assert client.get("/threads/kept", headers=ALICE).json()["metadata"] == {"v": 1}
    assert client.post("/threads", json={"thread_id": "half"}, headers=ALICE).status_code == 200


def test_a_body_over_the_limit_is_refused_with_413_and_creates_nothing(client: TestClient) -> None:
    from streamhil_server.compat.http_access import MAX_BODY

    big = b'{"metadata": {"x": "' + b"a" * MAX_BODY + b'"}}'
    for headers in (ALICE, COOKIE):
        refused = client.post("/threads", content=big, headers={**headers, "content-type": "application/json"})
        assert refused.status_code == 413 and refused.json()["code"] == "frame_too_large"
    assert _alices_threads(client) == []
    no_key = client.post("/threads", content=big, headers={"content-type": "application/json"})
    assert no_key.status_code == 401  # who is calling is checked first
