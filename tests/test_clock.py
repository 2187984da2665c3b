"""now_iso: the text datetime.isoformat gives, for any instant, at a lower cost."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

import streamhil._clock as clock


def _at(monkeypatch: pytest.MonkeyPatch, ns: int) -> str:
    monkeypatch.setattr(clock.time, "time_ns", lambda: ns)
    return clock.now_iso()


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))  # 1970 .. 2100
def test_same_text_as_isoformat(ns: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        expected = datetime.fromtimestamp(ns // 10**9, timezone.utc).replace(microsecond=ns // 1000 % 10**6)
        assert _at(mp, ns) == expected.isoformat()


def test_second_boundaries_and_whole_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    base = 1_796_000_000 * 10**9
    assert _at(monkeypatch, base + 999_999_000) == "2026-11-30T00:53:20.999999+00:00"
    assert _at(monkeypatch, base + 10**9) == "2026-11-30T00:53:21+00:00"  # isoformat drops .000000
    assert _at(monkeypatch, base + 10**9 + 1_000) == "2026-11-30T00:53:21.000001+00:00"
    assert _at(monkeypatch, base) == "2026-11-30T00:53:20+00:00"  # an earlier second again


def test_parses_back_and_sorts() -> None:
    first = clock.now_iso()
    second = clock.now_iso()
    assert datetime.fromisoformat(first) <= datetime.fromisoformat(second)
    assert abs(datetime.fromisoformat(first) - datetime.now(timezone.utc)).total_seconds() < 60
