"""Cancelling a queued (``pending``) run through the LangGraph API ends it at once, as on
LangGraph's server: its record says ``interrupted`` and ``cancel?wait=1``, ``join`` and
``join_stream`` return without waiting for the run ahead of it. Its ``run_started`` and
``run_cancelled`` still come when its turn would have come (runs of a thread never interleave)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from .conftest import connect
from .graphs import Gate, gated

ALICE = {"x-api-key": "alice-token"}
T = TypeVar("T")
PROMPTLY = 30.0
"""Seconds a call that must not wait for the gated run gets (it would wait for ever)."""


def promptly(call: Callable[[], T]) -> T:
    """``call()``'s result; fails if it is still waiting after :data:`PROMPTLY` seconds."""
    result: list[T] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(PROMPTLY)
    assert result, "the call waited for the run ahead of the cancelled one"
    return result[0]


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "sqlite"])
def test_a_cancelled_queued_run_ends_at_once(make_client: Any, tmp_path: Path, stored: bool) -> None:
    gate = Gate()
    db = str(tmp_path / "runs.sqlite") if stored else None
    with make_client({"gated": gated(gate)}, db=db) as client, connect(client) as wire:
        try:
            _cancel_queued_runs(client, wire, gate)
        finally:
            wire.call(gate.open)  # nothing stays stuck behind a failed check


def _cancel_queued_runs(client: TestClient, wire: Any, gate: Gate) -> None:
    first = wire.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
    tid = first["thread_id"]
    wire.until(lambda f: f.get("event") == "custom")  # the first run waits at the gate
    queue = {"assistant_id": "gated", "input": {"n": 1}, "multitask_strategy": "enqueue"}
    second, third = (client.post(f"/threads/{tid}/runs", json=queue, headers=ALICE).json() for _ in range(2))
    assert second["status"] == third["status"] == "pending"

    runs = f"/threads/{tid}/runs"
    assert client.post(f"{runs}/{second['run_id']}/cancel", headers=ALICE).status_code == 202
    assert client.get(f"{runs}/{second['run_id']}", headers=ALICE).json()["status"] == "interrupted"
    again = client.post(f"{runs}/{second['run_id']}/cancel", headers=ALICE)
    assert again.status_code == 409, again.text

    waited = promptly(lambda: client.post(f"{runs}/{third['run_id']}/cancel?wait=1", headers=ALICE))
    assert (waited.status_code, waited.json()["status"]) == (200, "interrupted")
    listed = {r["run_id"]: r["status"] for r in client.get(runs, headers=ALICE).json()}
    assert listed == {second["run_id"]: "interrupted", third["run_id"]: "interrupted", first["run_id"]: "running"}
    joined = promptly(lambda: client.get(f"{runs}/{second['run_id']}/join", headers=ALICE))
    assert joined.status_code == 200
    rejoined = promptly(lambda: client.get(f"{runs}/{second['run_id']}/stream", headers=ALICE))
    assert [line for line in rejoined.text.splitlines() if line.startswith("event:")] == ["event: metadata"]

    wire.call(gate.open)
    assert wire.run_end(tid, first["run_id"])["event"] == "run_interrupted"
    for run in (second, third):  # their first and last events, when their turn came
        assert wire.run_end(tid, run["run_id"])["event"] == "run_cancelled"
        kinds = [e["event"] for e in wire.thread_events(tid) if e["run_id"] == run["run_id"]]
        assert kinds == ["run_started", "run_cancelled"]
        assert client.get(f"{runs}/{run['run_id']}", headers=ALICE).json()["status"] == "interrupted"
    assert client.get(f"{runs}/{first['run_id']}", headers=ALICE).json()["status"] == "success"
