"""Watching threads: many watchers, subscribe with replay, resync, answers from any connection."""

from __future__ import annotations

from typing import Any

from streamhil_server import ServerSettings
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .graphs import Gate, gated
from .wire import check_seqs


def test_two_watchers_and_first_answer_wins(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as a, connect(client) as b:
        tid = a.request("start_run", graph="parallel", input={"doc": "x"}, stream_modes=["updates"])["thread_id"]
        sub = b.request("subscribe", thread_id=tid, after=0)
        assert sub["resync"] is False and sub["epoch"] == a.welcome["epoch"]
        a.run_end(tid)
        b.run_end(tid)
        pending = {i["node"]: i["id"] for i in a.thread_events(tid)[-2]["data"]["interrupts"]}
        # both answer legal at once; exactly one wins, the other gets already_answered
        ida = a.send("resume", thread_id=tid, interrupt_id=pending["legal"], value="signed")
        idb = b.send("resume", thread_id=tid, interrupt_id=pending["legal"], value="rejected")
        ra, rb = a.answer(ida), b.answer(idb)
        assert sorted([ra["type"], rb["type"]]) == ["error", "reply"]
        loser = ra if ra["type"] == "error" else rb
        assert loser["code"] == "already_answered" and loser["details"]["interrupt_ids"] == [pending["legal"]]
        a.run_end(tid)
        b.run_end(tid)
        # B answers finance; A sees the effects too
        b.request("resume", thread_id=tid, answers={pending["finance"]: "ok"})
        assert a.run_end(tid)["event"] == "run_done"
        assert b.run_end(tid)["event"] == "run_done"
        assert [e["seq"] for e in a.thread_events(tid)] == [e["seq"] for e in b.thread_events(tid)]
        assert a.thread_events(tid) == b.thread_events(tid)
        check_seqs(a.events)
        assert b.error("subscribe", thread_id=tid)["code"] == "already_subscribed"
        assert b.request("unsubscribe", thread_id=tid) == {"thread_id": tid}
        assert b.error("unsubscribe", thread_id=tid)["code"] == "not_subscribed"


def test_reconnect_replays_exactly_the_missed_events(make_client: Any) -> None:
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client:
        with connect(client) as first:
            run = first.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom", "updates", "values"])
            tid = run["thread_id"]
            first.until(lambda f: f.get("event") == "custom")
            seen = [e["seq"] for e in first.thread_events(tid)]
            epoch = first.welcome["epoch"]
        # the run goes on while nobody watches
        with connect(client) as other:
            other.request("subscribe", thread_id=tid)  # live from here: subscribe before the run ends
            other.call(gate.open)
            other.run_end(tid)
        with connect(client) as again:
            sub = again.request("subscribe", thread_id=tid, after=seen[-1], epoch=epoch)
            assert sub["resync"] is False and sub["replayed"] == sub["head_seq"] - seen[-1] > 0
            end = again.run_end(tid)
            replayed = [e["seq"] for e in again.thread_events(tid)]
            assert replayed == list(range(seen[-1] + 1, sub["head_seq"] + 1))
            assert end["event"] == "run_interrupted" and end["seq"] == sub["head_seq"]
            # nothing more was sent: a ping is answered right after
            assert again.request("ping") == {"payload": None}
            assert [e["seq"] for e in again.thread_events(tid)] == replayed
        with connect(client) as current:
            sub = current.request("subscribe", thread_id=tid, after=end["seq"])
            assert sub["replayed"] == 0 and sub["resync"] is False


def test_resync_answers(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="validation", input={})["thread_id"]
        end = wire.run_end(tid)
        with connect(client) as other:
            ahead = other.request("subscribe", thread_id=tid, after=end["seq"] + 5)
            assert ahead["resync"] is True and ahead["reason"] == "cursor_ahead"
            assert ahead["state"]["next"] == ["get_age"]
            assert [i["value"] for i in ahead["interrupts"]] == [{"question": "What is your age?"}]
            assert ahead["status"] == "interrupted" and ahead["head_seq"] == end["seq"]
        with connect(client) as other:
            stale = other.request("subscribe", thread_id=tid, after=1, epoch="e-from-another-life")
            assert stale["resync"] is True and stale["reason"] == "epoch_changed"
            # after a resync the connection is subscribed live
            other.request("resume", thread_id=tid, value="7")
            assert other.run_end(tid)["seq"] > end["seq"]


def test_cursor_too_old_after_the_log_was_trimmed(make_client: Any) -> None:
    settings = ServerSettings(max_events_per_thread=5, ring_size=2)
    with make_client(demo_graphs(), settings=settings) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="multi_turn", input={"messages": []})["thread_id"]
        wire.run_end(tid)
        for text in ["a", "b", "c"]:
            wire.request("resume", thread_id=tid, value=text)
            wire.run_end(tid)
        head = wire.thread_events(tid)[-1]["seq"]
        with connect(client) as other:
            old = other.request("subscribe", thread_id=tid, after=0)
            assert old["resync"] is True and old["reason"] == "cursor_too_old"
        with connect(client) as other:
            # within the kept window, but older than the in-memory ring: replayed from SQLite
            recent = other.request("subscribe", thread_id=tid, after=head - 4)
            assert recent["resync"] is False and recent["replayed"] == 4
            for _ in range(4):
                other.recv()
            assert [e["seq"] for e in other.thread_events(tid)] == [head - 3, head - 2, head - 1, head]
            assert other.thread_events(tid) == wire.thread_events(tid)[-4:]


def test_identities_cannot_see_each_others_threads(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as alice, connect(client, "bob-token") as bob:
        assert alice.welcome["identity"] == "alice" and bob.welcome["identity"] == "bob"
        tid = alice.request("start_run", graph="validation", input={})["thread_id"]
        alice.run_end(tid)
        iid = alice.thread_events(tid)[-1]["data"]["interrupt_ids"][0]
        for command, fields in [
            ("subscribe", {}), ("get_state", {}), ("get_history", {}), ("cancel", {}),
            ("resume", {"value": 3}), ("resume", {"interrupt_id": iid, "value": 3}),
            ("update_state", {"values": {"age": 1}}),
        ]:
            err = bob.error(command, thread_id=tid, **fields)
            assert err["code"] == "not_found" and err["details"]["resource"] == "thread", (command, err)
        taken = bob.error("start_run", graph="validation", thread_id=tid, input={})
        assert taken["code"] == "forbidden"
        assert bob.request("list_threads")["threads"] == []
        assert [t["thread_id"] for t in alice.request("list_threads")["threads"]] == [tid]
        # bob saw nothing of alice's thread, and alice's interrupt is still hers to answer
        assert bob.thread_events(tid) == []
        alice.request("resume", thread_id=tid, value=30)
        assert alice.run_end(tid)["event"] == "run_done"
