"""A LangGraph API run cut short by a server restart goes on under its id (SQLite and PostgreSQL).

The run manager continues the thread in a new run (its own protocol names both: `continued_by`,
`continues`, `retry_of`); a LangGraph client knows only the id it started, as LangGraph's server
retries a run under its id. So `GET …/runs/{id}` stays `running` with the record as it was,
`join` and `join_stream` (with `Last-Event-ID`) follow the continuation to the run's real end,
`runs.list` shows the one run, and runs queued behind it run after it, after any number of
restarts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from streamhil_server.compat.langgraph_runs import LangGraphRuns

from .conftest import connect
from .graphs import Gate, gated, gated_to_end

KEY = {"x-api-key": "alice-token"}
KEPT = ("run_id", "thread_id", "assistant_id", "created_at", "metadata", "multitask_strategy", "kwargs")
"""What a run's record says that a restart must not change."""


def _graphs(gate: Gate) -> dict[str, Any]:
    return {"gated": gated(gate), "to_end": gated_to_end(gate)}


def _stuck() -> Gate:
    return Gate()  # never opened by itself


@contextmanager
def _gate_opened_once_followed(monkeypatch: pytest.MonkeyPatch, gate: Gate) -> Iterator[None]:
    """Open ``gate`` once a join (or join_stream) follows the run: what it returns then can only
    come from the continuation, which waits for the gate."""
    follow = LangGraphRuns._feed_from

    async def opening(self: LangGraphRuns, *args: Any) -> Any:
        feed = await follow(self, *args)
        gate.open()
        return feed

    with monkeypatch.context() as patch:
        patch.setattr(LangGraphRuns, "_feed_from", opening)
        yield


def _sse(body: bytes) -> list[tuple[int | None, str, Any]]:
    """``(id, event, data)`` of each SSE event (comments skipped)."""
    parts = []
    for block in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "event" in fields:
            parts.append((int(fields["id"]) if "id" in fields else None, fields["event"], orjson.loads(fields["data"])))
    return parts


def _start_and_cut(make_client: Any, db: str, graph: str = "gated") -> tuple[str, dict[str, Any], int]:
    """A background run through the LangGraph API, cut by a restart while it waits in ``work``:
    the thread, the run's record before the cut, and the seq of the last event before it."""
    with make_client(_graphs(_stuck()), db=db) as client, connect(client) as wire:
        tid = client.post("/threads", json={"metadata": {"team": "ops"}}, headers=KEY).json()["thread_id"]
        run = client.post(f"/threads/{tid}/runs", headers=KEY, json={
            "assistant_id": graph, "input": {"n": 1}, "stream_mode": ["custom", "values"],
            "metadata": {"origin": "test"}, "multitask_strategy": "enqueue",
        }).json()
        wire.request("subscribe", thread_id=tid, after=0)
        seen = wire.until(lambda f: f.get("event") == "custom")["seq"]
        before = client.get(f"/threads/{tid}/runs/{run['run_id']}", headers=KEY).json()
        assert before["status"] == "running"
    return tid, before, seen


