"""kill -9 loop with a fixed seed: 32 SIGKILLs at chosen points (inside a transaction before its
COMMIT, right after a COMMIT, mid-step in a node, when the N-th frame reaches a client) and at
seeded random ones, during interrupt/resume traffic on 6 threads over 2 connections. Afterwards:
no acknowledged answer or start input lost, no thread wedged, no event repeated, exactly one
terminal event per run, and the SQLite file passes its integrity check.

``python bench/kill_loop.py --kills 200`` runs the same loop longer (see docs/server.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from kill_loop import kill_loop  # noqa: E402

pytestmark = pytest.mark.anyio


async def test_kill_loop_loses_nothing_wedges_nothing_repeats_nothing(tmp_path: Path) -> None:
    report = await kill_loop(tmp_path, kills=32, seed=20261204, threads=6, connections=2)
    assert report.kills == 32 and set(report.kinds) == {"commit_before", "commit_after", "node", "client"}
    assert report.acked_answers > 20 and report.acked_starts > 5  # the traffic really went on between kills
    assert report.problems == []
    assert (report.lost_answers, report.doubled_answers, report.lost_inputs, report.wedged) == (0, 0, 0, 0)
    assert (report.duplicate_events, report.terminal_problems, report.seq_gaps, report.run_errors) == (0, 0, 0, 0)
    assert report.integrity == "ok"
