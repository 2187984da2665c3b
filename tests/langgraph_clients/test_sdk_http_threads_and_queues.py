"""``langgraph-sdk`` (unchanged) against a real ``streamhil-server``, for what testers found missing:
a thread created with ``supersteps`` or a ``graph_id``, a queued run cancelled while another runs,
the endpoints streamhil does not serve, a thread made by one key run with another's, history
filtered by metadata, a resume on a thread that has not run, and ``stream_mode="events"``."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import httpx
import pytest

langgraph_sdk = pytest.importorskip("langgraph_sdk")
from langgraph_sdk import get_client  # noqa: E402
from langgraph_sdk.errors import APIStatusError, NotFoundError, PermissionDeniedError  # noqa: E402

from .conftest import KEY_ALICE, KEY_BOB, LangGraphServer  # noqa: E402

pytestmark = pytest.mark.anyio
PROMPTLY = 20.0
"""Seconds for what must not wait for the run ahead (``hold`` runs until cancelled)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # langgraph-sdk is built on asyncio


@pytest.fixture
async def client(lg_server: LangGraphServer) -> Any:
    client = get_client(url=lg_server.base_url, api_key=KEY_ALICE)
    yield client
    await client.aclose()


async def test_a_thread_created_with_supersteps_starts_with_their_state(client: Any) -> None:
    seeded = {"request": "order 42", "proposal": "Refund order 42"}
    thread = await client.threads.create(
        graph_id="approve", metadata={"user": "alice"},
        supersteps=[{"updates": [{"values": seeded, "as_node": "propose"}]}],
    )
    assert thread["values"] == seeded and thread["metadata"]["graph_id"] == "approve"
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == seeded and state["next"] == ["human_approval"]
    out = await client.runs.wait(thread["thread_id"], "approve", input=None)
    assert out["__interrupt__"][0]["value"]["question"] == "Approve this action?"


async def test_update_state_on_a_thread_created_with_a_graph_id(client: Any) -> None:
    thread = await client.threads.create(graph_id="approve")
    await client.threads.update_state(thread["thread_id"], {"request": "order 7"}, as_node="propose")
    assert (await client.threads.get_state(thread["thread_id"]))["values"] == {"request": "order 7"}


