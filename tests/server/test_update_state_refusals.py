"""``update_state`` refusals say what the caller did wrong (found by a tester):

- on a busy thread, ``thread_busy`` advises to retry once the run has ended; it used to say "pass
  if_busy='enqueue'", a field ``update_state`` refuses.
"""

from __future__ import annotations

from typing import Any

from .conftest import connect
from .graphs import Gate, gated


def test_update_state_on_a_busy_thread_gives_advice_that_works_for_it(make_client: Any) -> None:
    gate = Gate()
    with make_client({"gated": gated(gate)}) as client, connect(client) as wire:
        run = wire.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
        tid = run["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")  # the run is inside "work"
        busy = wire.error("update_state", thread_id=tid, values={"n": 5})
        assert busy["code"] == "thread_busy" and busy["details"] == {"run_id": run["run_id"]}
        assert "if_busy" not in busy["message"] and "retry once it has ended" in busy["message"], busy
        assert "update_state cannot be queued" in busy["message"]
        # a command that does take if_busy still offers it
        assert "if_busy='enqueue'" in wire.error("start_run", graph="gated", thread_id=tid, input={"n": 1})["message"]
        wire.call(gate.open)
        assert wire.run_end(tid)["event"] == "run_interrupted"
        wire.request("update_state", thread_id=tid, values={"n": 5})  # retried once the run ended: taken

