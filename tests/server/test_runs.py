"""Runs over one connection: start, interrupt, resume (ack before events), busy policies, cancel."""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .graphs import Gate, counter, failing, gated, odd_values, two_questions
from .wire import Wire, check_seqs


def start(wire: Wire, graph: str, input: Any = None, **fields: Any) -> dict[str, Any]:
    return wire.request("start_run", graph=graph, input=input, **fields)


def test_publish_transcript(make_client: Any) -> None:
    """The protocol's worked example: two interrupts, a stale answer, a refused start_run."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        result = start(wire, "publish", {"topic": "otters"}, stream_modes=["updates"])
        tid = result["thread_id"]
        assert result["seq"] == 0 and result["queued"] is False
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted"
        kinds = [e["event"] for e in wire.thread_events(tid)]
        assert kinds == ["run_started", "updates", "updates", "interrupt", "run_interrupted"]
        interrupt = wire.thread_events(tid)[3]["data"]["interrupts"][0]
        assert interrupt["node"] == "review" and interrupt["ns"] == []
        assert interrupt["value"] == {"question": "Approve the draft?", "kind": "approve", "draft": "Otters hold hands."}
        first_id = interrupt["id"]

        resumed = wire.request("resume", thread_id=tid, value={"approved": True}, stream_modes=["updates"])
        assert resumed["answered"] == [first_id]
        assert resumed["seq"] == 5  # the head when accepted: every event of the run comes after
        # the reply came before any event of the new run
        assert not [e for e in wire.events if e["seq"] > 5]
        wire.run_end(tid)
        second = [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]
        assert [i["value"] for i in second] == [{"question": "Which channel?"}]

        stale = wire.error("resume", thread_id=tid, interrupt_id=first_id, value={"approved": False})
        assert stale["code"] == "already_answered" and stale["details"]["interrupt_ids"] == [first_id]

        refused = wire.error("start_run", graph="publish", thread_id=tid, input={"topic": "seals"})
        assert refused["code"] == "interrupt_pending"
        assert refused["details"]["interrupt_ids"] == [second[0]["id"]]
        assert "resume" in refused["message"]

        wire.request("resume", thread_id=tid, interrupt_id=second[0]["id"], value="blog", stream_modes=["updates"])
        done = wire.run_end(tid)
        assert done["event"] == "run_done"
        updates = [e["data"] for e in wire.thread_events(tid) if e["event"] == "updates"]
        assert updates[-1] == {"post": {"channel": "blog", "posted": True}}
        check_seqs(wire.events)
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["channel"] == "blog" and state["next"] == [] and state["interrupts"] == []


def test_parallel_interrupts_answered_one_at_a_time(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "parallel", {"doc": "contract.pdf"}, stream_modes=["updates"])["thread_id"]
        wire.run_end(tid)
        pending = wire.thread_events(tid)[-2]["data"]["interrupts"]
        by_node = {i["node"]: i["id"] for i in pending}
        assert set(by_node) == {"legal", "finance"}

        ambiguous = wire.error("resume", thread_id=tid, value="yes")
        assert ambiguous["code"] == "ambiguous_resume"
        assert sorted(ambiguous["details"]["interrupt_ids"]) == sorted(by_node.values())

        wire.request("resume", thread_id=tid, interrupt_id=by_node["legal"], value="signed", stream_modes=["updates"])
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["data"]["interrupt_ids"] == [by_node["finance"]]
        run_events = [e for e in wire.thread_events(tid) if e["run_id"] == end["run_id"]]
        assert {"legal": {"legal": "signed"}} in [e["data"] for e in run_events]
        again = [e for e in run_events if e["event"] == "interrupt"][0]["data"]["interrupts"]
        assert [i["id"] for i in again] == [by_node["finance"]]  # same id as before

        wire.request("resume", thread_id=tid, answers={by_node["finance"]: "approved: 10k"}, stream_modes=["updates"])
        assert wire.run_end(tid)["event"] == "run_done"
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["verdict"] == "legal=signed; finance=approved: 10k"


def test_interrupt_inside_subgraph_has_its_namespace(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "subgraph", {"item": "a lamp"})["thread_id"]
        wire.run_end(tid)
        (interrupt,) = [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][0]["data"]["interrupts"]
        assert interrupt["node"] == "ask_address"
        assert len(interrupt["ns"]) == 1 and interrupt["ns"][0].startswith("shipping:")
        assert any(e["ns"] and e["ns"][0].startswith("shipping:") for e in wire.thread_events(tid))
        wire.request("resume", thread_id=tid, value="  1 main street ")
        assert wire.run_end(tid)["event"] == "run_done"
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["confirmation"] == "a lamp ships to 1 Main Street"


def test_multi_turn_and_validation_loops(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        chat = start(wire, "multi_turn", {"messages": []})["thread_id"]
        age = start(wire, "validation", {})["thread_id"]
        wire.run_end(chat)
        wire.run_end(age)
        for text in ["hello there", "streamhil", "bye"]:
            wire.request("resume", thread_id=chat, value=text)
            wire.run_end(chat)
        for answer, valid in [("old", False), (-3, False), ("42", True)]:
            wire.request("resume", thread_id=age, value=answer)
            end = wire.run_end(age)
            assert (end["event"] == "run_done") is valid
            if not valid:
                question = [e for e in wire.thread_events(age) if e["event"] == "interrupt"][-1]["data"]["interrupts"][0]
                assert "not a valid age" in question["value"]["error"]
        state = wire.request("get_state", thread_id=chat)["state"]
        assert [m["content"] for m in state["values"]["messages"] if m["role"] == "user"] == ["hello there", "streamhil", "bye"]
        assert state["values"]["messages"][-1]["content"] == "Goodbye!"
        assert wire.request("get_state", thread_id=age)["state"]["values"] == {"age": 42}
        check_seqs(wire.events)


def test_busy_thread_policies(make_client: Any) -> None:
    gate = Gate()
    with make_client({"gated": gated(gate), "counter": counter()}) as client, connect(client) as wire:
        tid = start(wire, "gated", {"n": 0}, stream_modes=["custom"])["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")  # the run is inside "work"
        busy = wire.error("start_run", graph="gated", thread_id=tid, input={"n": 5})
        assert busy["code"] == "thread_busy" and busy["details"]["run_id"]
        queued = wire.request("start_run", graph="gated", thread_id=tid, input={"n": 5}, if_busy="enqueue")
        assert queued["queued"] is True
        threads = wire.request("list_threads")["threads"]
        assert [t["status"] for t in threads if t["thread_id"] == tid] == ["running"]
        wire.call(gate.open)
        first = wire.run_end(tid)
        assert first["event"] == "run_interrupted"
        # the queued run starts after the first ends and is refused: the thread now waits for an answer
        second = wire.run_end(tid)
        assert second["run_id"] == queued["run_id"]
        assert second["event"] == "run_error" and second["data"]["code"] == "interrupt_pending"
        kinds = [(e["run_id"], e["event"]) for e in wire.thread_events(tid) if e["event"].startswith("run_")]
        assert kinds[-2:] == [(queued["run_id"], "run_started"), (queued["run_id"], "run_error")]


def test_if_busy_interrupt_supersedes_the_active_run(make_client: Any) -> None:
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client, connect(client) as wire:
        first = start(wire, "gated", {"n": 0}, stream_modes=["custom"])
        tid = first["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        second = wire.request("start_run", graph="gated", thread_id=tid, input={"n": 10}, if_busy="interrupt", stream_modes=["custom"])
        cancelled = wire.run_end(tid)
        assert cancelled["run_id"] == first["run_id"]
        assert cancelled["event"] == "run_cancelled" and cancelled["data"] == {"reason": "superseded"}
        wire.until(lambda f: f.get("event") == "custom" and f["run_id"] == second["run_id"])
        wire.call(gate.open)
        end = wire.run_end(tid)
        assert end["run_id"] == second["run_id"] and end["event"] == "run_interrupted"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 11


def test_of_two_superseding_starts_at_once_the_last_wins(make_client: Any) -> None:
    """Two ``if_busy: "interrupt"`` starts sent together: the first takes the active run's place,
    the second takes the first's (as on LangGraph's server: a new "interrupt" run cancels the
    thread's runs in flight). Each superseded run ends with ``run_cancelled`` reason superseded;
    only the last runs on (it used to run after the first had run to its end)."""
    import anyio
    from streamhil.config import get_stream_writer
    from streamhil.graph import START, StateGraph
    from streamhil.types import interrupt

    from .graphs import S

    gate = Gate()

    async def work(state: S) -> S:
        get_stream_writer()({"status": "waiting"})
        with anyio.CancelScope(shield=True):  # the active run cannot stop before the gate opens,
            await gate.wait()  # so both superseding starts arrive while it is still active
        return {"n": state.get("n", 0) + 1}

    builder = StateGraph(S).add_node("work", work).add_node("ask", lambda s: {"answer": interrupt("go on?")})
    graph = builder.add_edge(START, "work").add_edge("work", "ask").compile()
    with make_client({"gated": graph}) as client, connect(client) as wire:
        active = start(wire, "gated", {"n": 0}, stream_modes=["custom"])
        tid = active["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        first_id = wire.send("start_run", graph="gated", thread_id=tid, input={"n": 10}, if_busy="interrupt", stream_modes=["custom"])
        last_id = wire.send("start_run", graph="gated", thread_id=tid, input={"n": 20}, if_busy="interrupt", stream_modes=["custom"])
        first, last = wire.answer(first_id)["result"], wire.answer(last_id)["result"]
        assert first["queued"] and last["queued"]
        wire.call(gate.open)
        ends: dict[str, dict[str, Any]] = {}
        while last["run_id"] not in ends:
            end = wire.run_end(tid)
            ends[end["run_id"]] = end
        assert [(ends[r["run_id"]]["event"], ends[r["run_id"]]["data"]) for r in (active, first)] == [
            ("run_cancelled", {"reason": "superseded"}), ("run_cancelled", {"reason": "superseded"})
        ]
        assert ends[last["run_id"]]["event"] == "run_interrupted"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 21  # the last one's input


def test_cancel_and_disconnect(make_client: Any) -> None:
    gate = Gate()
    with make_client({"gated": gated(gate), "counter": counter()}) as client:
        with connect(client) as wire:
            nothing = start(wire, "counter", {"n": 1})
            wire.run_end(nothing["thread_id"])
            assert wire.error("cancel", thread_id=nothing["thread_id"])["code"] == "no_active_run"
            run = start(wire, "gated", {"n": 0}, stream_modes=["custom"])
            tid = run["thread_id"]
            wire.until(lambda f: f.get("event") == "custom")
            missing = wire.error("cancel", thread_id=tid, run_id="r-nope")
            assert missing["code"] == "not_found" and missing["details"]["resource"] == "run"
            assert wire.request("cancel", thread_id=tid) == {"run_id": run["run_id"], "thread_id": tid}
            end = wire.run_end(tid)
            assert end["event"] == "run_cancelled" and end["data"]["reason"] == "cancelled"
            # disconnect is not cancel: a run started now goes on after this socket closes
            again = start(wire, "gated", None, stream_modes=["custom"], thread_id=tid)
            wire.until(lambda f: f.get("event") == "custom" and f["run_id"] == again["run_id"])
        with connect(client) as wire:
            sub = wire.request("subscribe", thread_id=tid, after=end["seq"])
            assert sub["status"] == "running"
            wire.call(gate.open)
            final = wire.run_end(tid)
            assert final["run_id"] == again["run_id"] and final["event"] == "run_interrupted"
            check_seqs(wire.events)
            assert wire.events[0]["seq"] == end["seq"] + 1


def test_three_threads_interleaved_on_one_connection(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tids = [start(wire, "multi_turn", {"messages": []}, stream_modes=["updates"])["thread_id"] for _ in range(3)]
        for tid in tids:
            wire.run_end(tid)
        for turn in range(2):
            ids = [wire.send("resume", thread_id=tid, value=f"{tid[-4:]} turn {turn}") for tid in tids]
            for id in ids:
                assert wire.answer(id)["type"] == "reply"
            ends = {tid: wire.run_end(tid) for tid in tids}
            assert all(e["event"] == "run_interrupted" for e in ends.values())
        check_seqs(wire.events)
        for tid in tids:
            values = wire.request("get_state", thread_id=tid)["state"]["values"]
            assert [m["content"] for m in values["messages"] if m["role"] == "user"] == [f"{tid[-4:]} turn 0", f"{tid[-4:]} turn 1"]


def test_run_error_and_odd_values(make_client: Any) -> None:
    with make_client({"failing": failing(), "odd": odd_values()}) as client, connect(client) as wire:
        tid = start(wire, "failing", {})["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_error"
        assert end["data"]["error"] == {"type": "ValueError", "message": "boom: the node failed"}
        assert [t["status"] for t in wire.request("list_threads")["threads"] if t["thread_id"] == tid] == ["error"]
        odd = start(wire, "odd", {}, stream_modes=["updates"])["thread_id"]
        assert wire.run_end(odd)["event"] == "run_done"
        update = [e for e in wire.thread_events(odd) if e["event"] == "updates"][0]["data"]
        expected = {"set": [1], "blob": "b'hi'", "amount": "Decimal('1.5')", "when": "2026-01-02T03:04:05"}
        assert update == {"make": {"answer": expected}}
        assert wire.request("get_state", thread_id=odd)["state"]["values"]["answer"] == expected


def test_update_state_history_and_fork(make_client: Any) -> None:
    with make_client({"counter": counter()}) as client, connect(client) as wire:
        tid = start(wire, "counter", {"n": 1})["thread_id"]
        wire.run_end(tid)
        updated = wire.request("update_state", thread_id=tid, values={"n": 40}, as_node="inc")
        event = wire.until(lambda f: f.get("event") == "state_updated")
        assert event["seq"] == updated["seq"] and event["data"] == {"checkpoint_id": updated["checkpoint_id"], "as_node": "inc"}
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 40
        bad = wire.error("update_state", thread_id=tid, values={"n": 1}, as_node="nope")
        assert bad["code"] == "invalid_argument" and bad["path"] == "as_node"
        history = wire.request("get_history", thread_id=tid, limit=10)["history"]
        assert history[0]["checkpoint_id"] == updated["checkpoint_id"]
        first = history[-1]["checkpoint_id"]
        older = wire.request("get_history", thread_id=tid, before=history[0]["checkpoint_id"])["history"]
        assert [h["checkpoint_id"] for h in older] == [h["checkpoint_id"] for h in history[1:]]
        unknown = wire.error("get_state", thread_id=tid, checkpoint_id="nope")
        assert unknown["code"] == "not_found" and unknown["details"] == {"resource": "checkpoint"}
        # fork from the first checkpoint with new input
        fork = wire.request("start_run", graph="counter", thread_id=tid, checkpoint_id=first, input={"n": 100})
        assert wire.run_end(tid)["run_id"] == fork["run_id"]
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["n"] == 101


def test_replaying_a_finished_checkpoint_leaves_a_waiting_interrupt_waiting(make_client: Any) -> None:
    """A replay of a checkpoint with nothing left to run forks nothing: the thread's latest
    checkpoint, which waits for an answer, is what the run's end and the thread's record show."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "publish", {"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value={"approved": True})
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value="blog")
        done = wire.run_end(tid)
        assert done["event"] == "run_done"
        finished = done["data"]["checkpoint_id"]
        start(wire, "publish", {"topic": "seals"}, thread_id=tid)
        asked = wire.run_end(tid)
        assert asked["event"] == "run_interrupted"
        waiting = asked["data"]["interrupt_ids"]
        start(wire, "publish", None, thread_id=tid, checkpoint_id=finished)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["data"]["interrupt_ids"] == waiting
        [listed] = [t for t in wire.request("list_threads")["threads"] if t["thread_id"] == tid]
        assert listed["status"] == "interrupted" and [i["id"] for i in listed["interrupts"]] == waiting
        wire.request("resume", thread_id=tid, value={"approved": True})
        assert wire.run_end(tid)["event"] == "run_interrupted"  # the answer was taken: the next question


