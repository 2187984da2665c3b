"""The durable path through a real server (TestClient): each acknowledged fact is one storage
write, group commit shares commits between threads without mixing their failures, and a
server holds only its live threads in memory."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, TypedDict

import anyio
import pytest
from streamhil import END, START, StateGraph, interrupt
from streamhil.graph.compiled import CompiledStateGraph
from streamhil_server import ServerSettings

from .conftest import connect
from .graphs import Gate, two_questions
from .wire import check_seqs


class V(TypedDict, total=False):
    value: Any
    answer: Any


def _answer_then_store(bad_answer: str) -> CompiledStateGraph:
    """Asks once; the answer is stored in the state, except ``bad_answer``, which stores a value
    no checkpointer can serialise (a lock)."""

    def ask(state: V) -> V:
        answer = interrupt("value?")
        return {"answer": answer, "value": threading.Lock() if answer == bad_answer else answer}

    g = StateGraph(V)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile()


def _stored_threads_and_open_runs(db: str) -> tuple[dict[str, str], int]:
    """What a fresh storage on ``db`` finds: each thread's status, and how many runs are open."""
    from streamhil_server.storage import storage_for

    async def read() -> tuple[dict[str, str], int]:
        async with storage_for(db) as storage:
            threads = await storage.list_threads(limit=1000)
            return {t.thread_id: t.status for t in threads}, len(await storage.load_runs())

    return anyio.run(read)


def test_one_threads_bad_value_fails_only_that_thread_under_group_commit(make_client: Any, db: str) -> None:
    with make_client({"store": _answer_then_store("bad")}, db=db) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        tids = [wire.request("start_run", graph="store", input={})["thread_id"] for _ in range(12)]
        for tid in tids:
            assert wire.run_end(tid)["event"] == "run_interrupted"
        batches = storage.batches
        runs = {}
        for n, tid in enumerate(tids):  # all answered at once: the steps share commits
            runs[tid] = wire.send("resume", thread_id=tid, value="bad" if n == 5 else f"good-{n}")
        replies = {}
        while len(replies) < len(runs):
            frame = wire.recv()
            if frame.get("type") in ("reply", "error"):
                replies[frame["id"]] = frame["type"]
        assert set(replies) == set(runs.values()) and set(replies.values()) == {"reply"}
        ends = {tid: wire.run_end(tid) for tid in tids}
        assert storage.batches - batches < 3 * len(tids)  # fewer commits than writes: they were grouped
        bad = ends.pop(tids[5])
        assert bad["event"] == "run_error" and "lock" in bad["data"]["error"]["message"].lower()
        assert all(end["event"] == "run_done" for end in ends.values())
        for n, tid in enumerate(tids):
            values = wire.request("get_state", thread_id=tid)["state"]["values"]
            assert values == ({} if n == 5 else {"answer": f"good-{n}", "value": f"good-{n}"})
        check_seqs(wire.events)
    statuses, open_runs = _stored_threads_and_open_runs(db)
    assert statuses[tids[5]] == "error" and all(statuses[t] == "idle" for t in tids if t != tids[5])
    assert open_runs == 0


def test_every_event_a_client_saw_is_stored_with_its_run_end(make_client: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    with make_client({"store": _answer_then_store("bad")}, db=db) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="store", input={})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value="x")
        end = wire.run_end(tid)
        seen = [(e["seq"], e["event"]) for e in wire.thread_events(tid)]
    with sqlite3.connect(db) as check:
        stored = [(seq, frame) for seq, frame in check.execute("SELECT seq, frame FROM events WHERE thread_id=? ORDER BY seq", (tid,))]
        assert [s for s, _ in stored] == [s for s, _ in seen]
        runs = check.execute("SELECT status, ended_at IS NOT NULL FROM runs WHERE thread_id=? ORDER BY created_at", (tid,)).fetchall()
        assert runs == [("interrupted", 1), ("done", 1)]  # finished runs stay on record
        assert end["event"] == "run_done"


def test_a_cancelled_queued_answer_frees_its_interrupt(make_client: Any) -> None:
    gate = Gate()
    with make_client({"two": two_questions(gate)}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="two", input={})["thread_id"]
        wire.run_end(tid)
        pending = {i["value"]: i["id"] for i in [e for e in wire.thread_events(tid) if e["event"] == "interrupt"][-1]["data"]["interrupts"]}
        running = wire.request("resume", thread_id=tid, interrupt_id=pending["a?"], value="A")
        queued = wire.request("resume", thread_id=tid, interrupt_id=pending["b?"], value="B1", if_busy="enqueue")
        assert wire.error("resume", thread_id=tid, interrupt_id=pending["b?"], value="B2", if_busy="enqueue")["code"] == "already_answered"
        assert wire.request("cancel", thread_id=tid, run_id=queued["run_id"])["run_id"] == queued["run_id"]
        again = wire.request("resume", thread_id=tid, interrupt_id=pending["b?"], value="B3", if_busy="enqueue")
        assert again["answered"] == [pending["b?"]]
        wire.call(gate.open)
        assert wire.run_end(tid, running["run_id"])["event"] == "run_interrupted"
        assert wire.run_end(tid, queued["run_id"])["event"] == "run_cancelled"
        assert wire.run_end(tid, again["run_id"])["event"] == "run_done"
        values = wire.request("get_state", thread_id=tid)["state"]["values"]
        assert (values["a"], values["b"]) == ("A", "B3")


