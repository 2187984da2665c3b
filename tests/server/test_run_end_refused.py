"""A run whose end the storage keeps refusing (for another reason than being unavailable) ends
once: its terminal event is told when a later write of its thread stores the end, never followed
by a second, contradictory one."""

from __future__ import annotations

from typing import Any

import pytest
from streamhil_server.runs.execution import _END_WRITE_ATTEMPTS
from streamhil_server.storage import MemoryStorage, Write

from .conftest import connect
from .graphs import counter
from .wire import TERMINAL


_REFUSALS = 3 * _END_WRITE_ATTEMPTS
"""More than the run's own attempts: it gives up and leaves its end to a later write."""


def test_a_run_end_refused_every_attempt_is_told_once(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, refused = MemoryStorage.write, []

    async def write(self: MemoryStorage, w: Write) -> None:
        if any(run.status == "done" for run in w.runs) and len(refused) < _REFUSALS:
            refused.append(w)
            error = RuntimeError("refused by the test")
            for failed in w.after_failure:  # as a storage does with a write it refuses
                failed(error)
            raise error
        await store(self, w)

    monkeypatch.setattr(MemoryStorage, "write", write)
    with make_client({"g": counter()}) as client, connect(client) as wire:
        first = wire.request("start_run", graph="g", input={}, stream_modes=[])
        tid = first["thread_id"]
        second = wire.request("start_run", graph="g", thread_id=tid, input={}, stream_modes=[], if_busy="enqueue")
        wire.run_end(tid, second["run_id"])  # its first write stored the first run's end too
        ends = [(e["run_id"], e["event"]) for e in wire.events if e["event"] in TERMINAL]
    assert len(refused) == _REFUSALS
    assert [end for end in ends if end[0] == first["run_id"]] == [(first["run_id"], "run_done")]
    assert [run for run, _ in ends] == [first["run_id"], second["run_id"]]  # (the second's writes were refused too)
