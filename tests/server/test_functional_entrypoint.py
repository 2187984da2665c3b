"""An ``@entrypoint`` workflow served like any compiled graph: started over the WebSocket, its
interrupts (the entrypoint's own and one inside a ``@task``) answered, and finished, with each
finished task run once."""

from __future__ import annotations

from typing import Any

from streamhil.func import entrypoint, task
from streamhil.types import interrupt

from .conftest import connect
from .wire import Wire


def review_workflow() -> tuple[Any, dict[str, int]]:
    runs = {"compose": 0, "confirm": 0}

    @task
    def compose(topic: str) -> str:
        runs["compose"] += 1
        return f"An essay about {topic}"

    @task
    def confirm(essay: str) -> Any:
        runs["confirm"] += 1
        return interrupt({"question": "Publish?", "essay": essay})

    @entrypoint()
    def review(topic: str) -> dict[str, Any]:
        essay = compose(topic).result()
        review = interrupt({"question": "Your review?", "essay": essay})
        publish = confirm(essay).result()
        return {"essay": essay, "review": review, "publish": publish}

    return review, runs


def interrupts_of_last_run(wire: Wire, tid: str) -> list[dict[str, Any]]:
    return [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]


def test_entrypoint_with_interrupts_is_started_answered_and_finished(make_client: Any) -> None:
    graph, runs = review_workflow()
    with make_client({"review": graph}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="review", input="otters", stream_modes=["updates"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        first = interrupts_of_last_run(wire, tid)
        assert [(i["node"], i["value"]["question"]) for i in first] == [("review", "Your review?")]
        updates = [e["data"] for e in wire.thread_events(tid) if e["event"] == "updates"]
        assert {"compose": "An essay about otters"} in updates

        wire.request("resume", thread_id=tid, value="Lovely", stream_modes=["updates"])
        assert wire.run_end(tid)["event"] == "run_interrupted"
        second = interrupts_of_last_run(wire, tid)
        assert [(i["node"], i["value"]["question"]) for i in second] == [("confirm", "Publish?")]

        wire.request("resume", thread_id=tid, interrupt_id=second[0]["id"], value=True, stream_modes=["updates"])
        assert wire.run_end(tid)["event"] == "run_done"
        final = {"essay": "An essay about otters", "review": "Lovely", "publish": True}
        updates = [e["data"] for e in wire.thread_events(tid) if e["event"] == "updates"]
        assert updates[-1] == {"review": final}
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"] == final and state["next"] == [] and state["interrupts"] == []
    assert runs == {"compose": 1, "confirm": 2}
