"""LangGraph's Python client (``langgraph-sdk``, unchanged) follows a run across a server killed
with SIGKILL and started again on the same database (SQLite and PostgreSQL): the run goes on under
the id the client knows, as on LangGraph's server, which retries a run under its id.

``runs.stream`` reconnects (``Last-Event-ID``) and gets the rest of the run, its final values
with ``__interrupt__`` included; ``runs.get`` says ``running`` with the record unchanged;
``runs.join`` and ``join_stream`` wait for the continuation's end; a run queued behind the cut
one runs after it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("langgraph_sdk")
from langgraph_sdk import get_client  # noqa: E402

from .conftest import KEY_ALICE, LangGraphServer, launch, shut_down  # noqa: E402

pytestmark = pytest.mark.anyio
KEPT = ("run_id", "thread_id", "assistant_id", "created_at", "metadata", "multitask_strategy")
"""What a run's record says that a restart must not change."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # langgraph-sdk is built on asyncio


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or a PostgreSQL URL to a fresh schema (skipped when no server answers)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db_url"))
    return str(tmp_path / "restart.sqlite")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Restartable:
    """A server on a fixed port (so the client's reconnects reach its successor)."""

    def __init__(self, db: str) -> None:
        self.db, self.port = db, _free_port()
        self.server: LangGraphServer = launch(db, "--token", f"alice:{KEY_ALICE}", port=self.port)

    @property
    def url(self) -> str:
        return self.server.base_url

    async def kill_and_start_again(self) -> None:
        self.server.process.kill()  # SIGKILL: mid-step, no goodbye
        self.server.process.wait(timeout=10)
        self.server = await anyio.to_thread.run_sync(
            lambda: launch(self.db, "--token", f"alice:{KEY_ALICE}", port=self.port)
        )

    def stop(self) -> None:
        shut_down(self.server)


def _interrupts(values: dict[str, Any]) -> list[Any]:
    return [i["value"] for i in values.get("__interrupt__", [])]


async def test_runs_stream_goes_on_across_a_kill(db: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    server = Restartable(db)
    try:
        async with get_client(url=server.url, api_key=KEY_ALICE) as client:
            tid = (await client.threads.create())["thread_id"]
            parts = []
            with anyio.fail_after(60):
                async for part in client.runs.stream(tid, "gate", input={"gate": str(gate), "ask": True},
                                                     stream_mode=["custom", "values"], stream_resumable=True):
                    parts.append(part)
                    if part.event == "custom" and len([p for p in parts if p.event == "custom"]) == 1:
                        await server.kill_and_start_again()  # while the run waits at the gate
                        gate.touch()
            run_id = parts[0].data["run_id"]
            final = [p.data for p in parts if p.event == "values"][-1]
            assert final["step"] == "passed" and _interrupts(final) == [{"question": "go on?"}]
            assert [p.data for p in parts if p.event == "custom"] == [{"waiting": True}] * 2  # one per attempt
            ids = [int(p.id) for p in parts if p.id is not None]
            assert ids == sorted(set(ids))  # nothing twice
            assert (await client.runs.get(tid, run_id))["status"] == "success"
            assert [r["run_id"] for r in await client.runs.list(tid)] == [run_id]
            assert (await client.threads.get(tid))["status"] == "interrupted"
    finally:
        server.stop()


async def _wait_for_gate(client: Any, tid: str, run_id: str) -> str:
    """Follow the run until it waits at the gate; the id of that event."""
    async for part in client.runs.join_stream(tid, run_id):
        if part.event == "custom":
            return str(part.id)
    raise AssertionError("the run ended before it waited at the gate")


async def test_get_join_join_stream_and_a_queued_run_across_a_kill(db: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    server = Restartable(db)
    try:
        async with get_client(url=server.url, api_key=KEY_ALICE) as client:
            asked = (await client.threads.create())["thread_id"]  # its run ends at an interrupt
            run = await client.runs.create(asked, "gate", input={"gate": str(gate), "ask": True}, metadata={"k": "v"},
                                           stream_mode=["custom", "values"], multitask_strategy="enqueue")
            plain = (await client.threads.create())["thread_id"]  # its run ends; another waits behind it
            first = await client.runs.create(plain, "gate", input={"gate": str(gate)}, stream_mode=["custom", "values"])
            queued = await client.runs.create(plain, "gate", input={"gate": str(gate), "step": "queued"},
                                              multitask_strategy="enqueue")
            with anyio.fail_after(30):
                cursor = await _wait_for_gate(client, asked, run["run_id"])
                await _wait_for_gate(client, plain, first["run_id"])
            before = {r["run_id"]: await client.runs.get(r["thread_id"], r["run_id"]) for r in (run, first, queued)}
            assert [before[r["run_id"]]["status"] for r in (run, first, queued)] == ["running", "running", "pending"]

            await server.kill_and_start_again()
            after = {r["run_id"]: await client.runs.get(r["thread_id"], r["run_id"]) for r in (run, first, queued)}
            assert [after[r["run_id"]]["status"] for r in (run, first, queued)] == ["running", "running", "pending"]
            for run_id, record in after.items():
                assert {k: record[k] for k in KEPT} == {k: before[run_id][k] for k in KEPT}

            async def stream_rest() -> list[Any]:
                return [p async for p in client.runs.join_stream(asked, run["run_id"], last_event_id=cursor)]

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    results: dict[str, Any] = {}

                    async def keep(name: str, coro: Any) -> None:
                        results[name] = await coro

                    tg.start_soon(keep, "join", client.runs.join(asked, run["run_id"]))
                    tg.start_soon(keep, "rest", stream_rest())
                    tg.start_soon(keep, "queued", client.runs.join(plain, queued["run_id"]))
                    await anyio.wait_all_tasks_blocked()
                    gate.touch()
            assert results["join"]["step"] == "passed" and _interrupts(results["join"]) == [{"question": "go on?"}]
            rest = results["rest"]
            assert all(int(p.id) > int(cursor) for p in rest if p.id is not None)
            assert [p.data for p in rest if p.event == "custom"] == [{"waiting": True}]  # the continuation's
            assert _interrupts([p.data for p in rest if p.event == "values"][-1]) == [{"question": "go on?"}]
            assert results["queued"]["step"] == "passed"
            for r in (run, first, queued):
                record = await client.runs.get(r["thread_id"], r["run_id"])
                assert record["status"] == "success" and {k: record[k] for k in KEPT} == {k: before[r["run_id"]][k] for k in KEPT}
            assert [r["run_id"] for r in await client.runs.list(plain)] == [queued["run_id"], first["run_id"]]
    finally:
        server.stop()
