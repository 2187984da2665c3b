"""A run's context (LangGraph's ``context=``) over the wire: ``start_run``'s and ``resume``'s
``context`` and the LangGraph API's run ``context`` reach the nodes as ``runtime.context``,
coerced to the graph's ``context_schema``; a run without one has none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamhil import END, START, StateGraph, interrupt
from streamhil.runtime import Runtime
from typing_extensions import TypedDict

from .conftest import connect


@dataclass
class Ctx:
    user: str = "nobody"


class S(TypedDict, total=False):
    seen: str


def _reads_context(*, asks: bool = False) -> Any:
    """A node that records the run's context (after asking a question, with ``asks``)."""

    def node(state: S, runtime: Runtime[Ctx]) -> S:
        if asks:
            interrupt("go on?")
        ctx = runtime.context
        return {"seen": "none" if ctx is None else f"{type(ctx).__name__}:{ctx.user}"}

    g = StateGraph(S, context_schema=Ctx)
    g.add_node("node", node)
    g.add_edge(START, "node")
    g.add_edge("node", END)
    return g.compile()


def test_start_run_context_reaches_the_nodes(make_client: Any) -> None:
    with make_client({"ctx": _reads_context()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="ctx", input={}, context={"user": "ada"}, stream_modes=["values"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["seen"] == "Ctx:ada"
        again = wire.request("start_run", graph="ctx", thread_id=tid, input={}, stream_modes=["values"])
        assert wire.run_end(tid, again["run_id"])["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["seen"] == "none"  # per run, as in LangGraph


def test_the_langgraph_api_runs_context_reaches_the_nodes(make_client: Any) -> None:
    with make_client({"ctx": _reads_context()}) as client:
        key = {"x-api-key": "alice-token"}
        tid = client.post("/threads", json={}, headers=key).json()["thread_id"]
        out = client.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "ctx", "input": {}, "context": {"user": "grace"}}, headers=key)
        assert out.status_code == 200 and out.json()["seen"] == "Ctx:grace"


def test_an_answers_run_has_the_context_the_answer_gives(make_client: Any) -> None:
    with make_client({"ask": _reads_context(asks=True)}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="ask", input={}, context={"user": "ada"}, stream_modes=[])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        answer = wire.request("resume", thread_id=tid, value="yes", context={"user": "lin"}, stream_modes=[])
        assert wire.run_end(tid, answer["run_id"])["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["seen"] == "Ctx:lin"


def test_the_langgraph_api_command_runs_context_reaches_the_nodes(make_client: Any) -> None:
    with make_client({"ask": _reads_context(asks=True)}) as client:
        key = {"x-api-key": "alice-token"}
        tid = client.post("/threads", json={}, headers=key).json()["thread_id"]
        asked = client.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "ask", "input": {}}, headers=key)
        assert asked.status_code == 200 and "__interrupt__" in asked.json()
        body = {"assistant_id": "ask", "command": {"resume": "yes"}, "context": {"user": "grace"}}
        out = client.post(f"/threads/{tid}/runs/wait", json=body, headers=key)
        assert out.status_code == 200 and out.json()["seen"] == "Ctx:grace"
