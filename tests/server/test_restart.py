"""A server restarted on the same database (a SQLite file, or PostgreSQL): threads, answers, logs
and unfinished runs survive."""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .graphs import Gate, gated
from .wire import check_seqs


def test_interrupted_thread_survives_a_restart(make_client: Any, db: str) -> None:
    with make_client(demo_graphs(), db=db) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        first = wire.thread_events(tid)[-1]["data"]["interrupt_ids"][0]
        wire.request("resume", thread_id=tid, value={"approved": True})
        end = wire.run_end(tid)
        epoch = wire.welcome["epoch"]
        before = wire.thread_events(tid)
    with make_client(demo_graphs(), db=db) as client, connect(client) as wire:
        assert wire.welcome["epoch"] == epoch  # the logs survived, so seq cursors stay valid
        listed = wire.request("list_threads")["threads"]
        assert [(t["thread_id"], t["status"], t["head_seq"]) for t in listed] == [(tid, "interrupted", end["seq"])]
        sub = wire.request("subscribe", thread_id=tid, after=0, epoch=epoch)
        assert sub["replayed"] == end["seq"] and sub["resync"] is False
        for _ in range(end["seq"]):
            wire.recv()
        assert wire.thread_events(tid) == before  # byte for byte the same log
        assert wire.error("resume", thread_id=tid, interrupt_id=first, value={})["code"] == "already_answered"
        last = wire.request("resume", thread_id=tid, value="blog")
        done = wire.run_end(tid, last["run_id"])
        assert done["event"] == "run_done" and done["seq"] > end["seq"]
        check_seqs(wire.events)
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["channel"] == "blog"


def test_a_run_cut_by_shutdown_continues_at_startup(make_client: Any, db: str) -> None:
    stuck = Gate()  # never opened: the first server stops while the run waits in "work"
    with make_client({"gated": gated(stuck)}, db=db) as client, connect(client) as wire:
        run = wire.request("start_run", graph="gated", input={"n": 1}, stream_modes=["custom", "updates"])
        tid = run["thread_id"]
        seen = wire.until(lambda f: f.get("event") == "custom")["seq"]
    free = Gate()
    free.opened = True
    with make_client({"gated": gated(free)}, db=db) as client, connect(client) as wire:
        sub = wire.request("subscribe", thread_id=tid, after=seen)
        assert sub["resync"] is False
        cut = wire.run_end(tid)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["run_id"] != run["run_id"]
        # the cut names its continuation, and the continuation the run it continues
        assert (cut["run_id"], cut["event"], cut["data"]) == (
            run["run_id"], "run_cancelled", {"reason": "shutdown", "continued_by": end["run_id"]}
        )
        started = [e for e in wire.thread_events(tid) if e["event"] == "run_started"]
        assert [(e["run_id"], e["data"]["kind"], e["data"]["continues"], e["data"]["retry_of"]) for e in started] == [
            (end["run_id"], "resume", run["run_id"], run["run_id"])
        ]
        check_seqs(wire.events)
        assert wire.events[0]["seq"] == seen + 1
        # the continuation kept the run's stream modes, and the state went on from the checkpoint
        assert any(e["event"] == "custom" and e["run_id"] == end["run_id"] for e in wire.events)
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["n"] == 2 and state["next"] == ["ask"]
        metrics = client.app.state.runtime.statistics().to_json()
        assert metrics["interrupts_pending"] == 1 and metrics["runs"]["active"] == 0


def test_a_continuation_does_not_repeat_the_interrupt_its_cut_run_announced(make_client: Any, db: str) -> None:
    """A task interrupts while its sibling still works; the server stops before the step ends.
    The continuation runs the sibling and stops at the interrupt, which it finds waiting: the
    `updates` part announcing it is in the log once (it was stored with the interrupt's writes),
    and the continuation still ends listing it."""
    from .test_durable_path import _asks_while_a_sibling_works

    stuck = Gate()
    with make_client({"par": _asks_while_a_sibling_works(stuck)}, db=db) as client, connect(client) as wire:
        run = wire.request("start_run", graph="par", input={}, stream_modes=["updates"])
        tid = run["thread_id"]
        asked = wire.until(lambda f: f.get("event") == "updates" and "__interrupt__" in f["data"])
        [interrupt_id] = [i["id"] for i in asked["data"]["__interrupt__"]]
    free = Gate()
    free.opened = True
    with make_client({"par": _asks_while_a_sibling_works(free)}, db=db) as client, connect(client) as wire:
        wire.request("subscribe", thread_id=tid, after=0)
        wire.run_end(tid)  # the cut run: run_cancelled (shutdown)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and end["data"]["interrupt_ids"] == [interrupt_id]
        log = wire.thread_events(tid)
        check_seqs(log)
        announced = [e for e in log if e["event"] == "updates" and "__interrupt__" in e["data"]]
        assert [[i["id"] for i in e["data"]["__interrupt__"]] for e in announced] == [[interrupt_id]]
        assert any(e["event"] == "updates" and "work" in e["data"] and e["run_id"] == end["run_id"] for e in log)
        assert [i["id"] for e in log if e["event"] == "interrupt" for i in e["data"]["interrupts"]] == [interrupt_id]
