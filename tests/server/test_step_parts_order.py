"""The server's events of a step that interrupts, in the executor's (LangGraph's) order: the
interrupted task's ``updates`` and ``values`` parts, its ``tasks`` result, the step's last
``values`` part (a sibling's write applied), and only then ``interrupt`` and
``run_interrupted``. A resumed step does not log again the start and update of the sibling that
finished before (``astream`` streams them, the update marked ``cached``, as LangGraph does; the
thread's log has them: ``arun`` leaves them out)."""

from __future__ import annotations

from typing import Any

from .conftest import connect
from .graphs import ask_beside_other
from .wire import check_seqs


def test_the_interrupting_step_then_the_run_end(make_client: Any) -> None:
    modes = ["values", "updates", "tasks"]
    with make_client({"g": ask_beside_other()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="g", input={"log": []}, stream_modes=modes)["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        run = [(e["event"], e["data"]) for e in wire.thread_events(tid)]
        assert [kind for kind, _ in run[:4]] == ["run_started", "values", "tasks", "tasks"]  # both starts first
        assert [kind for kind, _ in run[-3:]] == ["values", "interrupt", "run_interrupted"]
        assert run[-3][1] == {"log": ["other"]}  # the step's last part: other's write, no interrupt
        step = run[4:-3]  # ask's and other's parts, in the order they ended
        of_ask = [(kind, data) for kind, data in step if "__interrupt__" in data or data.get("name") == "ask"]
        assert [kind for kind, _ in of_ask] == ["updates", "values", "tasks"]
        assert of_ask[1][1]["log"] == []  # the state the step started from, with the interrupt
        seen = wire.thread_events(tid)[-1]["seq"]

        wire.request("resume", thread_id=tid, value="yes", stream_modes=modes)
        assert wire.run_end(tid)["event"] == "run_done"
        resumed = [e for e in wire.thread_events(tid) if e["seq"] > seen]
        updates = [e["data"] for e in resumed if e["event"] == "updates"]
        assert updates == [{"ask": {"answer": "yes"}}, {"last": {"n": 1}}]  # no cached {"other": ...}
        starts = [e["data"]["name"] for e in resumed if e["event"] == "tasks" and "input" in e["data"]]
        assert starts == ["ask", "last"]  # nor the finished sibling's start (astream has it, as LangGraph)
        check_seqs(wire.events)
