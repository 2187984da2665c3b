"""LangGraph's own Python client (``langgraph-sdk``, unchanged) against a real ``streamhil-server``:
assistants, threads, state, history, runs streamed to an interrupt and resumed, background runs
rejoined with ``Last-Event-ID``, ``wait``, ``cancel``, errors, auth and CORS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

langgraph_sdk = pytest.importorskip("langgraph_sdk")
from langgraph_sdk import get_client  # noqa: E402
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError  # noqa: E402

from .conftest import KEY_ALICE, KEY_BOB, UI_ORIGIN, LangGraphServer, launch, shut_down  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # langgraph-sdk is built on asyncio


@pytest.fixture
async def client(lg_server: LangGraphServer) -> Any:
    client = get_client(url=lg_server.base_url, api_key=KEY_ALICE)
    yield client
    await client.aclose()


async def _stream(client: Any, thread_id: str, assistant: str, **kwargs: Any) -> list[Any]:
    return [part async for part in client.runs.stream(thread_id, assistant, **kwargs)]


def _interrupts(parts: list[Any], event: str) -> list[dict[str, Any]]:
    """Every interrupt the ``event`` parts announced (as LangGraph's, one part per interrupted
    task), once each."""
    found: dict[str, dict[str, Any]] = {}
    for p in parts:
        if p.event == event and isinstance(p.data, dict):
            for interrupt in p.data.get("__interrupt__") or ():
                found.setdefault(interrupt["id"], interrupt)
    return list(found.values())


# --- assistants --------------------------------------------------------------------------------


async def test_assistants_one_per_graph_and_graph_name_accepted(client: Any) -> None:
    found = await client.assistants.search(graph_id="approve")
    assert len(found) == 1 and found[0]["graph_id"] == "approve"
    by_id = await client.assistants.get(found[0]["assistant_id"])
    by_name = await client.assistants.get("approve")
    assert by_id == by_name == found[0]
    every = await client.assistants.search(limit=100)
    assert {a["graph_id"] for a in every} >= {"approve", "parallel", "subgraph", "tool_review", "hold"}
    page = await client.assistants.search(limit=2, offset=1)
    assert page == every[1:3]
    with pytest.raises(NotFoundError):
        await client.assistants.get("no-such-graph")


# --- the HITL loop -----------------------------------------------------------------------------


async def test_stream_to_interrupt_then_resume_with_a_plain_value(client: Any) -> None:
    thread = await client.threads.create(metadata={"user": "alice", "topic": "refunds"})
    tid = thread["thread_id"]
    assert thread["status"] == "idle" and thread["metadata"] == {"user": "alice", "topic": "refunds"}
    parts = await _stream(client, tid, "approve", input={"request": "order 42"}, stream_mode=["values", "updates"])
    assert parts[0].event == "metadata" and parts[0].data["run_id"]
    asked = _interrupts(parts, "updates")
    assert asked and asked[0]["value"]["question"] == "Approve this action?"
    last_values = [p for p in parts if p.event == "values"][-1]
    assert last_values.data["proposal"] == "Refund the customer for: order 42"
    assert last_values.data["__interrupt__"] == asked
    iid = asked[0]["id"]

    got = await client.threads.get(tid)
    assert got["status"] == "interrupted"
    assert [i["id"] for group in got["interrupts"].values() for i in group] == [iid]
    assert got["metadata"]["graph_id"] == "approve" and got["metadata"]["user"] == "alice"
    assert got["metadata"]["assistant_id"] == (await client.assistants.get("approve"))["assistant_id"]
    state = await client.threads.get_state(tid)
    assert state["next"] == ["human_approval"] and state["interrupts"][0]["id"] == iid
    assert state["tasks"][0]["interrupts"][0]["id"] == iid
    inbox = await client.threads.search(status="interrupted", metadata={"graph_id": "approve"}, limit=100)
    assert tid in [t["thread_id"] for t in inbox]

    resumed = await _stream(client, tid, "approve", command={"resume": "approve"}, stream_mode="values")
    assert resumed[-1].event == "values" and resumed[-1].data["outcome"].startswith("done:")
    assert "__interrupt__" not in resumed[-1].data
    assert (await client.threads.get(tid))["status"] == "idle"
    inbox = await client.threads.search(status="interrupted", metadata={"graph_id": "approve"}, limit=100)
    assert tid not in [t["thread_id"] for t in inbox]
    # the run records: the client's status check after each stream finds them finished
    run = await client.runs.get(tid, resumed[0].data["run_id"])
    assert run["status"] == "success" and run["thread_id"] == tid

    with pytest.raises(ConflictError) as stale:  # the same answer again: nothing is pending
        await _stream(client, tid, "approve", command={"resume": "approve"})
    assert "no pending interrupt" in str(stale.value)


async def test_resume_by_id_map_with_version_v2_and_stale_id_is_a_conflict(client: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    parts = [p async for p in client.runs.stream(tid, "approve", input={"request": "x"}, stream_mode=["values", "updates"], version="v2")]
    values = [p for p in parts if p["type"] == "values"]
    assert values[-1]["interrupts"] and "__interrupt__" not in values[-1]["data"]
    iid = values[-1]["interrupts"][0]["id"]
    # streamhil's provenance rides along as extra keys
    assert values[-1]["interrupts"][0]["node"] == "human_approval"

    parts = [p async for p in client.runs.stream(tid, "approve", command={"resume": {iid: "reject"}}, stream_mode="values", version="v2")]
    assert parts[-1]["data"]["outcome"] == "cancelled by the reviewer" and parts[-1]["interrupts"] == []
    with pytest.raises(ConflictError) as stale:
        await _stream(client, tid, "approve", command={"resume": {iid: "approve"}})
    assert "already answered" in str(stale.value)


async def test_two_parallel_interrupts_answered_one_at_a_time(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, "parallel", input={}, stream_mode=["values"])
    asked = _interrupts(parts, "values")
    assert len(asked) == 2
    legal = next(i for i in asked if i["value"]["reviewer"] == "legal")
    finance = next(i for i in asked if i["value"]["reviewer"] == "finance")

    with pytest.raises(ConflictError):  # a plain value is ambiguous with two pending
        await _stream(client, tid, "parallel", command={"resume": "yes"})
    await _stream(client, tid, "parallel", command={"resume": {legal["id"]: "signed"}})
    thread = await client.threads.get(tid)
    pending = [i for group in thread["interrupts"].values() for i in group]
    assert thread["status"] == "interrupted"
    assert [(i["id"], i["value"]) for i in pending] == [(finance["id"], finance["value"])]

    final = await _stream(client, tid, "parallel", command={"resume": {finance["id"]: "5k"}}, stream_mode="values")
    assert "__interrupt__" not in final[-1].data
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_stream_subgraphs_names_events_by_namespace(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, "subgraph", input={}, stream_mode=["updates"], stream_subgraphs=True)
    sub = [p for p in parts if "|" in p.event]
    assert sub, [p.event for p in parts]
    mode, namespace = sub[0].event.split("|", 1)
    assert mode == "updates" and namespace.startswith("shipping:")
    without = await _stream(client, (await client.threads.create())["thread_id"], "subgraph", input={}, stream_mode=["updates"])
    assert all("|" not in p.event for p in without)
    # v2 parts carry the namespace as a list
    tid2 = (await client.threads.create())["thread_id"]
    v2 = [p async for p in client.runs.stream(tid2, "subgraph", input={}, stream_mode="updates", stream_subgraphs=True, version="v2")]
    assert any(p["ns"] and p["ns"][0].startswith("shipping:") for p in v2)


async def test_thread_interrupts_of_a_subgraph_are_keyed_by_the_root_task(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "subgraph", input={})
    thread, state = await client.threads.get(tid), await client.threads.get_state(tid)
    [task] = [t for t in state["tasks"] if t["interrupts"]]
    assert task["name"] == "shipping"
    assert list(thread["interrupts"]) == [task["id"]]  # LangGraph's key: the root graph's task
    [asked] = thread["interrupts"][task["id"]]
    assert asked["ns"][0] == f"shipping:{task['id']}" and asked["task_id"] != task["id"]  # the inner task


async def test_get_state_with_subgraphs_holds_the_subgraphs_state(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "subgraph", input={})
    flat = await client.threads.get_state(tid)
    [task] = flat["tasks"]
    assert task["state"] is None and task["checkpoint"] == {"thread_id": tid, "checkpoint_ns": f"shipping:{task['id']}"}
    deep = await client.threads.get_state(tid, subgraphs=True)
    inner = deep["tasks"][0]["state"]
    assert inner is not None and inner["next"] == ["ask_address"]
    assert inner["checkpoint"]["checkpoint_ns"] == f"shipping:{task['id']}" and inner["checkpoint"]["checkpoint_id"]
    assert [i["id"] for t in inner["tasks"] for i in t["interrupts"]] == [i["id"] for i in flat["interrupts"]]
    at = await client.threads.get_state(tid, checkpoint=flat["checkpoint"], subgraphs=True)
    assert at["tasks"][0]["state"] == inner


async def test_plain_input_on_an_interrupted_thread_is_refused_with_409(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await _stream(client, tid, "approve", input={"request": "a"})
    with pytest.raises(ConflictError) as refused:
        await _stream(client, tid, "approve", input={"request": "b"})
    assert "resume" in str(refused.value)


# --- threads, state, history -------------------------------------------------------------------


async def test_threads_create_get_search_update_state_and_history(client: Any) -> None:
    made = await client.threads.create(metadata={"team": "ops"}, graph_id="approve")
    tid = made["thread_id"]
    assert made["metadata"] == {"team": "ops", "graph_id": "approve"}
    assert (await client.threads.get_state(tid))["values"] == {}  # no run yet: no state
    assert await client.threads.get_history(tid) == []
    with pytest.raises(ConflictError, match="exists"):
        await client.threads.create(thread_id=tid)
    assert (await client.threads.create(thread_id=tid, if_exists="do_nothing"))["thread_id"] == tid
    found = await client.threads.search(metadata={"team": "ops"}, limit=100)
    assert [t["thread_id"] for t in found] == [tid]
    await client.threads.update(tid, metadata={"team": "sre"})
    assert (await client.threads.get(tid))["metadata"]["team"] == "sre"

    await _stream(client, tid, "approve", input={"request": "refund"})
    await _stream(client, tid, "approve", command={"resume": "approve"})
    state = await client.threads.get_state(tid)
    assert state["values"]["outcome"].startswith("done") and state["next"] == []
    assert state["checkpoint"]["thread_id"] == tid and state["checkpoint"]["checkpoint_id"]
    updated = await client.threads.update_state(tid, {"outcome": "overridden"}, as_node="execute")
    assert updated["checkpoint"]["checkpoint_id"] != state["checkpoint"]["checkpoint_id"]
    assert (await client.threads.get_state(tid))["values"]["outcome"] == "overridden"
    old = await client.threads.get_state(tid, checkpoint_id=state["checkpoint"]["checkpoint_id"])
    assert old["values"]["outcome"] == state["values"]["outcome"]

    history = await client.threads.get_history(tid, limit=3)
    assert len(history) == 3
    assert history[0]["values"]["outcome"] == "overridden"
    assert history[1]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert history[1]["parent_checkpoint"]["checkpoint_id"] == history[2]["checkpoint"]["checkpoint_id"]
    older = await client.threads.get_history(tid, limit=2, before=history[0]["checkpoint"])
    assert [h["checkpoint"] for h in older] == [h["checkpoint"] for h in history[1:3]]

    with pytest.raises(UnprocessableEntityError):
        await client.threads.update_state(tid, {"outcome": "x"}, as_node="no_such_node")
    with pytest.raises(NotFoundError):
        await client.threads.get("no-such-thread")
    with pytest.raises(NotFoundError):
        await client.threads.get_state(tid, checkpoint_id="no-such-checkpoint")


async def test_identities_are_isolated_and_a_key_is_required(lg_server: LangGraphServer, client: Any) -> None:
    tid = (await client.threads.create(metadata={"owner": "alice"}))["thread_id"]
    async with get_client(url=lg_server.base_url, api_key=KEY_BOB) as bob:
        with pytest.raises(NotFoundError):
            await bob.threads.get(tid)
        with pytest.raises(NotFoundError):
            await _stream(bob, tid, "approve", input={})
        assert tid not in [t["thread_id"] for t in await bob.threads.search(limit=100)]
    async with httpx.AsyncClient(base_url=lg_server.base_url) as raw:
        anonymous = await raw.post("/threads", json={})
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
        wrong = await raw.get(f"/threads/{tid}", headers={"x-api-key": "nope"})
        assert wrong.status_code == 401
        bearer = await raw.get(f"/threads/{tid}", headers={"authorization": f"Bearer {KEY_ALICE}"})
        assert bearer.status_code == 200 and bearer.json()["metadata"]["owner"] == "alice"


# --- background runs, rejoin, wait, cancel -----------------------------------------------------


async def test_background_run_and_join_stream_replays_exactly_what_was_missed(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "tool_review", input={"messages": [{"type": "human", "content": "book the hotel"}]},
                                   stream_mode=["values", "updates"], stream_resumable=True)
    assert run["status"] in ("pending", "running", "success") and run["thread_id"] == tid
    everything = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    ids = [p.id for p in everything if p.id is not None]
    assert len(ids) >= 4 and ids == sorted(ids, key=int)
    cut = ids[1]
    missed = [p async for p in client.runs.join_stream(tid, run["run_id"], last_event_id=cut)]
    after = [p for p in everything if p.id is not None and int(p.id) > int(cut)]
    assert [(p.id, p.event, p.data) for p in missed] == [(p.id, p.event, p.data) for p in after]
    # messages come in LangChain's shape
    values = [p.data for p in everything if p.event == "values"][-1]
    assert [m["type"] for m in values["messages"]] == ["human", "ai"]
    assert values["messages"][1]["tool_calls"][0]["type"] == "tool_call"
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
    assert (await client.threads.get(tid))["status"] == "interrupted"
    listed = await client.runs.list(tid)
    assert run["run_id"] in [r["run_id"] for r in listed]


async def test_join_stream_sends_the_modes_and_namespaces_the_run_was_started_with(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, "subgraph", input={}, stream_mode="values", stream_resumable=True)
    original = [(p.id, p.event) for p in parts]
    assert {e for _, e in original} == {"metadata", "values"}
    assert all(i is not None for i, _ in original)  # the metadata event too: a reconnect cursor
    run_id = parts[0].data["run_id"]
    assert [(p.id, p.event) async for p in client.runs.join_stream(tid, run_id)] == original
    after_metadata = [(p.id, p.event) async for p in client.runs.join_stream(tid, run_id, last_event_id=original[0][0])]
    assert after_metadata == original[1:]
    # the join's stream_mode narrows to the run's modes; one the run was not started with sends nothing
    assert [p.event async for p in client.runs.join_stream(tid, run_id, stream_mode="updates")] == ["metadata"]

    tid2 = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid2, "subgraph", input={}, stream_mode=["values", "updates"], stream_subgraphs=True)
    joined = [p.event async for p in client.runs.join_stream(tid2, run["run_id"])]
    assert any(e.startswith("updates|shipping:") for e in joined) and "values" in joined
    only_updates = [p.event async for p in client.runs.join_stream(tid2, run["run_id"], stream_mode=["updates"])]
    assert only_updates[0] == "metadata" and {e.split("|")[0] for e in only_updates[1:]} == {"updates"}
    assert any("|" in e for e in only_updates)


async def test_rejoin_after_a_restart_keeps_the_runs_stream_modes(tmp_path: Any) -> None:
    db = tmp_path / "restart.sqlite"
    server = launch(db, "--token", f"alice:{KEY_ALICE}")
    try:
        async with get_client(url=server.base_url, api_key=KEY_ALICE) as first:
            tid = (await first.threads.create())["thread_id"]
            parts = await _stream(first, tid, "subgraph", input={}, stream_mode=["updates"])
            before = [(p.id, p.event) for p in parts]
    finally:
        shut_down(server)
    server = launch(db, "--token", f"alice:{KEY_ALICE}")
    try:
        async with get_client(url=server.base_url, api_key=KEY_ALICE) as second:
            again = [(p.id, p.event) async for p in second.runs.join_stream(tid, parts[0].data["run_id"])]
    finally:
        shut_down(server)
    assert {e for _, e in before} == {"metadata", "updates"}
    assert again == before


async def test_input_keys_the_graph_lacks_are_dropped_as_langgraph_does(client: Any) -> None:
    # Agent Chat UI sends `context` beside the messages; LangGraph's server ignores it
    tid = (await client.threads.create())["thread_id"]
    chat = {"messages": [{"type": "human", "content": "book the Ritz"}], "context": {"tz": "UTC"}}
    parts = await _stream(client, tid, "tool_review_chat", input=chat, stream_mode=["values"])
    assert "error" not in [p.event for p in parts]
    assert _interrupts(parts, "values") and "context" not in parts[-1].data
    assert (await client.threads.get(tid))["status"] == "interrupted"
    waited = await client.runs.wait((await client.threads.create())["thread_id"], "approve", input={"request": "r", "extra": 1})
    assert waited["proposal"] == "Refund the customer for: r" and "extra" not in waited
    async with client.threads.stream(assistant_id="approve", headers={"x-api-key": KEY_ALICE}) as thread:  # v3
        await thread.run.start(input={"request": "v3", "context": {}})
        async for _ in thread.values:
            pass
        assert thread.interrupted
    assert (await client.threads.get_state(thread.thread_id))["values"] == {"request": "v3", "proposal": "Refund the customer for: v3"}


async def test_role_content_tuples_reach_add_messages_as_json_arrays(client: Any) -> None:
    # the SDK sends a ("user", "hi") tuple as the JSON array ["user", "hi"]; add_messages reads
    # it as LangGraph's does (langchain_core's convert_to_messages)
    tid = (await client.threads.create())["thread_id"]
    waited = await client.runs.wait(tid, "tool_review", input={"messages": [("user", "hi"), ["user", "who are you?"]]})
    assert [(m["type"], m["content"]) for m in waited["messages"]][:2] == [("human", "hi"), ("human", "who are you?")]
    assert waited["messages"][-1]["type"] == "ai" and "book" in waited["messages"][-1]["content"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_runs_wait_returns_state_with_interrupt_then_the_final_values(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(tid, "approve", input={"request": "waiting"})
    assert paused["proposal"] == "Refund the customer for: waiting"
    assert paused["__interrupt__"][0]["value"]["question"] == "Approve this action?"
    final = await client.runs.wait(tid, "approve", command={"resume": "approve"})
    assert final["outcome"].startswith("done") and "__interrupt__" not in final
    run = await client.runs.create(tid, "approve", input=None, multitask_strategy="enqueue")
    joined = await client.runs.join(tid, run["run_id"])
    assert joined["outcome"].startswith("done")


async def test_cancel_an_active_run(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "hold", input={}, stream_mode="updates")
    async for part in client.runs.join_stream(tid, run["run_id"]):
        if part.event == "updates" and "begin" in part.data:
            break  # the run is now inside `hold`, which waits until cancelled
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "running"
    assert (await client.threads.get(tid))["status"] == "busy"
    await client.runs.cancel(tid, run["run_id"], wait=True)
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    assert (await client.threads.get(tid))["status"] != "busy"
    with pytest.raises(ConflictError):
        await client.runs.cancel(tid, run["run_id"])
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, "r-no-such-run")


async def test_errors_are_status_codes_with_detail_and_code(lg_server: LangGraphServer) -> None:
    headers = {"x-api-key": KEY_ALICE}
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=headers) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        not_json = await raw.post(f"/threads/{tid}/runs/stream", content=b"approve please")
        assert not_json.status_code == 422 and not_json.json()["code"] == "bad_json"
        no_assistant = await raw.post(f"/threads/{tid}/runs/stream", json={"input": {}})
        assert no_assistant.status_code == 422 and "assistant_id" in no_assistant.json()["detail"]
        unknown = await raw.post(f"/threads/{tid}/runs/stream", json={"assistant_id": "nope", "input": {}})
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
        rollback = await raw.post(f"/threads/{tid}/runs", json={"assistant_id": "approve", "multitask_strategy": "rollback"})
        assert rollback.status_code == 422
        bad_mode = await raw.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approve", "stream_mode": 3})
        assert bad_mode.status_code == 422
        missing = await raw.post("/threads/unknown-thread/runs/stream", json={"assistant_id": "approve", "input": {}})
        assert missing.status_code == 404
        created = await raw.post("/threads/fresh-by-run/runs/wait", json={"assistant_id": "approve", "input": {}, "if_not_exists": "create"})
        assert created.status_code == 200 and "__interrupt__" in created.json()
        stream = await raw.post(f"/threads/{tid}/runs/stream", json={"assistant_id": "approve", "input": {"request": "r"}})
        assert stream.headers["content-type"].startswith("text/event-stream")
        run_id = stream.headers["content-location"].rsplit("/", 1)[1]
        assert stream.headers["content-location"] == f"/threads/{tid}/runs/{run_id}"
        assert stream.text.startswith("id: ") and "\nevent: metadata\ndata: " in stream.text.split("\n\n")[0]
        # the UI's catch-all does not take these paths, and still serves the UI
        assert (await raw.get("/chat/")).status_code == 200


async def test_fields_with_a_list_of_values_are_checked_as_langgraph_does(lg_server: LangGraphServer) -> None:
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers={"x-api-key": KEY_ALICE}) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        run = {"assistant_id": "approve", "input": {"request": "r"}}
        for field, value in [("if_not_exists", "bogus"), ("on_disconnect", "bogus"), ("durability", "never"),
                             ("stream_mode", "bogus"), ("stream_mode", ["values", "bogus"]), ("webhook", "not a url"),
                             ("webhook", "https://example.com/hook")]:
            refused = await raw.post(f"/threads/{tid}/runs/wait", json={**run, field: value})
            assert refused.status_code == 422 and refused.json()["path"] == field, (field, value, refused.text)
        assert "not supported" in refused.json()["detail"]  # a webhook, even a valid one: never called
        assert (await raw.get(f"/threads/{tid}/runs")).json() == []  # nothing was run
        accepted = await raw.post(f"/threads/{tid}/runs/wait", json={**run, "stream_mode": ["events", "tools"], "durability": "sync"})
        assert accepted.status_code == 200  # LangGraph's other modes: accepted, they send nothing
        for query in ("limit=-5", "offset=-1", "limit=abc", "status=bogus"):
            listed = await raw.get(f"/threads/{tid}/runs?{query}")
            assert listed.status_code == 422 and listed.json()["path"] == query.split("=")[0], query
        assert (await raw.get(f"/threads/{tid}/runs?status=success&limit=1")).status_code == 200
        bad_status = await raw.post("/threads/search", json={"status": "bogus"})
        assert bad_status.status_code == 422 and bad_status.json()["path"] == "status"
        bad_values = await raw.post("/threads/search", json={"values": "x"})
        assert bad_values.status_code == 422 and bad_values.json()["path"] == "values" and "values" in bad_values.json()["detail"]
        bad_if_exists = await raw.post("/threads", json={"thread_id": tid, "if_exists": "bogus"})
        assert bad_if_exists.status_code == 422 and bad_if_exists.json()["path"] == "if_exists"


async def test_busy_thread_says_multitask_strategy(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "hold", input={})
    with pytest.raises(ConflictError) as busy:
        await client.runs.create(tid, "hold", input={}, multitask_strategy="reject")
    assert "multitask_strategy='enqueue'" in str(busy.value) and "if_busy" not in str(busy.value)
    async with httpx.AsyncClient(base_url=client.http.client.base_url, headers={"x-api-key": KEY_ALICE}) as raw:
        v3 = (await raw.post(f"/threads/{tid}/commands", json={"id": 1, "method": "run.start", "params": {"assistant_id": "hold", "input": {}}})).json()
    assert v3["type"] == "error" and "multitask_strategy" in v3["message"] and "if_busy" not in v3["message"]
    await client.runs.cancel(tid, run["run_id"], wait=True)


async def test_another_identitys_thread_id_cannot_be_taken_and_is_not_described(lg_server: LangGraphServer, client: Any) -> None:
    tid = (await client.threads.create(metadata={"secret": "alice's"}))["thread_id"]
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers={"x-api-key": KEY_BOB}) as bob:
        for body in ({"thread_id": tid}, {"thread_id": tid, "if_exists": "do_nothing"}, {"thread_id": tid, "if_exists": "raise"}):
            taken = await bob.post("/threads", json=body)
            assert taken.status_code == 403 and taken.json()["code"] == "forbidden", taken.text
            assert "secret" not in taken.text and "exists" not in taken.json()["detail"]
        by_run = await bob.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approve", "input": {}, "if_not_exists": "create"})
        assert by_run.status_code == 403 and by_run.json()["code"] == "forbidden"
        assert (await bob.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approve", "input": {}})).status_code == 404
        assert (await bob.get(f"/threads/{tid}")).status_code == 404
    assert (await client.threads.get(tid))["metadata"] == {"secret": "alice's"}  # untouched


async def test_cors_preflight_from_the_allow_list_only(lg_server: LangGraphServer) -> None:
    async with httpx.AsyncClient(base_url=lg_server.base_url) as raw:
        ask = {"origin": UI_ORIGIN, "access-control-request-method": "POST",
               "access-control-request-headers": "content-type,x-api-key"}
        ok = await raw.options("/threads/search", headers=ask)
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "x-api-key" in ok.headers["access-control-allow-headers"]
        assert "POST" in ok.headers["access-control-allow-methods"]
        other = await raw.options("/threads/search", headers={**ask, "origin": "http://evil.example"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
        real = await raw.post("/threads/search", json={}, headers={"origin": UI_ORIGIN, "x-api-key": KEY_ALICE})
        assert real.status_code == 200 and real.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "content-location" in real.headers["access-control-expose-headers"]


async def test_agent_chat_ui_flow_hitl_middleware_review(client: Any) -> None:
    """What Agent Chat UI sends: LangChain-shaped messages, values + messages-tuple + custom,
    resumable streams, then ``{decisions}`` with the interrupted checkpoint in the body."""
    tid = (await client.threads.create())["thread_id"]
    first = {"messages": [{"type": "human", "content": "book the Ritz", "id": "m-1"}]}
    modes = ["values", "messages-tuple", "custom"]
    parts = await _stream(client, tid, "tool_review_chat", input=first, stream_mode=modes,
                          stream_subgraphs=True, stream_resumable=True, on_disconnect="continue")
    chunks = [p.data for p in parts if p.event == "messages"]
    assert chunks and chunks[0][0]["type"] == "AIMessageChunk" and "langgraph_node" in chunks[0][1]
    [review] = _interrupts(parts, "values")
    assert review["value"]["action_requests"][0] == {"name": "book_hotel", "args": {"hotel_name": "the Ritz"}, "description": "Please review the tool call"}
    assert review["value"]["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    history = await client.threads.get_history(tid, limit=10)
    head = history[0]
    assert head["tasks"][0]["interrupts"][0]["id"] == review["id"] and head["next"] == ["tools"]
    edit = {"type": "edit", "edited_action": {"name": "book_hotel", "args": {"hotel_name": "the Savoy", "nights": 2}}}
    done = await _stream(client, tid, "tool_review_chat", command={"resume": {"decisions": [edit]}},
                         checkpoint=head["checkpoint"], stream_mode=modes, stream_resumable=True)
    messages = [p.data for p in done if p.event == "values"][-1]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[2]["content"] == "Successfully booked 2 night(s) at the Savoy."
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_on_disconnect_cancel_cancels_the_run_when_the_stream_is_dropped(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    run_id = None
    async for part in client.runs.stream(tid, "hold", input={}, stream_mode="updates", on_disconnect="cancel"):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        if part.event == "updates" and "begin" in part.data:
            break  # the client goes away while `hold` runs
    assert run_id is not None
    await client.runs.join(tid, run_id)  # returns once the run ended
    assert (await client.runs.get(tid, run_id))["status"] == "interrupted"
    # without on_disconnect=cancel a dropped stream leaves the run going (LangGraph's "continue")
    tid2 = (await client.threads.create())["thread_id"]
    async for part in client.runs.stream(tid2, "hold", input={}, stream_mode="updates", on_disconnect="continue"):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        if part.event == "updates" and "begin" in part.data:
            break
    assert (await client.runs.get(tid2, run_id))["status"] == "running"
    await client.runs.cancel(tid2, run_id, wait=True)


async def test_agent_inbox_flow_accept_and_ignore(client: Any) -> None:
    """What Agent Inbox sends: search interrupted threads by graph, read ``thread.interrupts``,
    answer with a ``[HumanResponse]`` in a background run, or ignore with an ``__end__`` update."""
    asked = {"messages": [{"role": "user", "content": "book the Ritz"}]}
    accept_tid = (await client.threads.create())["thread_id"]
    ignore_tid = (await client.threads.create())["thread_id"]
    for tid in (accept_tid, ignore_tid):
        await client.runs.wait(tid, "tool_review", input=asked)
    inbox = await client.threads.search(status="interrupted", metadata={"graph_id": "tool_review"}, limit=100)
    assert {accept_tid, ignore_tid} <= {t["thread_id"] for t in inbox}
    thread = await client.threads.get(accept_tid)
    [request] = next(iter(thread["interrupts"].values()))[0]["value"]
    assert request["action_request"] == {"action": "book_hotel", "args": {"hotel_name": "the Ritz"}}
    run = await client.runs.create(accept_tid, "tool_review", command={"resume": [{"type": "accept", "args": None}]})
    final = await client.runs.join(accept_tid, run["run_id"])
    assert final["messages"][2]["content"] == "Successfully booked 1 night(s) at the Ritz."
    await client.threads.update_state(ignore_tid, None, as_node="__end__")
    ignored = await client.threads.get(ignore_tid)
    assert ignored["status"] == "idle" and ignored["interrupts"] == {}