async def test_cancelling_a_queued_run_ends_it_at_once(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    ahead = await client.runs.create(tid, "hold", input={}, stream_mode="updates")
    async for part in client.runs.join_stream(tid, ahead["run_id"]):
        if part.event == "updates" and "begin" in part.data:
            break  # `ahead` now waits until it is cancelled
    queued = [await client.runs.create(tid, "hold", input={}, multitask_strategy="enqueue") for _ in range(2)]
    assert [(await client.runs.get(tid, r["run_id"]))["status"] for r in queued] == ["pending", "pending"]
    followed: list[str] = []

    async def follow() -> None:  # a client streaming the queued run: its stream ends with the cancel
        async for part in client.runs.join_stream(tid, queued[0]["run_id"]):
            followed.append(part.event)

    with anyio.fail_after(PROMPTLY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await client.runs.cancel(tid, queued[0]["run_id"])
        await client.runs.cancel(tid, queued[1]["run_id"], wait=True)
        assert await client.runs.join(tid, queued[1]["run_id"]) is not None
    assert followed == ["metadata"]
    assert [(await client.runs.get(tid, r["run_id"]))["status"] for r in queued] == ["interrupted", "interrupted"]
    assert (await client.runs.get(tid, ahead["run_id"]))["status"] == "running"
    await client.runs.cancel(tid, ahead["run_id"], wait=True)


async def test_unsupported_calls_say_so(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    for call in (client.threads.delete(tid), client.threads.copy(tid), client.threads.count(),
                 client.assistants.count(), client.assistants.get_schemas("approve"), client.runs.delete(tid, "r-x")):
        with pytest.raises(APIStatusError) as refused:
            await call
        assert "streamhil-server does not support" in str(refused.value), refused.value
    with pytest.raises(httpx.HTTPStatusError) as stateless:  # (the SDK's stream call raises httpx's error)
        await client.runs.wait(None, "approve", input={"request": "x"})
    assert stateless.value.response.json()["code"] == "not_supported"


async def test_a_thread_made_by_one_key_is_refused_to_another(lg_server: LangGraphServer, client: Any) -> None:
    tid = f"alice-{uuid.uuid4().hex[:8]}"
    await client.threads.create(thread_id=tid, metadata={"owner": "alice"})
    bob = get_client(url=lg_server.base_url, api_key=KEY_BOB)
    try:
        agui = {"threadId": tid, "runId": "r", "state": {"request": "bob's"}, "messages": [], "tools": [], "context": [], "forwardedProps": {}}
        async with httpx.AsyncClient(base_url=lg_server.base_url) as raw:
            answer = await raw.post("/agui/approve", json=agui, headers={"x-api-key": KEY_BOB})
        assert '"code":"forbidden"' in answer.text.replace(" ", "")
        with pytest.raises(httpx.HTTPStatusError) as taken:  # (runs.wait raises httpx's error)
            await bob.runs.wait(tid, "approve", input={"request": "x"}, if_not_exists="create")
        assert taken.value.response.status_code == 403
        with pytest.raises(PermissionDeniedError):
            await bob.threads.create(thread_id=tid)
        with pytest.raises(NotFoundError):
            await bob.threads.get(tid)
    finally:
        await bob.aclose()
    thread = await client.threads.get(tid)
    assert (thread["metadata"], thread["status"], thread["values"]) == ({"owner": "alice"}, "idle", {})


async def test_history_filters_by_metadata_before_limit_and_before_cut_it(client: Any) -> None:
    """``get_history(metadata=..., limit=...)`` filters the checkpoints first and then counts them,
    as LangGraph's ``get_state_history(filter=..., limit=...)`` does (the server used to take the
    newest ``limit`` and then filter them, which could leave nothing)."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    class State(TypedDict, total=False):
        n: int

    reference = StateGraph(State)
    reference.add_node("step", lambda state: {"n": 1})
    reference.add_edge(START, "step")
    reference.add_edge("step", END)
    compiled = reference.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    compiled.invoke({"n": 0}, config)
    assert [s.metadata["source"] for s in compiled.get_state_history(config, filter={"source": "input"}, limit=1)] == ["input"]

    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approve", input={"request": "order 5"})
    await client.runs.wait(tid, "approve", command={"resume": "approve"})
    everything = await client.threads.get_history(tid, limit=100)
    sources = [h["metadata"]["source"] for h in everything]
    assert sources[-1] == "input" and sources.count("loop") >= 3

    def expected(source: str, limit: int, before: int | None = None) -> list[Any]:
        older = everything if before is None else everything[before + 1:]
        return [h["checkpoint"] for h in older if h["metadata"]["source"] == source][:limit]

    for source, limit in (("input", 1), ("loop", 1), ("loop", 2), ("loop", 100), ("update", 1)):
        got = await client.threads.get_history(tid, limit=limit, metadata={"source": source})
        assert [h["checkpoint"] for h in got] == expected(source, limit), (source, limit)
    got = await client.threads.get_history(tid, limit=1, metadata={"source": "loop"}, before=everything[0]["checkpoint"])
    assert [h["checkpoint"] for h in got] == expected("loop", 1, before=0)
    got = await client.threads.get_history(tid, limit=1, metadata={"source": "input"}, before=everything[1]["checkpoint"])
    assert [h["checkpoint"] for h in got] == expected("input", 1, before=1) != []
    with pytest.raises(APIStatusError) as refused:
        await client.threads.get_history(tid, metadata=["source"])  # type: ignore[arg-type]
    assert refused.value.response.status_code == 422


async def test_a_resume_on_a_thread_that_has_not_run_is_told_nothing_is_pending(client: Any, lg_server: LangGraphServer) -> None:
    """A thread made with ``POST /threads`` exists: a resume on it before its first run gets what
    one on a thread that has run gets with nothing pending (409 ``nothing_pending``; by interrupt
    id: no such pending interrupt), not a 404 saying the thread does not exist."""
    from langgraph_sdk.errors import ConflictError

    ran = (await client.threads.create())["thread_id"]
    await client.runs.wait(ran, "approve", input={"request": "order 3"})
    await client.runs.wait(ran, "approve", command={"resume": "approve"})
    fresh = (await client.threads.create())["thread_id"]
    other_id = "0" * 32
    for tid in (ran, fresh):
        with pytest.raises(ConflictError, match="no pending interrupt to resume") as plain:
            async for _ in client.runs.stream(tid, "approve", command={"resume": "yes"}):
                pass
        assert plain.value.response.json()["code"] == "nothing_pending"
        with pytest.raises(httpx.HTTPStatusError, match=f"no pending interrupt {other_id}") as by_id:
            await client.runs.wait(tid, "approve", command={"resume": {other_id: "yes"}})
        assert by_id.value.response.status_code == 404 and by_id.value.response.json()["code"] == "not_found"
    assert (await client.threads.get(fresh))["status"] == "idle"
    assert await client.runs.list(fresh) == []
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers={"x-api-key": KEY_ALICE}) as raw:
        respond = {"id": 1, "method": "input.respond", "params": {"interrupt_id": other_id, "response": "yes"}}
        for tid in (ran, fresh):
            reply = (await raw.post(f"/threads/{tid}/commands", json=respond)).json()
            assert reply["type"] == "error" and reply["error"] == "no_such_interrupt", (tid, reply)
    with pytest.raises(httpx.HTTPStatusError, match="not found") as unknown:  # a thread that does not exist: 404
        await client.runs.wait("no-such-thread", "approve", command={"resume": "yes"})
    assert unknown.value.response.status_code == 404


async def test_stream_mode_events_sends_langchain_v2_events(client: Any) -> None:
    """``stream_mode="events"`` sends the run's LangChain "v2" events (docs/langgraph-clients.md)."""
    tid = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(tid, "approve", input={"request": "order 4"}, stream_mode="events")]
    events = [p.data for p in parts if p.event == "events"]
    kinds = [(e["event"], e["name"]) for e in events]
    assert kinds[0] == ("on_chain_start", "LangGraph") and ("on_chain_start", "propose") in kinds
