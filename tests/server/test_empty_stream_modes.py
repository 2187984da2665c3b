"""``stream_modes: []`` means no stream modes: only the lifecycle and ``interrupt`` events, which
every run sends (what an inbox or a dashboard wants). It used to become the default ``["values",
"updates"]`` (found by a tester); absent or null still is the default.
"""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .graphs import Gate, gated


def kinds_of(wire: Any, tid: str) -> set[str]:
    return {e["event"] for e in wire.thread_events(tid)}


LIFECYCLE = {"run_started", "run_interrupted", "run_done", "interrupt"}


def test_an_empty_stream_modes_list_sends_lifecycle_and_interrupt_events_only(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="approve", input={"request": "x"}, stream_modes=[])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        assert kinds_of(wire, tid) == {"run_started", "interrupt", "run_interrupted"}
        wire.request("resume", thread_id=tid, value="yes", stream_modes=[])
        assert wire.run_end(tid)["event"] == "run_done"
        assert kinds_of(wire, tid) <= LIFECYCLE
        # absent (or null) is still the default
        other = wire.request("start_run", graph="approve", input={"request": "y"}, stream_modes=None)["thread_id"]
        wire.run_end(other)
        assert {"values", "updates"} <= kinds_of(wire, other)


def test_a_queued_run_with_no_stream_modes_keeps_them_when_its_turn_comes(make_client: Any) -> None:
    """The queued run's modes are stored with it (its params): ``[]`` stays ``[]``."""
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client, connect(client) as wire:
        first = wire.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
        tid = first["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        queued = wire.request("start_run", graph="gated", thread_id=tid, input=None, if_busy="interrupt", stream_modes=[])
        assert queued["queued"] is True
        wire.call(gate.open)
        end = wire.run_end(tid, queued["run_id"])
        assert end["event"] == "run_interrupted", end
        theirs = {e["event"] for e in wire.thread_events(tid) if e["run_id"] == queued["run_id"]}
        assert theirs == {"run_started", "interrupt", "run_interrupted"}, theirs


def test_a_stored_run_keeps_its_empty_stream_modes() -> None:
    """A queued run is stored with its modes and read back after a restart: ``[]`` stays ``[]``."""
    from streamhil_server.threads import RunRequest

    stored = RunRequest(run_id="r-1", thread_id="t-1", kind="start", stream_modes=()).params()
    assert RunRequest.from_params("r-1", "t-1", stored).stream_modes == ()
    assert RunRequest.from_params("r-1", "t-1", {"kind": "start"}).stream_modes == ("values", "updates")
