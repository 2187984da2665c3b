"""A server killed with SIGKILL mid-run and started again on the same database (a SQLite file, or
PostgreSQL): the client
reconnects, the cut run is closed, the thread continues from its last checkpoint, and the
conversation finishes with nothing acknowledged lost and no event missed or repeated."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from streamhil_client import open_client

from .conftest import TIMEOUT, fast_backoff, start_server_process

pytestmark = pytest.mark.anyio

GRAPHS = Path(__file__).with_name("graphs.py")


async def start_server(db: Path | str, marker: Path, port: int = 0) -> tuple[Process, int]:
    return await start_server_process(
        [f"{GRAPHS}:restartable", "--db", str(db), "--port", str(port), "--token", "alice:alice-token",
         "--log-level", "warning"],
        env={"STREAMHIL_E2E_MARKER": str(marker)},
    )


async def stop(process: Process) -> None:
    if process.returncode is None:
        process.kill()
    with anyio.fail_after(TIMEOUT):
        await process.wait()
    if process.stdout is not None:
        await process.stdout.aclose()


async def next_event(watch: Any, kind: str, **data: Any) -> tuple[Any, list[Any]]:
    """Events from ``watch`` up to the first ``kind`` event whose data matches ``data``."""
    seen = []
    async for event in watch:
        seen.append(event)
        if event.event == kind and all(getattr(event, "data", {}).get(k) == v for k, v in data.items()):
            return event, seen
    raise AssertionError(f"the watch ended before a {kind} event")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A SQLite file, or a PostgreSQL URL to a fresh schema (skipped when no server answers)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db_url"))
    return tmp_path / "hil.sqlite"


async def test_sigkill_mid_run_then_restart(db: Path | str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    first, port = await start_server(db, marker)
    second = None
    try:
        async with open_client(f"ws://127.0.0.1:{port}/ws", token="alice-token", backoff=fast_backoff) as client:
            with anyio.fail_after(TIMEOUT * 2):
                run = await client.start_run("restartable", {}, stream_modes=["custom", "updates"])
                watch = await client.subscribe(run.thread_id)
                events: list[Any] = []
                _, seen = await next_event(watch, "run_interrupted")
                events += seen
                acked = await run.resume("answer one", stream_modes=["custom", "updates"])  # acknowledged: must survive the kill
                assert acked.answered
                _, seen = await next_event(watch, "custom", attempt=1)
                events += seen

                os.kill(first.pid, signal.SIGKILL)  # mid-step, no goodbye
                await stop(first)
                # gone; its status reads 255 instead of -9 when another library's child watcher
                # (Jupyter's, from the notebook tests) reaped it before asyncio did
                assert first.returncode in (-signal.SIGKILL, 255)
                with pytest.raises(ProcessLookupError):
                    os.kill(first.pid, 0)
                second, _ = await start_server(db, marker, port)

                cut, seen = await next_event(watch, "run_cancelled")
                events += seen
                assert cut.run_id == acked.run_id and cut.reason == "shutdown"
                paused, seen = await next_event(watch, "run_interrupted")
                events += seen
                continuation = [e for e in seen if e.event == "run_started"]
                assert [e.run_kind for e in continuation] == ["resume"]
                assert any(e.event == "custom" and e.data["attempt"] == 2 for e in seen)
                assert [i.value for i in client.pending_interrupts(run.thread_id)] == [{"question": "Second question?"}]

                # The Run handle follows the thread through the cut: it does not end at the
                # cancellation but at the continuation's interrupt, and answers it.
                followed = [event async for event in run]
                assert ("run_cancelled", acked.run_id) in [(e.event, e.run_id) for e in followed]
                assert followed[-1].event == "run_interrupted" and run.run_id == continuation[0].run_id
                assert [i.value for i in run.interrupts] == [{"question": "Second question?"}]
                await run.resume("answer two", stream_modes=["custom", "updates"])
                _, seen = await next_event(watch, "run_done")
                events += seen
                state = await client.get_state(run.thread_id)
                assert state.values == {"a1": "answer one", "steps": 1, "a2": "answer two"}

                numbers = [e.seq for e in events]
                assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gap, no duplicate
                stats = client.statistics()
                assert stats.reconnects >= 1 and stats.resyncs == 0 and stats.gaps == 0
                await watch.aclose()
    finally:
        await stop(first)
        if second is not None:
            second.terminate()
            await stop(second)