def test_only_live_threads_stay_in_memory_and_the_others_load_on_demand(make_client: Any, db: str) -> None:
    settings = ServerSettings(max_idle_threads=3, head_cache_size=3)
    with make_client({"store": _answer_then_store("bad")}, db=db, settings=settings) as client, connect(client) as wire:
        runtime = client.app.state.runtime
        tids = []
        for _ in range(10):
            tid = wire.request("start_run", graph="store", input={})["thread_id"]
            wire.run_end(tid)
            wire.request("unsubscribe", thread_id=tid)  # a watched thread is live: it stays
            tids.append(tid)
        assert len(runtime.runs.threads) <= 3 and runtime.hub.statistics().threads <= 3 + 1  # bounded
        listed = wire.request("list_threads", limit=100)["threads"]
        assert sorted(t["thread_id"] for t in listed) == sorted(tids)
        heads = {tid: wire.thread_events(tid)[-1]["seq"] for tid in tids}
        assert [(t["status"], len(t["interrupts"]), t["head_seq"]) for t in listed] == [
            ("interrupted", 1, heads[t["thread_id"]]) for t in listed
        ]
        first = tids[0]  # long gone from memory: loaded when named
        wire.request("resume", thread_id=first, value="late")
        assert wire.run_end(first)["event"] == "run_done"
        assert wire.request("get_state", thread_id=first)["state"]["values"]["answer"] == "late"
        stats = runtime.statistics().runs
        assert (stats.threads, stats.interrupts_pending) == (10, 9)
    with make_client({"store": _answer_then_store("bad")}, db=db, settings=settings) as client, connect(client) as wire:
        runtime = client.app.state.runtime
        assert len(runtime.runs.threads) == 0  # a restart loads no thread until one is named
        assert runtime.statistics().runs.threads == 10
        sub = wire.request("subscribe", thread_id=tids[3], after=0)
        assert sub["replayed"] == heads[tids[3]] and sub["status"] == "interrupted"


def _ask_twice() -> CompiledStateGraph:
    """Asks, takes the answer, and asks again (a round trip like ``bench/ws_bench.py``'s)."""

    def first(state: V) -> V:
        return {"answer": interrupt("first?")}

    def second(state: V) -> V:
        return {"value": interrupt("second?")}

    g = StateGraph(V)
    g.add_node("first", first)
    g.add_node("second", second)
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", END)
    return g.compile()


@pytest.mark.parametrize("modes", [["updates"], ["values", "updates"]])
def test_an_answer_round_trip_is_three_commits_with_the_run_records_inside(
    make_client: Any, tmp_path: Path, modes: list[str]
) -> None:
    """The answer (before its reply), the step that takes it, and the run's end, which carries
    the next task's interrupt writes with the events so far: the run records of the LangGraph API
    ride in those commits rather than in commits of their own. A step's ``values`` event commits
    with that step's checkpoint (docs/server.md, "The durable path")."""
    db = str(tmp_path / "s.sqlite")
    settings = ServerSettings(event_flush_delay=30)  # the hub never stores events by itself here
    with make_client({"twice": _ask_twice()}, db=db, settings=settings) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        tid = wire.request("start_run", graph="twice", input={}, stream_modes=modes)["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        before = storage.batches
        wire.request("resume", thread_id=tid, value="yes", stream_modes=modes)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted"
        assert storage.batches - before == 3
        with sqlite3.connect(db) as check:  # stored by the time its terminal event was delivered
            status = check.execute("SELECT status FROM run_records WHERE run_id=?", (end["run_id"],)).fetchone()
            writes = check.execute("SELECT count(*) FROM writes WHERE thread_id=?", (tid,)).fetchone()
        assert status == ("success",)
        assert writes[0] >= 1
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["value"] for i in state["interrupts"]] == ["second?"]
        assert state["values"] == {"answer": "yes"}
    statuses, open_runs = _stored_threads_and_open_runs(db)
    assert statuses[tid] == "interrupted" and open_runs == 0


def _asks_while_a_sibling_works(gate: Gate) -> CompiledStateGraph:
    """One step, two tasks: ``ask`` interrupts at once, ``work`` waits for the gate."""

    def ask(state: V) -> V:
        return {"answer": interrupt("now?")}

    async def work(state: V) -> V:
        await gate.wait()
        return {"value": "worked"}

    g = StateGraph(V)
    g.add_node("ask", ask)
    g.add_node("work", work)
    g.add_edge(START, "ask")
    g.add_edge(START, "work")
    g.add_edge("ask", END)
    g.add_edge("work", END)
    return g.compile()


