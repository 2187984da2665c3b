"""``watch_threads`` notices, graphs' input schemas in ``list_graphs``, and the answers a resume's
``run_started`` carries (issue 14: what the chat and the dashboard need from the server)."""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect


def notices(wire: Any, until: Any) -> list[dict[str, Any]]:
    """Notice frames read until one satisfies ``until`` (inclusive)."""
    seen = []
    while True:
        frame = wire.until(lambda f: f.get("type") == "notice")
        seen.append(frame)
        if until(frame):
            return seen


def test_watch_threads_announces_creation_status_changes_and_counters(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as dash, connect(client) as chat, \
            connect(client, "bob-token") as bob:
        old = chat.request("start_run", graph="validation", input={})["thread_id"]
        chat.run_end(old)

        snapshot = dash.request("watch_threads")
        assert [t["thread_id"] for t in snapshot["threads"]] == [old]
        assert snapshot["threads"][0]["status"] == "interrupted"
        # (alice's own figures: her two connections, not bob's; see the next test)
        assert snapshot["counters"]["connections"] == 2 and snapshot["counters"]["runs_started"] == 1
        assert dash.error("watch_threads")["code"] == "already_subscribed"

        # another identity's thread is never announced; alice's new thread is
        bob_tid = bob.request("start_run", graph="validation", input={})["thread_id"]
        bob.run_end(bob_tid)
        tid = chat.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        chat.run_end(tid)
        seen = notices(dash, lambda f: f.get("thread", {}).get("status") == "interrupted" and f["thread"]["thread_id"] == tid)
        threads = [f for f in seen if f["notice"] != "counters"]
        assert all(f["thread"]["thread_id"] == tid for f in threads)
        assert threads[0]["notice"] == "thread_created" and threads[0]["thread"]["graph"] == "publish"
        assert all(f["notice"] == "thread_status" for f in threads[1:])
        waiting = threads[-1]["thread"]
        assert waiting["interrupts"][0]["value"]["question"] == "Approve the draft?" and waiting["run_id"] is None

        # answering it: running (its interrupt gone), then idle when the run ends
        chat.request("resume", thread_id=tid, value="no")
        seen = notices(dash, lambda f: f.get("thread", {}).get("status") == "idle")
        statuses = [f["thread"]["status"] for f in seen if f["notice"] == "thread_status"]
        assert statuses[0] == "running" and statuses[-1] == "idle"
        assert [f["thread"]["interrupts"] for f in seen if f["notice"] == "thread_status"][-1] == []

        # counters come on their own, without polling
        counters = dash.until(lambda f: f.get("type") == "notice" and f["notice"] == "counters")["counters"]
        assert counters["runs_started"] >= 3 and counters["events_total"] > 0

        # no notice reaches the dashboard without watch_threads, and unwatching stops them
        assert not [f for f in chat.frames if f.get("type") == "notice"]
        assert dash.request("unwatch_threads") == {}
        assert dash.error("unwatch_threads")["code"] == "not_subscribed"
        mark = len(dash.frames)
        later = chat.request("start_run", graph="validation", input={})["thread_id"]
        chat.run_end(later)
        assert dash.request("ping", payload="after")["payload"] == "after"
        assert not [f for f in dash.frames[mark:] if f.get("type") == "notice" and f.get("notice") != "counters"]


def test_on_a_server_with_tokens_each_identity_counts_only_its_own_activity(make_client: Any) -> None:
    """Users of a server with tokens must not see each other's activity (``/metrics`` is off there
    for that reason): bob, watching, learns nothing of alice's runs (security report 3, item 6)."""
    with make_client(demo_graphs()) as client, connect(client) as alice, connect(client, "bob-token") as bob:
        mine = bob.request("watch_threads")
        assert mine["threads"] == []
        assert mine["counters"] == {"connections": 1, "runs_active": 0, "runs_queued": 0, "runs_started": 0,
                                    "runs_finished": 0, "events_total": 0, "events_per_second": 0.0}
        for _ in range(2):
            alice.run_end(alice.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"])
        tid = bob.request("start_run", graph="validation", input={})["thread_id"]
        bob.run_end(tid)
        bobs_events = len(bob.thread_events(tid))
        last = bob.until(lambda f: f.get("notice") == "counters" and f["counters"]["runs_finished"] == 1)["counters"]
        assert last["events_total"] == bobs_events and last["runs_started"] == 1
        for notice in [f for f in bob.frames if f.get("notice") == "counters"]:
            counters = notice["counters"]
            assert counters["connections"] == 1 and counters["runs_started"] <= 1, counters
            assert counters["events_total"] <= bobs_events, counters
        hers = alice.request("watch_threads")["counters"]
        assert (hers["connections"], hers["runs_started"], hers["runs_finished"]) == (1, 2, 2)
        assert hers["events_total"] == sum(1 for f in alice.frames if f.get("type") == "event")


def test_on_a_server_without_tokens_the_counters_are_the_servers(make_client: Any) -> None:
    with make_client(demo_graphs(), tokens=None) as client, connect(client, None) as one, connect(client, None) as two:
        one.run_end(one.request("start_run", graph="validation", input={})["thread_id"])
        counters = two.request("watch_threads")["counters"]
        assert (counters["connections"], counters["runs_started"]) == (2, 1)


def test_watch_threads_takes_no_fields(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        error = wire.error("watch_threads", graph="publish")
        assert error["code"] == "invalid_field" and error["path"] == "graph"


def test_list_graphs_carries_each_graphs_input_schema(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        graphs = {g["name"]: g for g in wire.request("list_graphs")["graphs"]}
        assert graphs["approve"]["input_schema"] == [{"name": "request", "type": "string", "required": True}]
        assert graphs["approve"]["input_keys"] == ["request"]  # output-only keys are not input
        assert graphs["validation"]["input_schema"] == [{"name": "age", "type": "integer", "required": False}]
        assert graphs["tool_review"]["input_schema"][0] == {"name": "messages", "type": "array", "required": True}
        assert {f["name"] for f in graphs["multi_turn"]["input_schema"]} == {"messages", "done"}


def test_a_resumes_run_started_names_the_answers_it_delivers(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as a, connect(client) as b:
        tid = a.request("start_run", graph="publish", input={"topic": "seals"})["thread_id"]
        a.run_end(tid)
        b.request("subscribe", thread_id=tid)
        pending = [e for e in a.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"][0]["id"]
        a.request("resume", thread_id=tid, value="yes")
        started = b.until(lambda f: f.get("event") == "run_started")
        assert started["data"]["kind"] == "resume" and started["data"]["answers"] == {pending: "yes"}
        first = [e for e in a.thread_events(tid) if e["event"] == "run_started"][0]
        assert "answers" not in first["data"]
