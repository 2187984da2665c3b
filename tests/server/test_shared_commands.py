"""Two servers on one PostgreSQL database, commands sent to the one that does not run the thread:
each is forwarded to the process holding the thread's lease and answered as that process would
(thread_busy, a queued run, cancel of the active run and of a queued one, update_state refused
while busy), and the thread shows as running from either. (Three real processes, kill -9 and
answers at once: tests/e2e/test_three_processes.py.)"""

from __future__ import annotations

from typing import Any

from streamhil_server.runs.forwarding import STALL_HOOK
from streamhil_server.settings import ServerSettings

from .conftest import connect
from .graphs import Gate, counter, gated

METRICS = {"authorization": "Bearer m"}


def test_commands_reach_the_process_running_the_thread(make_client: Any, postgres_db_url: str) -> None:
    stuck = Gate()  # never opened: the run stays in "work" on the first server
    settings = ServerSettings(metrics_token="m")
    with (
        make_client({"gated": gated(stuck)}, db=postgres_db_url, settings=settings) as one, connect(one) as first,
        make_client({"gated": gated(stuck)}, db=postgres_db_url, settings=settings) as two, connect(two) as second,
    ):
        run = first.request("start_run", graph="gated", input={"n": 1}, stream_modes=["custom"])
        tid = run["thread_id"]
        first.until(lambda f: f.get("event") == "custom")

        listed = second.request("list_threads")["threads"]
        assert [(t["thread_id"], t["status"], t["run_id"]) for t in listed] == [(tid, "running", run["run_id"])]
        assert second.request("list_threads", status=["running"])["threads"][0]["thread_id"] == tid
        assert second.request("list_threads", status=["idle"])["threads"] == []

        busy = second.error("start_run", graph="gated", thread_id=tid, input={"n": 2})
        assert busy["code"] == "thread_busy" and busy["details"]["run_id"] == run["run_id"]
        assert second.error("update_state", thread_id=tid, values={"n": 5})["code"] == "thread_busy"
        queued = second.request("start_run", graph="gated", thread_id=tid, input={"n": 3}, if_busy="enqueue")
        assert queued["queued"] is True and queued["thread_id"] == tid

        cancelled = second.request("cancel", thread_id=tid)  # the active run, on the first server
        assert cancelled["run_id"] == run["run_id"]
        end = first.run_end(tid, run["run_id"])
        assert (end["event"], end["data"]) == ("run_cancelled", {"reason": "cancelled"})
        # the queued run starts there, and the second server's client watches it (it accepted it)
        started = lambda f: f.get("event") == "run_started" and f["run_id"] == queued["run_id"]  # noqa: E731
        if not any(started(f) for f in second.events):  # (it may have come before the cancel's reply)
            second.until(started)
        assert second.request("cancel", thread_id=tid)["run_id"] == queued["run_id"]
        end = second.run_end(tid, queued["run_id"])
        assert (end["event"], end["data"]) == ("run_cancelled", {"reason": "cancelled"})

        assert second.error("cancel", thread_id=tid)["code"] == "no_active_run"
        sent = two.get("/metrics", headers=METRICS).json()["leases"]
        served = one.get("/metrics", headers=METRICS).json()["leases"]
        assert sent["forwarded"] >= 5 and served["served"] >= 5 and served["held"] >= 1


def test_an_update_forwarded_to_a_holder_that_stops_answering_is_acknowledged_from_its_stored_outcome(
    make_client: Any, postgres_db_url: str, monkeypatch: Any
) -> None:
    """The holder carries out a forwarded ``update_state`` and then stops answering (the test
    hook stalls it before its reply): its reply was stored with the new checkpoint, so once it
    lets the idle thread's lease go the sender acknowledges with it: the right checkpoint id and
    seq, and the update applied once. (Killed holders, and one stopped before carrying the
    command out: tests/e2e/test_forwarded_holder_dies.py.)"""
    settings = ServerSettings(lease_ttl=1.5, metrics_token="m")
    with (
        make_client({"counter": counter()}, db=postgres_db_url, settings=settings) as one, connect(one) as first,
        make_client({"counter": counter()}, db=postgres_db_url, settings=settings) as two, connect(two) as second,
    ):
        tid = first.request("start_run", graph="counter", input={"n": 1})["thread_id"]
        first.run_end(tid)  # the first server holds the idle thread for a round or two
        before = len(second.request("get_history", thread_id=tid, limit=50)["history"])
        monkeypatch.setenv(STALL_HOOK, "after")
        updated = second.request("update_state", thread_id=tid, values={"n": 40}, as_node="inc")
        event = first.until(lambda f: f.get("event") == "state_updated")
        assert event["seq"] == updated["seq"] and event["data"]["checkpoint_id"] == updated["checkpoint_id"]
        history = second.request("get_history", thread_id=tid, limit=50)["history"]
        assert len(history) == before + 1 and history[0]["checkpoint_id"] == updated["checkpoint_id"]
        assert second.request("get_state", thread_id=tid)["state"]["values"]["n"] == 40
        assert one.get("/metrics", headers=METRICS).json()["leases"]["served"] == 1  # it was forwarded


def test_every_process_shows_the_whole_cluster_in_its_metrics(make_client: Any, postgres_db_url: str) -> None:
    stuck = Gate()
    settings = ServerSettings(metrics_token="m")
    with make_client({"gated": gated(stuck)}, db=postgres_db_url, settings=settings) as one, connect(one) as first:
        mine = one.get("/metrics", headers=METRICS).json()["leases"]["owner"]
        with make_client({"gated": gated(stuck)}, db=postgres_db_url, settings=settings) as two:
            theirs = two.get("/metrics", headers=METRICS).json()["leases"]["owner"]
            tid = first.request("start_run", graph="gated", input={"n": 1}, stream_modes=["custom"])["thread_id"]
            first.until(lambda f: f.get("event") == "custom")
            views = [c.get("/metrics", headers=METRICS).json()["cluster"] for c in (one, two)]
            for view in views:
                by_owner = {p["owner"]: p for p in view["processes"]}
                assert set(by_owner) == {mine, theirs} and all(p["alive"] for p in by_owner.values())
                assert (by_owner[mine]["leases"], by_owner[theirs]["leases"]) == (1, 0)
                assert by_owner[mine]["seconds_since_seen"] < 6 and by_owner[mine]["pid"] > 0
                assert (view["alive"], view["leases_held"], view["takeovers_due"]) == (2, 1, 0)
                assert view["commands"] == {"waiting": 0, "in_progress": 0}
            text = two.get("/metrics?format=prometheus", headers=METRICS).text
            assert "\nstreamhil_cluster_processes_alive 2\n" in text and "\nstreamhil_cluster_leases_held 1\n" in text
            assert "\nstreamhil_leases_held 0\n" in text
            assert first.request("cancel", thread_id=tid)
        # the second stopped cleanly: no longer listed
        view = one.get("/metrics", headers=METRICS).json()["cluster"]
        assert [p["owner"] for p in view["processes"]] == [mine] and view["alive"] == 1


def test_one_process_on_its_own_storage_shows_no_cluster(make_client: Any) -> None:
    with make_client({"counter": counter()}, settings=ServerSettings(metrics_token="m")) as client:
        body = client.get("/metrics", headers=METRICS).json()
        assert "cluster" not in body and "leases" not in body
        assert "streamhil_cluster" not in client.get("/metrics?format=prometheus", headers=METRICS).text
