"""One bad run ends that run with ``run_error`` and nothing else (issue 8, item 1).

``subgraphs: false`` once wedged the whole server: the run never ended, every new connection got
HTTP 403 and every ``resume`` answered ``internal_error``.
"""

from __future__ import annotations

from typing import Any

import pytest
from streamhil_server import encoding
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import check_seqs


@pytest.mark.parametrize("graph,input", [("subgraph", {"item": "lamp"}), ("publish", {"topic": "otters"})])
def test_subgraphs_false_ends_the_run_and_keeps_the_server_healthy(make_client: Any, graph: str, input: Any) -> None:
    with make_client(demo_graphs()) as client:
        with connect(client) as wire:
            tid = wire.request("start_run", graph=graph, input=input, subgraphs=False,
                               stream_modes=["updates", "values"])["thread_id"]
            end = wire.run_end(tid)
            assert end["event"] == "run_interrupted"
            events = wire.thread_events(tid)
            assert all(e.get("ns", []) == [] for e in events)  # only the root graph's parts
            assert [e["event"] for e in events].count("run_interrupted") == 1
            check_seqs(wire.events)
        # A new connection is welcomed, and the thread takes its answer.
        with connect(client) as other:
            other.request("subscribe", thread_id=tid)
            answered = other.request("resume", thread_id=tid, value="yes")
            assert answered["answered"]
            assert other.run_end(tid, answered["run_id"])["event"] in ("run_done", "run_interrupted")


def test_subgraphs_true_streams_the_subgraphs_parts(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="subgraph", input={"item": "lamp"}, subgraphs=True,
                           stream_modes=["updates"])["thread_id"]
        wire.run_end(tid)
        assert any(e.get("ns") for e in wire.thread_events(tid) if e["event"] == "updates")


def test_an_unexpected_failure_in_the_run_path_ends_only_that_run(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = encoding.interrupt_wire
    calls = {"n": 0}

    def broken_once(interrupt: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the server's own code")
        return real(interrupt)

    import streamhil_server.runs.execution as execution

    monkeypatch.setattr(execution, "interrupt_wire", broken_once)
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"}, stream_modes=["updates"])["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_error"
        assert end["data"]["code"] == "internal_error"
        assert [e["event"] for e in wire.thread_events(tid)].count("run_error") == 1
        # The server goes on: another thread runs to its interrupt, and a new connection works.
        other = wire.request("start_run", graph="publish", input={"topic": "seals"}, stream_modes=["updates"])["thread_id"]
        assert wire.run_end(other)["event"] == "run_interrupted"
        with connect(client) as second:
            second.request("ping")
