"""The closed sets the protocol defines once and the server and SDK share: thread statuses,
event names and the status a thread has after each lifecycle event. Wire values are fixed."""

from __future__ import annotations

from typing import get_args

from streamhil.protocol import (
    STREAM_EVENT_KINDS,
    TERMINAL_EVENT_KINDS,
    THREAD_STATUS_AFTER,
    THREAD_STATUSES,
    EventKind,
    ThreadStatus,
)


def test_thread_statuses_are_the_four_wire_values() -> None:
    assert THREAD_STATUSES == get_args(ThreadStatus) == ("idle", "running", "interrupted", "error")


def test_event_names_on_the_wire() -> None:
    assert {k.value for k in EventKind} == {
        "values", "updates", "custom", "messages", "debug", "tasks", "checkpoints", "events",
        "interrupt", "run_started", "run_interrupted", "run_done", "run_error", "run_cancelled",
        "state_updated",
    }
    assert all(isinstance(k, str) and k == k.value for k in EventKind)  # compare and hash as text


def test_every_lifecycle_event_leaves_a_thread_status() -> None:
    assert set(THREAD_STATUS_AFTER) == {EventKind.RUN_STARTED, *TERMINAL_EVENT_KINDS}
    assert set(THREAD_STATUS_AFTER.values()) <= set(THREAD_STATUSES)
    assert THREAD_STATUS_AFTER["run_interrupted"] == "interrupted"  # looked up by the wire name
    assert not set(THREAD_STATUS_AFTER) & STREAM_EVENT_KINDS