def test_an_interrupt_that_waits_for_its_sibling_is_stored_with_the_step(make_client: Any, tmp_path: Path) -> None:
    """A task that interrupts while its sibling still works: after the step and a restart the
    interrupt is pending, the sibling's result kept (not run again), and the answer resumes only
    the task that asked."""
    db = str(tmp_path / "s.sqlite")
    gate = Gate()
    settings = ServerSettings(event_flush_delay=30)  # nothing stored by the hub on its own
    with make_client({"par": _asks_while_a_sibling_works(gate)}, db=db, settings=settings) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="par", input={})["thread_id"]
        wire.call(gate.open)
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted" and len(end["data"]["interrupt_ids"]) == 1
    gate = Gate()  # a new process: nothing of the first in memory
    with make_client({"par": _asks_while_a_sibling_works(gate)}, db=db, settings=settings) as client, connect(client) as wire:
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["value"] for i in state["interrupts"]] == ["now?"]
        assert [i["id"] for i in state["interrupts"]] == end["data"]["interrupt_ids"]
        assert state["values"] == {"value": "worked"}  # the sibling's write, not run again
        wire.request("resume", thread_id=tid, value="yes")
        assert wire.run_end(tid)["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"] == {"answer": "yes", "value": "worked"}


def test_an_interrupts_writes_held_for_the_runs_end_survive_a_failed_end_write(make_client: Any, tmp_path: Path) -> None:
    """The writes of an interrupt that ends a run commit with the run's end. When that write
    fails, nothing of it is lost or told twice: it is tried again with the same events, the
    interrupt's writes and the records, so the thread waits for the answer and takes it."""
    db = str(tmp_path / "s.sqlite")
    with make_client({"twice": _ask_twice()}, db=db) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        real = storage.write
        failed: list[Any] = []

        async def failing_once(write: Any) -> None:
            if not failed and write.task_writes and any(r.status == "interrupted" for r in write.runs):
                failed.append(write)
                for undo in write.after_failure:
                    undo(OSError("disk full"))
                raise OSError("disk full")
            await real(write)

        tid = wire.request("start_run", graph="twice", input={}, stream_modes=["updates"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        storage.write = failing_once
        wire.request("resume", thread_id=tid, value="yes", stream_modes=["updates"])
        end = wire.run_end(tid)
        assert failed, "the run's end did not carry the interrupt's writes"
        assert end["event"] == "run_interrupted"
        storage.write = real
        events = wire.thread_events(tid)
        check_seqs(events)  # no gap, no repeat
        ends = [e["event"] for e in events if e["event"].startswith("run_") and e["event"] != "run_started"]
        assert ends == ["run_interrupted", "run_interrupted"]  # one terminal event per run
        state = wire.request("get_state", thread_id=tid)["state"]
        assert [i["value"] for i in state["interrupts"]] == ["second?"]
        wire.request("resume", thread_id=tid, value="again")
        assert wire.run_end(tid)["event"] == "run_done"
        assert wire.request("get_state", thread_id=tid)["state"]["values"] == {"answer": "yes", "value": "again"}


def test_a_steps_values_event_commits_with_its_checkpoint(make_client: Any, tmp_path: Path) -> None:
    """The state after a step is reported in the transaction that saves it: a client that saw the
    ``values`` event finds that checkpoint stored, and no write lags it into the next one."""
    db = str(tmp_path / "s.sqlite")
    settings = ServerSettings(event_flush_delay=30)  # the hub never stores events by itself here
    with make_client({"twice": _ask_twice()}, db=db, settings=settings) as client, connect(client) as wire:
        storage = client.app.state.runtime.storage
        real = storage.write
        with_checkpoint: list[list[str]] = []

        async def watched(write: Any) -> None:
            await real(write)
            if write.checkpoint is not None:
                with_checkpoint.append([row.frame for row in write.events])

        storage.write = watched
        tid = wire.request("start_run", graph="twice", input={}, stream_modes=["values"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        wire.request("resume", thread_id=tid, value="yes", stream_modes=["values"])
        assert wire.run_end(tid)["event"] == "run_interrupted"
        step = with_checkpoint[-1]  # the step that took the answer
        assert any('"answer":"yes"' in frame for frame in step if '"event":"values"' in frame)


def _ask_three_times() -> CompiledStateGraph:
    def ask(state: V) -> V:
        return {"answer": [interrupt("one?"), interrupt("two?"), interrupt("three?")]}

    g = StateGraph(V)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile()


def test_answer_round_trips_leave_no_cycle_to_collect(make_client: Any, db: str) -> None:
    """What a round trip allocates (its staged writes and their hooks, the interrupt) is freed by
    reference counting: under load, collections that find work cost the server ~10% of its CPU."""
    from cycles import collector_off

    with make_client({"ask": _ask_three_times()}, db=db) as client, connect(client) as wire:

        def one_thread() -> None:
            tid = wire.request("start_run", graph="ask", input={})["thread_id"]
            assert wire.run_end(tid)["event"] == "run_interrupted"
            for n, answer in enumerate(["a", "b", "c"]):
                wire.request("resume", thread_id=tid, value=answer)
                assert wire.run_end(tid)["event"] == ("run_done" if n == 2 else "run_interrupted")

        one_thread()  # warm-up: caches, worker threads, prepared statements
        with collector_off() as found:
            for _ in range(3):
                one_thread()
        assert found == [], f"cycles left for the collector: {found}"
