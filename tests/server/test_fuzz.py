"""Hypothesis: whatever frames a client sends after hello, each gets an answer or an error frame,
the connection stays open, and a thread on it keeps working."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect

COMMANDS = ["start_run", "resume", "cancel", "subscribe", "unsubscribe", "get_state", "get_history",
            "update_state", "list_threads", "list_graphs", "ping", "hello", "bogus"]
FIELDS = ["graph", "thread_id", "input", "value", "interrupt_id", "answers", "after", "epoch", "limit",
          "stream_modes", "if_busy", "checkpoint_id", "values", "as_node", "status", "config", "goto", "extra"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8) | st.sampled_from(["approve", "values", "*"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
frames = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(COMMANDS), "id": st.text(min_size=1, max_size=6)},
        optional={f: json_values for f in FIELDS},
    ).map(lambda d: orjson.dumps(d).decode()),
    st.text(max_size=30),
    json_values.map(lambda v: orjson.dumps(v).decode()),
)


def test_random_frames_never_break_the_connection(make_client: Any) -> None:
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="multi_turn", input={"messages": []})["thread_id"]
        wire.run_end(tid)

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(frames, min_size=1, max_size=4))
        def check(batch: list[str]) -> None:
            for frame in batch:
                wire.send_raw(frame)
            # a ping after the batch is answered: the connection is alive and in order
            pong = wire.send("ping", id="fuzz-ping", payload="alive")
            answer = wire.answer(pong)
            assert answer["type"] == "reply" and answer["result"] == {"payload": "alive"}

        check()
        # the thread on this connection still works
        wire.request("resume", thread_id=tid, value="still fine")
        assert wire.run_end(tid)["event"] in ("run_interrupted", "run_error")
