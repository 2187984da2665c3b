"""AG-UI runs over a real socket while other things happen: a second request on the busy thread,
a client that leaves (the run is cancelled, or goes on when asked to), a run cancelled from
``/ws``, and a ``/ws`` watcher that sees the AG-UI run live."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from streamhil_client import RunCancelledEvent, RunInterruptedEvent, RunStartedEvent, TasksEvent, open_client

# tests/ is on sys.path (pytest's rootdir-based import), so the server tests' helpers are "server.*"
from server.agui_helpers import body, check_order, sse_data
from server.graphs import Gate, gated, two_questions
from .conftest import TIMEOUT, serve

pytestmark = pytest.mark.anyio
ALICE = {"authorization": "Bearer alice-token"}


async def frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The AG-UI events of a streamed response, as they arrive."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            for data in sse_data(block + "\n\n"):
                yield json.loads(data)


async def until(stream: AsyncIterator[dict[str, Any]], kind: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    async for event in stream:
        seen.append(event)
        if event["type"] == kind:
            return event
    raise AssertionError(f"the stream ended before {kind}: {[e['type'] for e in seen]}")


def http_url(ws_url: str) -> str:
    return ws_url.replace("ws://", "http://").removesuffix("/ws")


async def test_busy_thread_live_watcher_and_cancel_from_ws() -> None:
    gate = Gate()
    async with serve({"gated": gated(gate)}) as (url, _), httpx.AsyncClient(base_url=http_url(url), timeout=TIMEOUT) as http:
        payload = body(state={"n": 1})
        tid = payload["threadId"]
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(TIMEOUT):
            async with http.stream("POST", "/agui/gated", json=payload, headers=ALICE) as response:
                events = frames(response)
                step = await until(events, "STEP_STARTED", seen)
                assert step["stepName"] == "work"  # the run waits at the gate now
                streamhil_run = seen[0]["metadata"]["streamhil"]["run_id"]

                busy = await http.post("/agui/gated", json=body(tid), headers=ALICE)
                refused = [json.loads(d) for d in sse_data(busy.text)]
                assert [e["type"] for e in refused] == ["RUN_STARTED", "RUN_ERROR"] and refused[1]["code"] == "thread_busy"

                async with open_client(url, token="alice-token", reconnect=False) as client:
                    watch = await client.subscribe(tid, after=0)
                    first = await watch.__anext__()
                    assert isinstance(first, RunStartedEvent) and first.run_id == streamhil_run
                    await client.cancel(tid)
                    async for event in watch:
                        if isinstance(event, RunCancelledEvent):
                            break
                async for event in events:
                    seen.append(event)
        check_order(seen)
        assert seen[-1]["type"] == "RUN_FINISHED" and seen[-1]["outcome"] == {"type": "cancelled"}
        assert seen[-2]["type"] == "MESSAGES_SNAPSHOT" and seen[-3]["snapshot"] == {"n": 1}


@pytest.mark.parametrize("on_disconnect", ["cancel", "continue"])
async def test_a_client_that_leaves(on_disconnect: str) -> None:
    gate = Gate()
    async with serve({"gated": gated(gate)}) as (url, _), httpx.AsyncClient(base_url=http_url(url), timeout=TIMEOUT) as http:
        props = {} if on_disconnect == "cancel" else {"streamhil": {"on_disconnect": "continue"}}
        payload = body(state={"n": 1}, forwardedProps=props)
        tid = payload["threadId"]
        async with open_client(url, token="alice-token", reconnect=False) as client:
            with anyio.fail_after(TIMEOUT):
                seen: list[dict[str, Any]] = []
                async with http.stream("POST", "/agui/gated", json=payload, headers=ALICE) as response:
                    await until(frames(response), "STEP_STARTED", seen)
                    watch = await client.subscribe(tid, after=0)
                # the client left with the run waiting at the gate
                gate.open()
                ends = []
                async for event in watch:
                    if isinstance(event, TasksEvent):
                        continue
                    if isinstance(event, (RunCancelledEvent, RunInterruptedEvent)):
                        ends.append(event)
                        break
            [end] = ends
            if on_disconnect == "cancel":
                assert isinstance(end, RunCancelledEvent)
                assert (await client.get_state(tid)).interrupts == ()
            else:
                assert isinstance(end, RunInterruptedEvent)
                assert [i.value["question"] for i in (await client.get_state(tid)).interrupts] == ["go on?"]


async def test_keepalive_comments_while_a_run_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    import streamhil_server.compat.agui_run as agui_run

    monkeypatch.setattr(agui_run, "KEEPALIVE_SECONDS", 0.05)
    gate = Gate()
    async with serve({"gated": gated(gate)}) as (url, _), httpx.AsyncClient(base_url=http_url(url), timeout=TIMEOUT) as http:
        text = ""
        with anyio.fail_after(TIMEOUT):
            async with http.stream("POST", "/agui/gated", json=body(), headers=ALICE) as response:
                async for chunk in response.aiter_text():
                    text += chunk
                    if text.count(": keepalive\n\n") == 2:  # the run waits at the gate: comments flow
                        gate.open()
        events = [json.loads(d) for d in sse_data(text)]
        check_order(events)
        assert events[-1]["outcome"]["type"] == "interrupt"



async def test_two_starts_on_one_new_thread_at_once() -> None:
    gate = Gate()
    async with serve({"gated": gated(gate)}) as (url, _), httpx.AsyncClient(base_url=http_url(url), timeout=TIMEOUT) as http:
        payload = body(state={"n": 1})
        answers: list[list[dict[str, Any]]] = []
        answered = anyio.Event()

        async def post(data: dict[str, Any]) -> None:
            response = await http.post("/agui/gated", json=data, headers=ALICE)
            answers.append([json.loads(d) for d in sse_data(response.text)])
            answered.set()

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(post, payload)
                tg.start_soon(post, {**payload, "runId": "second"})
                await answered.wait()  # the loser is answered at once; the winner waits at the gate
                assert len(answers) == 1 and answers[0][-1]["code"] == "thread_busy"
                gate.open()
        for events in answers:
            check_order(events)
        assert answers[1][-1]["outcome"]["type"] == "interrupt"


async def test_a_resume_sent_again_while_its_run_goes_on() -> None:
    gate = Gate()
    async with serve({"two": two_questions(gate)}) as (url, _), httpx.AsyncClient(base_url=http_url(url), timeout=TIMEOUT) as http:

        async def post(data: dict[str, Any]) -> list[dict[str, Any]]:
            return [json.loads(d) for d in sse_data((await http.post("/agui/two", json=data, headers=ALICE)).text)]

        start = await post(body())
        tid = start[0]["threadId"]
        resume = [{"interruptId": i["id"], "status": "resolved", "payload": "x"} for i in start[-1]["outcome"]["interrupts"]]
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(TIMEOUT):
            async with http.stream("POST", "/agui/two", json=body(tid, resume=resume), headers=ALICE) as response:
                stream = frames(response)
                await until(stream, "STEP_STARTED", seen)  # the resumed run waits at the gate
                again = await post(body(tid, resume=resume))
                assert [e["type"] for e in again] == ["RUN_STARTED", "RUN_ERROR"] and again[1]["code"] == "thread_busy"
                gate.open()
                async for event in stream:
                    seen.append(event)
        check_order(seen)
        assert seen[-1]["outcome"] == {"type": "success"}
        replay = await post(body(tid, resume=resume))  # once it is over, the same resume is a replay
        check_order(replay)
        assert replay[-1]["outcome"] == {"type": "success"} and replay[-3]["snapshot"] == seen[-3]["snapshot"]
