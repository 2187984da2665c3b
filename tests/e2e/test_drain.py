"""SIGTERM with commands in flight: every accepted command is answered (the acknowledged answers
are durable), commands that arrive during the drain get ``shutting_down``, and each connection
ends with a ``shutting_down`` error and close code 4000 (protocol section 11)."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import anyio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .test_kill import stop

pytestmark = pytest.mark.anyio

BENCH = Path(__file__).resolve().parents[2] / "bench"


async def _start(db: Path) -> tuple[object, int]:
    import sys

    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    from kill_loop import _start as start_server

    return await start_server(db, "")


async def test_sigterm_answers_what_was_accepted_then_closes_with_4000(tmp_path: Path) -> None:
    db = tmp_path / "drain.sqlite"
    process, port = await _start(db)
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
            await ws.send(json.dumps({"type": "hello", "protocol_version": 1, "token": "alice-token"}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            threads = [f"drain-{n}" for n in range(30)]
            for n, tid in enumerate(threads):
                await ws.send(json.dumps({"type": "start_run", "id": f"s{n}", "graph": "killable", "thread_id": tid,
                                          "input": {"conv": 0}}))
            interrupts: dict[str, str] = {}
            with anyio.fail_after(30):
                while len(interrupts) < len(threads):
                    frame = json.loads(await ws.recv())
                    if frame.get("event") == "run_interrupted":
                        interrupts[frame["thread_id"]] = frame["data"]["interrupt_ids"][0]
            sent = []
            for n, tid in enumerate(threads):  # all in flight at once...
                await ws.send(json.dumps({"type": "resume", "id": f"r{n}", "thread_id": tid,
                                          "interrupt_id": interrupts[tid], "value": f"answer-{n}"}))
                sent.append(f"r{n}")
            process.send_signal(signal.SIGTERM)  # ...when the server is told to stop
            for n in range(5):  # and a few more arrive during the drain
                await ws.send(json.dumps({"type": "ping", "id": f"late{n}"}))
                sent.append(f"late{n}")
            answers: dict[str, dict] = {}
            last_error = None
            with anyio.fail_after(30):
                try:
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("type") in ("reply", "error") and frame.get("id") in sent:
                            answers[frame["id"]] = frame
                        elif frame.get("type") == "error" and frame.get("id") is None:
                            last_error = frame
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
        assert set(answers) == set(sent), (sorted(answers), code, last_error)  # nothing accepted went unanswered
        acked = {i for i, f in answers.items() if i.startswith("r") and f["type"] == "reply"}
        for i, f in answers.items():
            assert f["type"] == "reply" or f["code"] == "shutting_down", f
        assert last_error is not None and last_error["code"] == "shutting_down"
        assert code == 4000
        with anyio.fail_after(30):
            await process.wait()
    finally:
        await stop(process)
    with sqlite3.connect(db) as check:  # what was acknowledged is stored
        stored = {row[0] for row in check.execute("SELECT interrupt_id FROM answered")}
    assert {interrupts[threads[int(i[1:])]] for i in acked} <= stored
