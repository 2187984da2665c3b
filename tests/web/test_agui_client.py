"""The unchanged ``@ag-ui/client`` 1.0.0 ``HttpAgent`` against the demo server (``tests/agui_node``:
pause and resume, a plain run refused, two interrupts in one resume, a tool call approved with
edited arguments, the legacy ``on_interrupt`` convention), then streamhil's own ``/ws`` surface asked about the same threads: the interrupt ids the AG-UI
client held are streamhil's, its final ``agent.state`` is the thread's state, and every AG-UI run
is in the thread's log (so the dashboard and ``/ws`` watchers saw it)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from streamhil_client import InterruptEvent, RunDoneEvent, RunStartedEvent, open_client

from .conftest import DemoServer, node_available

FOLDER = Path(__file__).resolve().parents[1] / "agui_node"


def _node_or_skip() -> str:
    node = node_available()
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install -y nodejs)")
    if not (FOLDER / "node_modules" / "@ag-ui" / "client").is_dir():
        if os.environ.get("CI"):
            pytest.fail("tests/agui_node has no node_modules: .ci/run must run npm ci --prefix tests/agui_node")
        pytest.skip("run `npm ci --prefix tests/agui_node` first")
    return node


async def _thread_log(base_url: str, thread_id: str) -> tuple[Any, list[Any]]:
    """The thread's state and its whole event log, read over /ws."""
    async with open_client(base_url.replace("http://", "ws://") + "/ws", reconnect=False) as client:
        state = await client.get_state(thread_id)
        watch = await client.subscribe(thread_id, after=0)
        events = []
        while len(events) < watch.result.head_seq:
            events.append(await watch.__anext__())
        return state, events


def test_http_agent_drives_the_demo_graphs(demo_server: DemoServer, tmp_path: Path) -> None:
    node = _node_or_skip()
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "agui.test.mjs"],
        cwd=FOLDER, capture_output=True, text=True, timeout=120,
        env={**os.environ, "STREAMHIL_URL": demo_server.base_url, "STREAMHIL_REPORT": str(report_file)},
    )
    summary = dict(re.findall(r"^# (pass|fail|cancelled) (\d+)$", result.stdout, flags=re.M))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert summary == {"pass": "4", "fail": "0", "cancelled": "0"}, summary

    report = json.loads(report_file.read_text())
    assert sorted(report) == ["approve", "parallel", "review_edit", "tool_review"]
    for name, seen in report.items():
        state, events = asyncio.run(_thread_log(demo_server.base_url, seen["threadId"]))
        assert state.values == seen["state"], name
        assert state.interrupts == ()
        starts = [e for e in events if isinstance(e, RunStartedEvent)]
        assert len(starts) == seen["runs"] and [e.run_kind for e in starts] == ["start", "resume"], name
        asked = [sorted(i.id for i in e.interrupts) for e in events if isinstance(e, InterruptEvent)]
        assert asked == [sorted(ids) for ids in seen["interruptIds"]], name
        assert isinstance(events[-1], RunDoneEvent), name
        modes = {e.event for e in events}
        assert {"values", "updates", "tasks"} <= modes, (name, modes)
    assert "messages" in {e.event for e in asyncio.run(_thread_log(demo_server.base_url, report["tool_review"]["threadId"]))[1]}
