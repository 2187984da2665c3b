"""LangGraph's JS client (``@langchain/langgraph-sdk`` 1.15.0, unchanged, installed in
tests/langgraph_clients/js by .ci/run) under Node against a real ``streamhil-server``: the classic HITL
loop through ``Client`` and the v3 thread protocol over a WebSocket (``tests/langgraph_clients/js/drive.mjs``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import KEY_ALICE, LangGraphServer

JS = Path(__file__).resolve().parent / "js"


def test_js_client_hitl_loop_and_v3_websocket(lg_server: LangGraphServer) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install -y nodejs)")
    if not (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        pytest.skip("run `npm ci --prefix tests/langgraph_clients/js` (.ci/run does) to install @langchain/langgraph-sdk")
    result = subprocess.run(
        [node, "drive.mjs", lg_server.base_url, KEY_ALICE], cwd=JS, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    # classic HTTP + SSE through Client
    assert seen["first_events"][0] == "metadata" and "updates" in seen["first_events"]
    assert seen["run_id_matches"]  # onRunCreated read the run id from Content-Location
    [asked] = seen["interrupt_in_values"]
    assert asked["value"]["question"] == "Approve this action?"
    assert seen["thread_status"] == "interrupted"
    assert [i["id"] for group in seen["thread_interrupts"].values() for i in group] == [asked["id"]]
    assert seen["thread_metadata"]["graph_id"] == "approve" and seen["thread_metadata"]["from"] == "js"
    assert seen["final_values"]["outcome"] == "done: Refund the customer for: js order"
    assert seen["status_after"] == "idle"
    assert seen["stale"]["status"] == 409 and "already answered" in seen["stale"]["message"]
    assert seen["history_len"] == 2 and seen["search"] is True

    # v3 over a WebSocket (commands in band, the key as ?token=)
    [v3_asked] = seen["v3_interrupts"]
    assert v3_asked["payload"]["question"] == "Approve this action?" and v3_asked["namespace"] == []
    assert seen["v3_output"]["outcome"] == "done: Refund the customer for: ws order"
    events = seen["v3_events"]
    assert events.index("input.requested") < events.index("lifecycle:interrupted") < events.index("lifecycle:completed")
