"""Restart time and memory of a server whose SQLite file holds many threads.

Writes N interrupted threads (a checkpoint with pending interrupt writes, a thread record, a
few events each) straight through the server's storage, then starts ``streamhil-server --db``
on the file and measures the time until it listens, its RSS then, and its RSS after a client
lists threads and answers one (a thread loaded on demand). Compare with an empty file.

    python bench/many_threads.py --threads 10000

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kill_loop import _open, _reap, _start  # noqa: E402


async def fill(db: Path, threads: int) -> None:
    """``threads`` threads asked their first question, written as the server would."""
    from streamhil.checkpoint.base import thread_config
    from streamhil_server.storage import SqliteStorage, StorageSaver, ThreadRecord, Write
    from streamhil_server.storage.records import EventRow

    import os

    os.environ["STREAMHIL_KILL_PLAN"] = ""
    from kill_loop import _killable

    graph = _killable()
    async with SqliteStorage(db) as storage:
        saver = StorageSaver(storage)
        graph.checkpointer = saver
        for n in range(threads):
            tid = f"many-{n}"
            async for _ in graph.astream({"conv": 0}, {"configurable": {"thread_id": tid}}):
                pass
            state = await graph.aget_state(thread_config(tid))
            interrupts = [{"id": i.id, "value": i.value, "ns": []} for i in state.interrupts]
            frames = [EventRow(tid, s, "r", json.dumps({"type": "event", "seq": s, "pad": "x" * 200})) for s in range(1, 6)]
            await storage.write(Write(
                thread_id=tid, threads=[ThreadRecord(tid, "killable", "alice", "interrupted", interrupts)], events=frames,
            ))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(db: Path) -> dict[str, float]:
    began = time.monotonic()
    process, port = await _start(db, "")
    listening = time.monotonic() - began
    try:
        rss_start = rss_mb(process.pid)
        conn = await _open(port, lambda: None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn.read)
            listed = await conn.request("list_threads", limit=100)
            shown = len(listed["result"]["threads"])
            first = listed["result"]["threads"][-1] if shown else None
            if first is not None and first["interrupts"]:
                t0 = time.monotonic()
                reply = await conn.request("resume", thread_id=first["thread_id"], interrupt_id=first["interrupts"][0]["id"], value="x")
                assert reply["type"] == "reply", reply
                answer_ms = (time.monotonic() - t0) * 1000
            else:
                answer_ms = 0.0
            rss_after = rss_mb(process.pid)
            await conn.ws.close()
    finally:
        await _reap(process)
    return {"start_s": listening, "rss_start_mb": rss_start, "rss_after_mb": rss_after, "first_answer_ms": answer_ms}


async def main(threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty.sqlite", Path(tmp) / "full.sqlite"
        t0 = time.monotonic()
        await fill(full, threads)
        print(f"wrote {threads} threads in {time.monotonic() - t0:.1f} s ({full.stat().st_size / 1e6:.1f} MB file)")
        base = await measure(empty)
        many = await measure(full)
    print(f"{'':24}{'empty file':>14}{f'{threads} threads':>16}")
    for key in ("start_s", "rss_start_mb", "rss_after_mb", "first_answer_ms"):
        print(f"{key:24}{base[key]:>14.2f}{many[key]:>16.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=10_000)
    anyio.run(main, parser.parse_args().threads)
