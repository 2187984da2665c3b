"""Two servers in one test on one PostgreSQL database (each its own storage, writer and listener),
on asyncio and on trio (where the listener waits in worker threads): a watcher on the second sees
the first one's run, the same frames, in order. (A lost wake-up is caught up: tests/e2e/
test_two_processes.py kills the listener's session.)"""

from __future__ import annotations

from typing import Any

from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import check_seqs


def test_a_watcher_on_a_second_server_sees_the_first_ones_run(make_client: Any, postgres_db_url: str) -> None:
    with (
        make_client(demo_graphs(), db=postgres_db_url) as one, connect(one) as first,
        make_client(demo_graphs(), db=postgres_db_url) as two, connect(two) as second,
    ):
        tid = first.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        first.run_end(tid)
        second.request("subscribe", thread_id=tid, after=0)
        second.until(lambda f: f.get("event") == "run_interrupted")
        first.request("resume", thread_id=tid, value={"approved": True})  # watched live on the second
        first.run_end(tid)
        second.until(lambda f: f.get("event") == "run_interrupted" and f["seq"] == first.thread_events(tid)[-1]["seq"])
        assert second.thread_events(tid) == first.thread_events(tid)  # the same frames
        check_seqs(second.events)
        first.request("resume", thread_id=tid, value="blog")
        first.run_end(tid)
        second.until(lambda f: f.get("event") == "run_done")
        assert second.thread_events(tid) == first.thread_events(tid)
        check_seqs(second.events)