def test_get_and_join_follow_a_run_cut_by_a_restart(make_client: Any, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tid, before, _ = _start_and_cut(make_client, db)
    run_url = f"/threads/{tid}/runs/{before['run_id']}"
    gate = _stuck()
    with make_client(_graphs(gate), db=db) as client:
        after = client.get(run_url, headers=KEY).json()
        assert after["status"] == "running"  # not "interrupted" (a user's cancel, in LangGraph's words)
        assert {k: after[k] for k in KEPT} == {k: before[k] for k in KEPT}
        with _gate_opened_once_followed(monkeypatch, gate):
            values = client.get(f"{run_url}/join", headers=KEY).json()
        # the continuation's end: `work` ran again, then `ask` interrupted
        assert values["n"] == 2 and [i["value"] for i in values["__interrupt__"]] == [{"question": "go on?", "n": 2}]
        done = client.get(run_url, headers=KEY).json()
        assert done["status"] == "success" and {k: done[k] for k in KEPT} == {k: before[k] for k in KEPT}
        listed = client.get(f"/threads/{tid}/runs", headers=KEY).json()
        assert [(r["run_id"], r["status"]) for r in listed] == [(before["run_id"], "success")]
        assert client.get(f"/threads/{tid}", headers=KEY).json()["status"] == "interrupted"
    with make_client(_graphs(_stuck()), db=db) as client:  # and as stored
        again = client.get(run_url, headers=KEY).json()
        assert again["status"] == "success" and {k: again[k] for k in KEPT} == {k: before[k] for k in KEPT}


def test_join_stream_with_last_event_id_follows_the_continuation(
    make_client: Any, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid, before, seen = _start_and_cut(make_client, db)
    run_url = f"/threads/{tid}/runs/{before['run_id']}"
    gate = _stuck()
    with make_client(_graphs(gate), db=db) as client:
        with _gate_opened_once_followed(monkeypatch, gate):
            reply = client.get(f"{run_url}/stream", headers={**KEY, "last-event-id": str(seen)})
        parts = _sse(reply.content)
        assert all(seq is not None and seq > seen for seq, _, _ in parts)
        assert [(event, data) for _, event, data in parts if event == "custom"] == [("custom", {"status": "waiting"})]
        last = [data for _, event, data in parts if event == "values"][-1]
        assert last["n"] == 2 and [i["value"] for i in last["__interrupt__"]] == [{"question": "go on?", "n": 2}]
        assert [event for _, event, _ in parts][-1] == "values"
        # the whole run, from its start: one metadata event under the first id, both attempts' parts
        whole = _sse(client.get(f"{run_url}/stream", headers=KEY).content)
        assert whole[0][1:] == ("metadata", {"run_id": before["run_id"], "attempt": 2})
        assert [data for _, event, data in whole if event == "custom"] == [{"status": "waiting"}] * 2
        assert [p for p in whole if p[0] is not None and p[0] > seen] == parts


def test_a_run_queued_behind_a_cut_run_runs_after_it_after_two_restarts(make_client: Any, db: str) -> None:
    with make_client(_graphs(_stuck()), db=db) as client, connect(client) as wire:
        tid = client.post("/threads", json={}, headers=KEY).json()["thread_id"]
        first = client.post(f"/threads/{tid}/runs", headers=KEY, json={
            "assistant_id": "to_end", "input": {"n": 1}, "stream_mode": ["custom", "values"],
        }).json()
        wire.request("subscribe", thread_id=tid, after=0)
        wire.until(lambda f: f.get("event") == "custom")
        queued = client.post(f"/threads/{tid}/runs", headers=KEY, json={
            "assistant_id": "to_end", "input": {"n": 10}, "stream_mode": ["custom", "values"],
            "multitask_strategy": "enqueue", "metadata": {"k": "v"},
        }).json()
        assert queued["status"] == "pending"
    with make_client(_graphs(_stuck()), db=db) as client, connect(client) as wire:  # cut again: the continuation waits too
        wire.request("subscribe", thread_id=tid, after=0)
        wire.until(lambda f: f.get("event") == "custom" and f["run_id"] not in (first["run_id"], queued["run_id"]))
        got = client.get(f"/threads/{tid}/runs/{queued['run_id']}", headers=KEY).json()
        assert got["status"] == "pending" and {k: got[k] for k in KEPT} == {k: queued[k] for k in KEPT}
    free = Gate()
    free.opened = True
    with make_client(_graphs(free), db=db) as client, connect(client) as wire:
        wire.request("subscribe", thread_id=tid, after=0)
        values = client.get(f"/threads/{tid}/runs/{queued['run_id']}/join", headers=KEY).json()
        assert values == {"n": 11}  # the first run's continuation ran first (n: 1 → 2)... then the queued one's input
        wire.run_end(tid, queued["run_id"])
        started = [e for e in wire.thread_events(tid) if e["event"] == "run_started"]
        chain = [e["run_id"] for e in started if e["data"].get("retry_of") == first["run_id"]]
        assert [e["run_id"] for e in started] == [first["run_id"], *chain, queued["run_id"]] and len(chain) == 2
        ended = [e for e in wire.thread_events(tid) if e["event"] == "run_done"]
        assert [e["run_id"] for e in ended] == [chain[-1], queued["run_id"]]
        runs = {r["run_id"]: r for r in client.get(f"/threads/{tid}/runs", headers=KEY).json()}
        assert set(runs) == {first["run_id"], queued["run_id"]}
        assert runs[first["run_id"]]["status"] == runs[queued["run_id"]]["status"] == "success"
        assert {k: runs[queued["run_id"]][k] for k in KEPT} == {k: queued[k] for k in KEPT}
        assert {k: runs[first["run_id"]][k] for k in KEPT} == {k: first[k] for k in KEPT}


def test_cancel_after_a_restart_cancels_the_continuation(make_client: Any, db: str) -> None:
    tid, before, _ = _start_and_cut(make_client, db)
    run_url = f"/threads/{tid}/runs/{before['run_id']}"
    with make_client(_graphs(_stuck()), db=db) as client, connect(client) as wire:
        wire.request("subscribe", thread_id=tid, after=0)
        continuation = wire.until(lambda f: f.get("event") == "run_started" and "continues" in f["data"])["run_id"]
        cancelled = client.post(f"{run_url}/cancel?wait=1", headers=KEY)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "interrupted"
        end = wire.run_end(tid, continuation)
        assert (end["event"], end["data"]) == ("run_cancelled", {"reason": "cancelled"})
        assert client.get(run_url, headers=KEY).json()["status"] == "interrupted"
        assert client.post(f"{run_url}/cancel", headers=KEY).status_code == 409  # it has ended


def test_the_v3_lifecycle_shows_the_cut_run_going_on_not_failing(make_client: Any, db: str) -> None:
    """The v3 thread protocol replays a cut run as LangGraph's server retries it: running, then
    running again (the continuation), then its real end; never ``failed``."""
    tid, _, _ = _start_and_cut(make_client, db)
    gate = _stuck()
    with make_client(_graphs(gate), db=db) as client, connect(client) as wire:
        wire.request("subscribe", thread_id=tid, after=0)
        wire.until(lambda f: f.get("event") == "run_started" and "continues" in f["data"])
        assert client.portal is not None
        client.portal.call(gate.open)
        wire.until(lambda f: f.get("event") == "run_interrupted")
        with client.websocket_connect(f"/threads/{tid}/stream/events?token=alice-token") as ws:
            ws.send_text('{"id": 1, "method": "subscription.subscribe", "params": {"channels": ["lifecycle"], "since": 0}}')
            assert orjson.loads(ws.receive_text())["type"] == "success"
            lifecycle: list[str] = []
            while not lifecycle or lifecycle[-1] == "running":
                lifecycle.append(orjson.loads(ws.receive_text())["params"]["data"]["event"])
    assert lifecycle == ["running", "running", "interrupted"]
