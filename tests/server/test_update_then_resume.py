"""The review-UI flow over the wire: `update_state` on a thread paused at an interrupt keeps the
question pending (same id), and `resume` then answers it; with parallel questions too."""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import Wire


def paused(wire: Wire, graph: str, input: Any) -> tuple[str, list[dict[str, Any]]]:
    tid = wire.request("start_run", graph=graph, input=input, stream_modes=["updates"])["thread_id"]
    end = wire.run_end(tid)
    assert end["event"] == "run_interrupted"
    interrupts = [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]
    return tid, interrupts


def test_edit_the_state_then_answer(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid, [question] = paused(wire, "review_edit", {"text": "otters hold hands while they sleep"})
        wire.request("update_state", thread_id=tid, values={"text": "edited by a reviewer"})
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["text"] == "edited by a reviewer"
        assert [i["id"] for i in state["interrupts"]] == [question["id"]]
        threads = wire.request("list_threads")["threads"]
        mine = next(t for t in threads if t["thread_id"] == tid)
        assert mine["status"] == "interrupted"

        resumed = wire.request("resume", thread_id=tid, value={"summary": "Otters sleep holding hands."})
        assert resumed["answered"] == [question["id"]]
        assert wire.run_end(tid)["event"] == "run_done"
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert values["published"] == "Published: Otters sleep holding hands."
        assert values["text"] == "edited by a reviewer"


def test_edit_between_two_parallel_answers(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid, pending = paused(wire, "parallel", {"doc": "contract.pdf"})
        by_node = {i["node"]: i["id"] for i in pending}
        wire.request("resume", thread_id=tid, interrupt_id=by_node["legal"], value="signed", stream_modes=["updates"])
        assert wire.run_end(tid)["event"] == "run_interrupted"

        wire.request("update_state", thread_id=tid, values={"doc": "contract-v2.pdf"}, as_node="__start__")
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["id"] for i in state["interrupts"]] == [by_node["finance"]]
        assert state["values"]["legal"] == "signed"

        wire.request("resume", thread_id=tid, answers={by_node["finance"]: "10k"}, stream_modes=["updates"])
        assert wire.run_end(tid)["event"] == "run_done"
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert values["verdict"] == "legal=signed; finance=10k"
        assert values["doc"] == "contract-v2.pdf"


def test_update_as_the_interrupted_node_answers_for_it(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid, [question] = paused(wire, "review_edit", {"text": "a b c"})
        wire.request("update_state", thread_id=tid, values={"summary": "by hand"}, as_node="human_edit")
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["interrupts"] == [] and state["next"] == ["publish"]
        refused = wire.error("resume", thread_id=tid, value="late")
        assert refused["code"] == "nothing_pending"


def test_two_connections_edit_then_answer_the_same_question(make_client: Any) -> None:
    """One reviewer edits and answers; a second, answering the same question too, is told it
    was already answered — the question is answered once, with the first answer."""
    with make_client(demo_graphs()) as client, connect(client) as first, connect(client) as second:
        tid, [question] = paused(first, "review_edit", {"text": "a b c"})
        second.request("subscribe", thread_id=tid)
        second.request("update_state", thread_id=tid, values={"text": "edited"})
        first.request("resume", thread_id=tid, interrupt_id=question["id"], value="first answer")
        late = second.error("resume", thread_id=tid, interrupt_id=question["id"], value="second answer")
        assert late["code"] in ("already_answered", "thread_busy", "nothing_pending")
        assert first.run_end(tid)["event"] == "run_done"
        values = first.request("get_state", thread_id=tid)["state"]["values"]
        assert values["summary"] == "first answer" and values["text"] == "edited"


def test_update_state_with_bad_values_keeps_the_question(make_client: Any) -> None:
    """An update the state cannot take is refused and changes nothing: the question still waits."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid, [question] = paused(wire, "review_edit", {"text": "a b c"})
        refused = wire.error("update_state", thread_id=tid, values={"no_such_key": 1})
        assert refused["code"] == "invalid_argument"
        refused = wire.error("update_state", thread_id=tid, values="plain text")
        assert refused["code"] == "invalid_argument"
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["id"] for i in state["interrupts"]] == [question["id"]]
        assert wire.request("resume", thread_id=tid, value="ok")["answered"] == [question["id"]]
        assert wire.run_end(tid)["event"] == "run_done"
