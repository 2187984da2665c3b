"""``watch_threads`` with several processes on one PostgreSQL database (no sticky sessions): a
watcher on one process hears of the threads its identity runs on another, exactly as of its own
(bug hunt 4, multiproc 1), and nobody else's; a process nobody watches threads on reads nothing
for it. Then the notifier itself: other processes' changes of a thread between two turns of its
task are one read, and nothing is read without a watcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import anyio
import pytest
from streamhil import END, START, StateGraph, interrupt
from streamhil.graph.compiled import CompiledStateGraph
from streamhil.protocol import Notice, ThreadCreatedNotice, ThreadStatusNotice
from streamhil_server.registry import GraphRegistry
from streamhil_server.runtime import Runtime
from streamhil_server.storage.records import ThreadRecord, Write

from .conftest import connect
from .graphs import Gate, S


def gated_question(before: Gate, after: Gate) -> CompiledStateGraph:
    """``work`` waits for ``before``, ``ask`` interrupts, ``finish`` waits for ``after``."""

    async def work(state: S) -> S:
        await before.wait()
        return {"n": 1}

    def ask(state: S) -> S:
        return {"answer": interrupt({"question": "go on?"})}

    async def finish(state: S) -> S:
        await after.wait()
        return {"n": 2}

    g = StateGraph(S)
    g.add_node("work", work)
    g.add_node("ask", ask)
    g.add_node("finish", finish)
    g.add_edge(START, "work")
    g.add_edge("work", "ask")
    g.add_edge("ask", "finish")
    g.add_edge("finish", END)
    return g.compile()


def _thread_notices(frames: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [
        (f["notice"], f["thread"]["status"], f["thread"]["run_id"])
        for f in frames if f.get("type") == "notice" and f["notice"] != "counters"
    ]


def _status_is(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f.get("type") == "notice" and f.get("thread", {}).get("status") == status


@pytest.mark.parametrize("subscribed", [False, True], ids=["watching", "watching-and-subscribed"])
def test_a_watcher_on_another_process_hears_of_the_run_as_on_the_running_one(
    make_client: Any, postgres_db_url: str, subscribed: bool
) -> None:
    before, after = Gate(), Gate()
    elsewhere = {"gated": gated_question(Gate(), Gate())}  # the other processes never run it
    with (
        make_client({"gated": gated_question(before, after)}, db=postgres_db_url) as one,
        connect(one) as chat, connect(one) as local,
        make_client(elsewhere, db=postgres_db_url) as two, connect(two) as dash, connect(two) as reader,
        connect(two, "bob-token") as bob,
        make_client(elsewhere, db=postgres_db_url) as three,
    ):
        idle = three.app.state.runtime
        reads: list[str] = []
        for name in ("load_threads", "list_threads", "load_thread"):
            method = getattr(idle.storage, name)

            def counted(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
                reads.append(_name)
                return _method(*args, **kwargs)

            setattr(idle.storage, name, counted)
        assert dash.request("watch_threads")["threads"] == []
        assert bob.request("watch_threads")["threads"] == []
        assert local.request("watch_threads")["threads"] == []

        run = chat.request("start_run", graph="gated", input={})
        tid = run["thread_id"]
        dash.until(_status_is("running"))
        if subscribed:  # the second process then reads the thread's events from the table too
            reader.request("subscribe", thread_id=tid, after=0)
        one.portal.call(before.open)
        waiting = dash.until(_status_is("interrupted"))["thread"]
        assert waiting["thread_id"] == tid and waiting["interrupts"][0]["value"] == {"question": "go on?"}
        chat.run_end(tid)  # (the process running it may hear of its own pause a moment after the others)
        resumed = chat.request("resume", thread_id=tid, value="yes")
        dash.until(_status_is("running"))
        one.portal.call(after.open)
        done = dash.until(_status_is("idle"))["thread"]
        assert done["interrupts"] == [] and done["run_id"] is None
        local.until(_status_is("idle"))

        expected = [
            ("thread_created", "running", run["run_id"]),
            ("thread_status", "interrupted", None),
            ("thread_status", "running", resumed["run_id"]),
            ("thread_status", "idle", None),
        ]
        assert _thread_notices(local.frames) == expected  # on the process running it
        assert _thread_notices(dash.frames) == expected  # on another one, the same
        if subscribed:
            reader.until(lambda f: f.get("event") == "run_done")
            stale = two.app.state.runtime.runs.threads.peek(tid)  # what it loaded to subscribe
            assert stale is not None and stale.status == "running"  # (never updated: not its run)
        # a snapshot made there now says what the table says (not what that process last knew)
        assert [(t["thread_id"], t["status"]) for t in reader.request("watch_threads")["threads"]] == [(tid, "idle")]

        assert bob.request("ping", payload="x")["payload"] == "x"
        assert _thread_notices(bob.frames) == []  # alice's thread, never told to bob
        assert reads == [] and idle.notifier.remote_reads == 0  # nobody watches on the third process
        assert two.app.state.runtime.notifier.remote_reads >= 3


@pytest.mark.anyio
async def test_the_notifier_reads_other_processes_threads_in_one_batch_and_only_for_watchers() -> None:
    """A storage no other process uses, told of "other processes'" changes by hand."""
    async with Runtime(GraphRegistry({})) as runtime:
        notifier = runtime.notifier
        records = [
            ThreadRecord(thread_id=f"t{n}", graph="g", owner=owner, status="interrupted",
                         interrupts=[{"id": f"i{n}", "value": n}], updated_at=f"2026-01-01T00:00:0{n}")
            for n, owner in enumerate(["alice", "alice", "bob"])
        ]
        notifier.note_remote("t0", 5)  # nobody watches: nothing is read
        await anyio.wait_all_tasks_blocked()
        assert notifier.remote_reads == 0

        alice: list[Notice] = []
        bob: list[Notice] = []
        await notifier.watch("alice", alice.append)
        await notifier.watch("bob", bob.append)
        await runtime.storage.write(Write(threads=records))
        for _ in range(3):  # many events of the same threads between two turns: one read
            for record in records:
                notifier.note_remote(record.thread_id, 7)
        notifier.note_remote(None, 0)  # "any thread": not a reason to read every thread
        await anyio.wait_all_tasks_blocked()
        assert notifier.remote_reads == 1
        assert sorted((type(n).__name__, n.thread.thread_id) for n in alice if not hasattr(n, "counters")) == [
            ("ThreadCreatedNotice", "t0"), ("ThreadCreatedNotice", "t1"),
        ]
        assert [(type(n), n.thread.thread_id) for n in bob if not hasattr(n, "counters")] == [(ThreadCreatedNotice, "t2")]

        # unchanged: nothing new; changed: thread_status
        notifier.note_remote("t0", 8)
        await anyio.wait_all_tasks_blocked()
        assert len([n for n in alice if not hasattr(n, "counters")]) == 2
        await runtime.storage.write(Write(threads=[replace(records[0], status="idle", interrupts=[])]))
        notifier.note_remote("t0", 9)
        await anyio.wait_all_tasks_blocked()
        last = alice[-1]
        assert isinstance(last, ThreadStatusNotice) and (last.thread.thread_id, last.thread.status) == ("t0", "idle")
        assert notifier.remote_reads == 3
