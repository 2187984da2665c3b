"""``update_state`` refusals say what the caller did wrong (found by a tester):

- on a busy thread, ``thread_busy`` advises to retry once the run has ended; it used to say "pass
  if_busy='enqueue'", a field ``update_state`` refuses;
- values that are no update (a string, a number, a list) are refused naming the ``values`` the
  caller sent; the message used to say "Node 'slow' returned 'x'" although no node was named.
"""

from __future__ import annotations

from typing import Any

from .conftest import connect
from .graphs import Gate, counter, gated


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


def test_update_state_with_values_that_are_no_update_names_the_field(make_client: Any) -> None:
    with make_client({"counter": counter()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="counter", input={"n": 1})["thread_id"]
        wire.run_end(tid)
        for values, shown in (("x", "str 'x'"), (5, "int 5"), ([1, 2], "list [1, 2]")):
            refused = wire.error("update_state", thread_id=tid, values=values)
            assert (refused["code"], refused["path"]) == ("invalid_argument", "values"), refused
            message = refused["message"]
            assert message.startswith(f"update_state: expected dict as values, got {shown}"), message
            assert "Node" not in message and "returned" not in message and "inc" not in message
