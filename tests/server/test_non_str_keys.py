"""State with dict keys that are not str (``{"scores": {1: 0.5}}``) over the WebSocket server: the
wire shows the keys as JSON object keys (strings), the server's storage keeps them as they were,
so a node that runs after a restart still sees int keys (LangGraph stores such state too)."""

from __future__ import annotations

from typing import Any, TypedDict


from streamhil.graph import END, START, StateGraph
from streamhil.types import interrupt

from .conftest import connect


class Scores(TypedDict, total=False):
    scores: dict[Any, float]
    seen: list[str]


def scores_graph() -> Any:
    def score(state: Scores) -> Scores:
        return {"scores": {1: 0.5, 2: 0.7, 2.5: 0.9}}

    def check(state: Scores) -> Scores:
        interrupt("go on?")
        return {"seen": [f"{type(k).__name__}:{k!r}" for k in state["scores"]]}

    g = StateGraph(Scores)
    g.add_node("score", score)
    g.add_node("check", check)
    g.add_edge(START, "score")
    g.add_edge("score", "check")
    g.add_edge("check", END)
    return g.compile()


def test_int_keys_are_stored_and_sent_as_json_keys(make_client: Any, db: str) -> None:
    graphs = {"scores": scores_graph()}
    with make_client(graphs, db=db) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="scores", input={}, stream_modes=["values", "updates"])["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted", end
        updates = [e["data"] for e in wire.thread_events(tid) if e["event"] == "updates"]
        on_wire = {"1": 0.5, "2": 0.7, "2.5": 0.9}  # JSON object keys are strings
        assert updates[0] == {"score": {"scores": on_wire}}
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["scores"] == on_wire
    # A new server on the same storage: the node that runs now reads the stored keys.
    with make_client(graphs, db=db) as client, connect(client) as wire:
        wire.request("resume", thread_id=tid, value=True)
        assert wire.run_end(tid)["event"] == "run_done"
        seen = wire.request("get_state", thread_id=tid)["state"]["values"]["seen"]
        assert seen == ["int:1", "int:2", "float:2.5"]
