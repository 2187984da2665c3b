"""``POST /threads {supersteps}`` and ``update_state`` on a thread made with a ``graph_id`` (the
LangGraph API): the thread gets the state LangGraph 1.2.22 gives the same updates in process,
and what streamhil cannot apply is refused with 422 before anything is made."""

from __future__ import annotations

import importlib
import uuid
from typing import Any, TypedDict

import anyio
import pytest
from starlette.testclient import TestClient

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

ALICE = {"x-api-key": "alice-token"}
BOB = {"x-api-key": "bob-token"}


class S(TypedDict, total=False):
    request: str
    proposal: str
    outcome: str


def review_graph(library: str, checkpointer: Any = None) -> Any:
    """``propose`` → ``review`` (asks) → END, built with ``library`` (langgraph or streamhil)."""
    graph = importlib.import_module(f"{library}.graph")
    interrupt = importlib.import_module(f"{library}.types").interrupt

    def propose(state: S) -> S:
        return {"proposal": f"refund {state.get('request', '?')}"}

    def review(state: S) -> S:
        return {"outcome": f"{interrupt('ok?')}: {state['proposal']}"}

    builder = graph.StateGraph(S)
    builder.add_node("propose", propose)
    builder.add_node("review", review)
    builder.add_edge(graph.START, "propose")
    builder.add_edge("propose", "review")
    builder.add_edge("review", graph.END)
    return builder.compile(checkpointer=checkpointer)


def langgraph_after(updates: list[tuple[Any, str]], then_run: bool) -> tuple[Any, list[str]]:
    """The values and next nodes LangGraph gives a new thread after ``updates`` (and a run with
    input None, if ``then_run``)."""
    from langgraph.checkpoint.memory import InMemorySaver

    graph = review_graph("langgraph", InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}

    async def apply() -> tuple[Any, list[str]]:
        for values, as_node in updates:
            await graph.aupdate_state(config, values, as_node=as_node)
        if then_run:
            await graph.ainvoke(None, config)
        state = await graph.aget_state(config)
        return state.values, list(state.next)

    return anyio.run(apply)


@pytest.fixture
def client(make_client: Any) -> Any:
    with make_client({"review": review_graph("streamhil")}) as c:
        yield c


def _superstep(values: Any, as_node: str) -> dict[str, Any]:
    return {"updates": [{"values": values, "command": None, "as_node": as_node}]}  # as langgraph-sdk sends it


SEEDS = [
    pytest.param([({"request": "order 42"}, "__input__")], True, id="input-then-run"),
    pytest.param([({"request": "order 42", "proposal": "refund it"}, "propose")], False, id="as-a-node"),
    pytest.param([({"request": "order 7"}, "propose"), ({"outcome": "done"}, "review")], False, id="two-supersteps"),
]


@pytest.mark.parametrize(("updates", "then_run"), SEEDS)
def test_a_thread_created_with_supersteps_has_langgraphs_state(client: TestClient, updates: list[tuple[Any, str]], then_run: bool) -> None:
    body = {"metadata": {"graph_id": "review", "user": "alice"}, "supersteps": [_superstep(v, n) for v, n in updates]}
    made = client.post("/threads", json=body, headers=ALICE)
    assert made.status_code == 200, made.text
    tid = made.json()["thread_id"]
    assert made.json()["metadata"] == {"graph_id": "review", "user": "alice", "assistant_id": made.json()["metadata"]["assistant_id"]}
    if then_run:
        ran = client.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "review", "input": None}, headers=ALICE)
        assert ran.status_code == 200, ran.text
    state = client.get(f"/threads/{tid}/state", headers=ALICE).json()
    assert (state["values"], state["next"]) == langgraph_after(updates, then_run)
    assert client.get(f"/threads/{tid}", headers=BOB).status_code == 404


def test_update_state_on_a_thread_made_with_a_graph_id(client: TestClient) -> None:
    tid = client.post("/threads", json={"metadata": {"graph_id": "review"}}, headers=ALICE).json()["thread_id"]
    assert client.post(f"/threads/{tid}/state", json={"values": {"request": "x"}}, headers=BOB).status_code == 404
    updated = client.post(f"/threads/{tid}/state", json={"values": {"request": "x"}, "as_node": "propose"}, headers=ALICE)
    assert updated.status_code == 200, updated.text
    state = client.get(f"/threads/{tid}/state", headers=ALICE).json()
    assert (state["values"], state["next"]) == langgraph_after([({"request": "x"}, "propose")], False)
    assert state["checkpoint"]["checkpoint_id"] == updated.json()["checkpoint"]["checkpoint_id"]
    ran = client.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "review", "input": None}, headers=ALICE)
    assert ran.json()["__interrupt__"][0]["value"] == "ok?"


def test_update_state_on_a_thread_without_a_graph_says_how_to_give_it_one(client: TestClient) -> None:
    tid = client.post("/threads", json={}, headers=ALICE).json()["thread_id"]
    refused = client.post(f"/threads/{tid}/state", json={"values": {"request": "x"}}, headers=ALICE)
    assert refused.status_code == 422 and "graph_id" in refused.json()["detail"]
    unknown = client.post("/threads", json={"metadata": {"graph_id": "nope"}}, headers=ALICE).json()["thread_id"]
    refused = client.post(f"/threads/{unknown}/state", json={"values": {"request": "x"}}, headers=ALICE)
    assert refused.status_code == 422 and "'nope'" in refused.json()["detail"]


REFUSED = [
    pytest.param({"metadata": {"user": "alice"}, "supersteps": [_superstep({"request": "x"}, "propose")]}, "metadata.graph_id", id="no-graph-id"),
    pytest.param({"metadata": {"graph_id": "nope"}, "supersteps": [_superstep({"request": "x"}, "propose")]}, "metadata.graph_id", id="unknown-graph"),
    pytest.param({"metadata": {"graph_id": "review"}, "supersteps": {"updates": []}}, "supersteps", id="not-a-list"),
    pytest.param({"metadata": {"graph_id": "review"}, "supersteps": [{"updates": []}]}, "supersteps[0].updates", id="no-updates"),
    pytest.param(
        {"metadata": {"graph_id": "review"}, "supersteps": [{"updates": [{"values": {"request": "a"}, "as_node": "propose"},
                                                           {"values": {"outcome": "b"}, "as_node": "review"}]}]},
        "supersteps[0].updates", id="two-updates-in-one-superstep",
    ),
    pytest.param(
        {"metadata": {"graph_id": "review"}, "supersteps": [{"updates": [{"values": None, "command": {"goto": "review"}, "as_node": "propose"}]}]},
        "supersteps[0].updates[0].command", id="command",
    ),
    pytest.param({"metadata": {"graph_id": "review"}, "supersteps": [_superstep({"request": "x"}, "nope")]}, "supersteps[0].updates[0].as_node", id="unknown-node"),
    pytest.param(
        {"metadata": {"graph_id": "review"}, "supersteps": [_superstep({"request": "x"}, "propose"), _superstep({"bogus": 1}, "review")]},
        "supersteps[1].updates[0].values.bogus", id="unknown-key",
    ),
]


@pytest.mark.parametrize(("body", "path"), REFUSED)
def test_supersteps_streamhil_cannot_apply_are_refused_and_nothing_is_made(client: TestClient, body: dict[str, Any], path: str) -> None:
    tid = str(uuid.uuid4())
    refused = client.post("/threads", json={"thread_id": tid, **body}, headers=ALICE)
    assert refused.status_code == 422, refused.text
    assert refused.json()["path"] == path, refused.json()
    assert client.get(f"/threads/{tid}", headers=ALICE).status_code == 404