def test_a_fork_from_an_older_checkpoint_discards_the_pending_interrupts_and_says_so(make_client: Any) -> None:
    """Time travel while a question waits: naming the latest checkpoint is a plain start_run
    (refused, interrupt_pending); an older one forks, its run_started lists the interrupts it
    discards, and the thread's record, its state and a late answer agree afterwards."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "publish", {"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value={"approved": True})
        waiting = wire.run_end(tid)["data"]["interrupt_ids"]
        history = wire.request("get_history", thread_id=tid, limit=100)["history"]
        at_head = wire.error("start_run", graph="publish", thread_id=tid, input=None, checkpoint_id=history[0]["checkpoint_id"])
        assert at_head["code"] == "interrupt_pending" and at_head["details"]["interrupt_ids"] == waiting
        older = next(s["checkpoint_id"] for s in history if s["next"] == ["draft"])
        fork = start(wire, "publish", None, thread_id=tid, checkpoint_id=older)
        started = wire.until(lambda f: f.get("event") == "run_started" and f["run_id"] == fork["run_id"])
        assert started["data"]["discarded_interrupts"] == waiting
        asked = wire.run_end(tid, fork["run_id"])["data"]["interrupt_ids"]
        assert asked and set(asked).isdisjoint(waiting)
        [listed] = wire.request("list_threads")["threads"]
        assert [i["id"] for i in listed["interrupts"]] == asked
        assert [i["id"] for i in wire.request("get_state", thread_id=tid)["state"]["interrupts"]] == asked
        late = wire.error("resume", thread_id=tid, interrupt_id=waiting[0], value="blog")
        assert late["code"] == "not_found" and late["details"]["resource"] == "interrupt"


def test_static_breakpoint_then_continue(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "review_edit", {"text": "a b c"}, interrupt_before=["human_edit"])["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["data"] == {"interrupt_ids": [], "next": ["human_edit"]}
        assert wire.error("resume", thread_id=tid, value="x")["code"] == "nothing_pending"
        bad = wire.error("start_run", graph="review_edit", interrupt_before=["summarize", "nope"])
        assert bad["code"] == "invalid_argument" and bad["path"] == "interrupt_before[1]"
        start(wire, "review_edit", None, thread_id=tid)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and len(end["data"]["interrupt_ids"]) == 1
        wire.request("resume", thread_id=tid, value={"summary": "edited by a human"})
        assert wire.run_end(tid)["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["published"] == "Published: edited by a human"


def test_list_graphs_and_threads(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        graphs = {g["name"]: g for g in wire.request("list_graphs")["graphs"]}
        assert set(graphs) >= {"approve", "review_edit", "tool_review", "multi_turn", "validation", "parallel", "subgraph"}
        assert "__start__" in graphs["publish"]["nodes"] and graphs["publish"]["description"]
        assert {"source": "draft", "target": "review", "conditional": False} in graphs["publish"]["edges"]
        a = start(wire, "approve", {"request": "order 1"})["thread_id"]
        b = start(wire, "validation", {})["thread_id"]
        wire.run_end(a)
        wire.run_end(b)
        wire.request("resume", thread_id=a, value="approve")
        wire.run_end(a)
        listed = wire.request("list_threads")["threads"]
        assert [t["thread_id"] for t in listed] == [a, b]  # newest update first
        assert {t["thread_id"]: t["status"] for t in listed} == {a: "idle", b: "interrupted"}
        assert listed[1]["interrupts"][0]["value"] == {"question": "What is your age?"}
        assert listed[1]["head_seq"] == wire.thread_events(b)[-1]["seq"]
        only = wire.request("list_threads", status="interrupted")["threads"]
        assert [t["thread_id"] for t in only] == [b]
        assert wire.request("list_threads", graph="approve", limit=1)["threads"][0]["thread_id"] == a
        assert wire.request("get_state", thread_id=a)["state"]["values"]["outcome"].startswith("done: Refund")
        assert wire.request("ping", payload={"x": [1, 2]}) == {"payload": {"x": [1, 2]}}


def test_tool_review_agent(make_client: Any) -> None:
    """The scripted agent asks for two bookings: each call is reviewed on its own."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(
            wire, "tool_review", {"messages": [{"role": "user", "content": "book the McKittrick and the Ritz"}]},
            stream_modes=["updates", "messages"],
        )["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and len(end["data"]["interrupt_ids"]) == 2
        assert any(e["event"] == "messages" for e in wire.thread_events(tid))
        pending = [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]
        by_hotel = {i["value"][0]["action_request"]["args"]["hotel_name"]: i["id"] for i in pending}
        assert set(by_hotel) == {"the McKittrick", "the Ritz"}
        wire.request("resume", thread_id=tid, interrupt_id=by_hotel["the McKittrick"], value={"type": "accept"})
        assert wire.run_end(tid)["data"]["interrupt_ids"] == [by_hotel["the Ritz"]]
        wire.request("resume", thread_id=tid, interrupt_id=by_hotel["the Ritz"],
                     value={"type": "edit", "args": {"args": {"hotel_name": "the Savoy", "nights": 2}}})
        assert wire.run_end(tid)["event"] == "run_done"
        messages = wire.request("get_state", thread_id=tid)["state"]["values"]["messages"]
        tool_texts = sorted(m["content"] for m in messages if m["role"] == "tool")
        assert tool_texts == ["Successfully booked 1 night(s) at the McKittrick.", "Successfully booked 2 night(s) at the Savoy."]
        assert messages[-1]["content"] == "All set. Anything else?"


def test_the_terminal_event_is_sent_once_stored_and_the_thread_is_free_then(make_client: Any) -> None:
    """A run's end (terminal event, run record, thread record) is one write; the event is sent
    only after it, and an answer sent as soon as it arrives is not refused as busy."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        real = storage.write
        stored: set[int] = set()

        async def watched(write: Any) -> None:
            await real(write)
            stored.update(row.seq for row in write.events)
            if any(r.status == "interrupted" for r in write.runs):
                assert any(row.frame.find('"run_interrupted"') > 0 for row in write.events)
                assert [t.status for t in write.threads] == ["interrupted"]

        storage.write = watched
        tid = start(wire, "validation", {})["thread_id"]
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["seq"] in stored
        accepted = wire.request("resume", thread_id=tid, value="41")
        assert accepted["queued"] is False
        assert wire.run_end(tid)["event"] == "run_done"
        assert all(e["seq"] in stored for e in wire.thread_events(tid))


def test_a_second_queued_answer_to_the_same_interrupt_is_refused_at_once(make_client: Any) -> None:
    """The first acknowledged answer wins (spec 9.6, 11): a queued answer claims its interrupt,
    so a later one is refused with already_answered when it is sent, never after a reply."""
    gate = Gate()
    with make_client({"two": two_questions(gate)}) as client, connect(client) as wire:
        tid = start(wire, "two", {})["thread_id"]
        wire.run_end(tid)
        pending = {i["value"]: i["id"] for i in [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]}
        running = wire.request("resume", thread_id=tid, interrupt_id=pending["a?"], value="A")  # "a" now waits
        # b is still pending while the thread is busy: answers to it can only be queued
        busy = wire.error("resume", thread_id=tid, interrupt_id=pending["b?"], value="B")
        assert busy["code"] == "thread_busy"
        first = wire.request("resume", thread_id=tid, interrupt_id=pending["b?"], value="B1", if_busy="enqueue")
        assert first["queued"] is True and first["answered"] == [pending["b?"]]
        # issue 8 item 12: the first acknowledged answer wins; a later one is refused now, never
        # acknowledged and refused later (spec 9.6, 11)
        second = wire.error("resume", thread_id=tid, interrupt_id=pending["b?"], value="B2", if_busy="enqueue")
        assert second["code"] == "already_answered" and second["details"]["interrupt_ids"] == [pending["b?"]]
        by_map = wire.error("resume", thread_id=tid, answers={pending["b?"]: "B3"}, if_busy="enqueue")
        assert by_map["code"] == "already_answered" and by_map["path"] == f"answers.{pending['b?']}"
        with connect(client) as other:  # from another connection too
            again = other.error("resume", thread_id=tid, answers={pending["b?"]: "B4"}, if_busy="enqueue")
            assert again["code"] == "already_answered"
        listed = wire.request("list_threads")["threads"][0]
        assert pending["b?"] not in [i["id"] for i in listed["interrupts"]]  # answered: no longer listed
        wire.call(gate.open)
        assert wire.run_end(tid, running["run_id"])["event"] == "run_interrupted"
        assert wire.run_end(tid, first["run_id"])["event"] == "run_done"
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert (values["a"], values["b"]) == ("A", "B1")


def test_start_run_metadata_is_stored_with_the_runs_checkpoints(make_client: Any) -> None:
    """Issue 8 item 9 (spec 5.2): ``start_run.metadata`` reaches every checkpoint of the run."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "publish", {"topic": "otters"}, metadata={"ticket": "T-7", "priority": 2})["thread_id"]
        end = wire.run_end(tid)
        history = wire.request("get_history", thread_id=tid)["history"]
        assert history
        for checkpoint in history:
            assert checkpoint["metadata"]["ticket"] == "T-7" and checkpoint["metadata"]["priority"] == 2
            assert checkpoint["metadata"]["run_id"] == end["run_id"]


def test_cancelling_a_queued_run_never_interleaves_runs(make_client: Any) -> None:
    """Issue 8 item 8 (spec 9.4): the queued run's run_started/run_cancelled come after the active
    run's terminal event, and the run after it still runs."""
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client, connect(client) as wire:
        first = start(wire, "gated", {"n": 0}, stream_modes=["custom"])
        tid = first["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        queued = wire.request("start_run", graph="gated", thread_id=tid, input=None, if_busy="enqueue", stream_modes=["custom"])
        later = wire.request("start_run", graph="gated", thread_id=tid, input=None, if_busy="enqueue", stream_modes=["custom"])
        assert wire.request("cancel", thread_id=tid, run_id=queued["run_id"]) == {"run_id": queued["run_id"], "thread_id": tid}
        again = wire.error("cancel", thread_id=tid, run_id=queued["run_id"])  # no longer queued (spec 5.2)
        assert again["code"] == "not_found" and again["details"] == {"resource": "run"} and again["path"] == "run_id"
        wire.request("ping")
        assert not [e for e in wire.thread_events(tid) if e["run_id"] == queued["run_id"]]  # nothing yet
        wire.call(gate.open)
        assert wire.run_end(tid)["run_id"] == first["run_id"]
        dropped = wire.run_end(tid)
        assert dropped["run_id"] == queued["run_id"] and dropped["event"] == "run_cancelled"
        assert dropped["data"] == {"reason": "cancelled"}
        last = wire.run_end(tid)
        assert last["run_id"] == later["run_id"]
        lifecycle = [(e["run_id"], e["event"]) for e in wire.thread_events(tid) if e["event"].startswith("run_")]
        order = [run for run, _ in lifecycle]
        # each run's events are contiguous: started ... terminal, then the next run
        assert order == [first["run_id"]] * 2 + [queued["run_id"]] * 2 + [later["run_id"]] * 2
        check_seqs(wire.events)


def test_a_thread_whose_run_was_cancelled_midway_is_idle_and_says_how_to_go_on(make_client: Any) -> None:
    """Not "interrupted" with no interrupt (that is a static breakpoint): idle, and resume's
    nothing_pending names the nodes a start_run with input null runs; a queued run cancelled
    behind it changes nothing."""
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client, connect(client) as wire:
        first = start(wire, "gated", {"n": 0}, stream_modes=["custom"])
        tid = first["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        queued = wire.request("start_run", graph="gated", thread_id=tid, input=None, if_busy="enqueue")
        wire.request("cancel", thread_id=tid, run_id=queued["run_id"])
        wire.request("cancel", thread_id=tid)
        assert wire.run_end(tid)["event"] == "run_cancelled"
        assert wire.run_end(tid, queued["run_id"])["event"] == "run_cancelled"
        [thread] = wire.request("list_threads")["threads"]
        assert (thread["status"], thread["interrupts"]) == ("idle", [])
        assert wire.request("get_state", thread_id=tid)["state"]["next"] == ["work"]
        refused = wire.error("resume", thread_id=tid, value=1)
        assert refused["code"] == "nothing_pending"
        assert "breakpoint" not in refused["message"] and "next: work" in refused["message"]
        wire.call(gate.open)
        again = start(wire, "gated", None, thread_id=tid)  # goes on from where it stopped
        assert wire.run_end(tid, again["run_id"])["event"] == "run_interrupted"
        assert wire.request("list_threads")["threads"][0]["status"] == "interrupted"


def test_a_partial_resume_streams_the_still_pending_interrupt(make_client: Any) -> None:
    """Issue 8 item 10 (spec section 15): the resumed run shows finance's pending interrupt as an
    ``updates {"__interrupt__": [...]}`` part with the same id, before its interrupt event."""
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = start(wire, "parallel", {"doc": "contract.pdf"}, stream_modes=["updates"])["thread_id"]
        wire.run_end(tid)
        pending = {i["node"]: i["id"] for i in wire.thread_events(tid)[-2]["data"]["interrupts"]}
        resumed = wire.request("resume", thread_id=tid, interrupt_id=pending["legal"], value="signed", stream_modes=["updates"])
        wire.run_end(tid)
        run = [e for e in wire.thread_events(tid) if e["run_id"] == resumed["run_id"]]
        kinds = [e["event"] for e in run]
        assert kinds == ["run_started", "updates", "updates", "interrupt", "run_interrupted"]
        assert run[1]["data"] == {"legal": {"legal": "signed"}}
        parked = run[2]["data"]["__interrupt__"]
        assert [i["id"] for i in parked] == [pending["finance"]] and parked[0]["node"] == "finance"


def test_an_answer_to_an_interrupt_answered_long_ago_is_refused(make_client: Any, monkeypatch: Any) -> None:
    """The answered ids a thread keeps in memory are a bounded cache (a long-lived thread must not
    grow by one per answer): once it is started again, an old interrupt is refused from the
    storage's record just the same."""
    from streamhil_server.runs import answers

    monkeypatch.setattr(answers, "_REMEMBERED_ANSWERS", 2)
    with make_client(demo_graphs()) as client, connect(client) as wire:
        chat = start(wire, "multi_turn", {"messages": []})["thread_id"]
        wire.run_end(chat)
        asked: list[str] = []
        for text in ["one", "two", "three", "four"]:
            question = [e for e in wire.thread_events(chat) if e["event"] == "interrupt"][-1]["data"]["interrupts"][0]
            asked.append(question["id"])
            wire.request("resume", thread_id=chat, interrupt_id=question["id"], value=text)
            wire.run_end(chat)
        for old in asked:  # the first ones are no longer in memory: the storage says they were answered
            refused = wire.error("resume", thread_id=chat, interrupt_id=old, value="again")
            assert refused["code"] == "already_answered" and refused["details"]["interrupt_ids"] == [old]
        state = wire.request("get_state", thread_id=chat)["state"]
        assert [m["content"] for m in state["values"]["messages"] if m["role"] == "user"] == ["one", "two", "three", "four"]
