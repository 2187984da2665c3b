"""Thread metadata (threads made before their first run) and run records survive a restart."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from streamhil.protocol import StartRun

from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.registry import GraphRegistry
from streamhil_server.runtime import Runtime

pytestmark = pytest.mark.anyio


def registry() -> GraphRegistry:
    return GraphRegistry({name: graph for name, (graph, _) in demo_graphs().items()})


async def test_metadata_and_run_records_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "server.sqlite")
    async with Runtime(registry(), db=db) as runtime:
        await runtime.thread_metadata.create("t-early", "alice", {"team": "ops"})
        await runtime.thread_metadata.stamp("t-early", "alice", {"graph_id": "approve"})
        await runtime.thread_metadata.stamp("t-early", "alice", {"graph_id": "other"})  # first stamp wins
        done = anyio.Event()
        remove = runtime.hub.add_listener(lambda e: done.set() if e.event == "run_interrupted" else None)
        accepted = await runtime.runs.start_run("alice", StartRun(graph="approve", thread_id="t-early", input={"request": "x"}))
        runtime.run_records.accepted(accepted.run_id, "t-early", accepted.seq, assistant_id="a-1",
                                     metadata={"k": "v"}, multitask_strategy="enqueue")
        with anyio.fail_after(10):
            await done.wait()
        remove()
        assert runtime.run_records.get(accepted.run_id).status == "success"  # type: ignore[union-attr]
    async with Runtime(registry(), db=db) as runtime:
        meta = runtime.thread_metadata.get("t-early")
        assert meta is not None and meta.owner == "alice" and meta.metadata == {"team": "ops", "graph_id": "approve"}
        record = runtime.run_records.get(accepted.run_id)
        assert record is not None and record.status == "success" and record.metadata == {"k": "v"}
        assert record.assistant_id == "a-1" and record.first_seq == accepted.seq
        assert [r.run_id for r in runtime.run_records.of_thread("t-early")] == [accepted.run_id]
