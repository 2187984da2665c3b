"""The statistics and verdicts the benchmark prints: medians, p90, ratios, PASS/MISS, rotation."""

from __future__ import annotations

import pytest

from harness import LANGGRAPH, STREAMHIL, STREAMHIL_TRIO, Case, Result, Target, Variant, run_case


def _case(**kwargs: object) -> Case:
    fields: dict[str, object] = {"key": "k", "title": "t", "unit": "ms", "scale": 1e3, "variants": [], "reps": 3}
    fields.update(kwargs)
    return Case(**fields)  # type: ignore[arg-type]


def test_median_p90_and_ratio() -> None:
    result = Result(_case())
    result.samples[LANGGRAPH] = [0.010, 0.012, 0.011, 0.050, 0.013, 0.009, 0.011, 0.010, 0.012, 0.011]
    result.samples[STREAMHIL] = [0.002, 0.0025, 0.002, 0.003, 0.002]
    assert result.median(LANGGRAPH) == pytest.approx(0.011)
    assert result.p90(LANGGRAPH) == pytest.approx(0.013)  # nearest rank: 9th of 10 sorted
    assert result.median(STREAMHIL) == pytest.approx(0.002)
    assert result.ratio() == pytest.approx(5.5)
    assert result.ratio(STREAMHIL_TRIO) is None
    assert result.shown(result.median(LANGGRAPH)) == pytest.approx(11.0)


def test_p90_needs_five_samples() -> None:
    result = Result(_case())
    result.samples[STREAMHIL] = [1.0, 2.0, 3.0, 4.0]
    assert result.p90(STREAMHIL) is None


def test_rates_are_shown_inverted() -> None:
    result = Result(_case(unit="rounds/s", scale=1.0, per_second=True))
    result.samples[STREAMHIL] = [0.004, 0.005, 0.006]
    assert result.shown(result.median(STREAMHIL)) == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("lg", "sh", "verdict"),
    [([0.05], [0.01], "PASS"), ([0.049], [0.01], "MISS"), ([0.05], [], "n/a")],
)
def test_ratio_verdict(lg: list[float], sh: list[float], verdict: str) -> None:
    result = Result(_case())
    result.samples[LANGGRAPH] = lg
    if sh:
        result.samples[STREAMHIL] = sh
    assert result.verdict(Target("5x", "ratio", 5.0)) == verdict


def test_at_most_verdict_reads_streamhil_only() -> None:
    result = Result(_case())
    result.samples[LANGGRAPH] = [0.5]
    result.samples[STREAMHIL] = [0.011, 0.013, 0.0119]
    assert result.verdict(Target("12 ms", "at_most", 0.012)) == "PASS"
    result.samples[STREAMHIL] = [0.0121]
    assert result.verdict(Target("12 ms", "at_most", 0.012)) == "MISS"


def test_run_case_alternates_and_rotates() -> None:
    calls: list[str] = []

    def variant(column: str) -> Variant:
        def run() -> float:
            calls.append(column)
            return float(len(calls))

        return Variant(column, run)

    case = _case(variants=[variant("a"), variant("b"), variant("c")], reps=3, warmup=1)
    result = run_case(case, log=lambda line: None)
    assert calls[:3] == ["a", "b", "c"]  # warm-up, thrown away
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert result.samples == {"a": [4.0, 9.0, 11.0], "b": [5.0, 7.0, 12.0], "c": [6.0, 8.0, 10.0]}


def test_run_case_reports_errors_and_unavailable_columns() -> None:
    from libs import SqliteUnavailable

    def broken() -> float:
        raise ValueError("boom")

    def missing() -> float:
        raise SqliteUnavailable("no saver")

    case = _case(variants=[Variant("ok", lambda: 1.0), Variant("bad", broken), Variant("na", missing)])
    result = run_case(case, log=lambda line: None)
    assert result.samples == {"ok": [1.0, 1.0, 1.0]}
    assert "ValueError: boom" in result.errors["bad"]
    assert result.unavailable == {"na": "no saver"}
