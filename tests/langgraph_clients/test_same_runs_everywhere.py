"""The LangGraph surfaces and streamhil's own ``/ws`` protocol share one run manager and one event
log: a run started over HTTP is watched over ``/ws`` with the same ``seq`` numbers, answered over
``/ws``, and the HTTP side sees the answer (a second answer is a conflict there)."""

from __future__ import annotations


import pytest

pytest.importorskip("langgraph_sdk")
from langgraph_sdk import get_client  # noqa: E402
from langgraph_sdk.errors import ConflictError  # noqa: E402
from streamhil_client import open_client  # noqa: E402

from .conftest import KEY_ALICE, LangGraphServer  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_http_run_watched_and_answered_over_ws(lg_server: LangGraphServer) -> None:
    ws_url = lg_server.base_url.replace("http://", "ws://") + "/ws"
    async with get_client(url=lg_server.base_url, api_key=KEY_ALICE) as lg, open_client(ws_url, token=KEY_ALICE) as hil:
        tid = (await lg.threads.create())["thread_id"]
        parts = [p async for p in lg.runs.stream(tid, "approve", input={"request": "shared"},
                                                 stream_mode=["values", "updates"], stream_resumable=True)]
        sse = [(int(p.id), p.event) for p in parts if p.id is not None and p.event != "metadata"]
        assert parts[0].event == "metadata" and int(parts[0].id) < sse[0][0]  # the run's first seq: a cursor before it
        watch = await hil.subscribe(tid, after=0)
        seen = []
        async for event in watch:
            seen.append(event)
            if event.event == "run_interrupted":
                break
        logged = [(e.seq, e.event) for e in seen if e.event in ("values", "updates")]
        assert logged == sse  # the same events, numbered alike
        run_id = parts[0].data["run_id"]
        assert {e.run_id for e in seen} == {run_id}
        [pending] = [e for e in seen if e.event == "interrupt"][0].interrupts

        run = await hil.resume(tid, "approve")  # answered over /ws
        async for event in run:
            pass
        thread = await lg.threads.get(tid)
        assert thread["status"] == "idle" and thread["values"]["outcome"].startswith("done")
        ws_run = await lg.runs.get(tid, run.run_id)  # the /ws run has a record too
        assert ws_run["status"] == "success"
        with pytest.raises(ConflictError, match="already answered"):
            async for _ in lg.runs.stream(tid, "approve", command={"resume": {pending.id: "approve"}}):
                pass
