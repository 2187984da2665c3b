"""Measuring: cases, variants, alternated repetitions, medians, ratios and targets.

A :class:`Case` is one workload at one setting. Each of its :class:`Variant`\\ s (LangGraph,
streamhil on asyncio, streamhil on trio) is a callable that runs one repetition and returns one
number where lower is better: seconds per step, per round or per run, or bytes. Repetitions are
alternated: round ``i`` runs every variant once, in an order rotated by ``i``, so slow drifts of
a shared machine hit all of them alike. Warm-up rounds are run first and thrown away. ``gc``
stays enabled while timing; a ``gc.collect()`` before each sample keeps one library's garbage
from being collected on the other's clock.
"""

from __future__ import annotations

import gc
import math
import statistics
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from libs import SaverUnavailable

__all__ = [
    "Variant",
    "Target",
    "Case",
    "Result",
    "on_backend",
    "run_case",
    "LANGGRAPH",
    "STREAMHIL",
    "STREAMHIL_TRIO",
]

LANGGRAPH = "langgraph"
STREAMHIL = "streamhil"
STREAMHIL_TRIO = "streamhil-trio"


@dataclass(frozen=True)
class Variant:
    """One column of a case: ``run()`` does one repetition and returns its value."""

    column: str
    run: Callable[[], float]


@dataclass(frozen=True)
class Target:
    """A goal a case is judged against.

    ``ratio``: LangGraph's median over streamhil's (asyncio) must be at least ``threshold``.
    ``at_most``: streamhil's median must be at most ``threshold`` (in the case's raw unit).
    """

    goal: str
    kind: Literal["ratio", "at_most"]
    threshold: float


@dataclass
class Case:
    """A workload at one setting, with how to show its numbers."""

    key: str
    title: str
    unit: str
    scale: float  # raw value times scale is the shown value (unless ``per_second``)
    variants: list[Variant]
    reps: int
    warmup: int = 1
    per_second: bool = False  # show ``scale / value`` (a rate) instead of ``value * scale``
    targets: list[Target] = field(default_factory=list)
    note: str = ""


@dataclass
class Result:
    """A case's samples per column, and why a column has none."""

    case: Case
    samples: dict[str, list[float]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # column -> reason (n/a)
    errors: dict[str, str] = field(default_factory=dict)  # column -> traceback (a bug)

    def median(self, column: str) -> float | None:
        values = self.samples.get(column)
        return statistics.median(values) if values else None

    def p90(self, column: str) -> float | None:
        values = sorted(self.samples.get(column) or ())
        if len(values) < 5:
            return None
        return values[math.ceil(0.9 * len(values)) - 1]

    def ratio(self, column: str = STREAMHIL) -> float | None:
        """LangGraph's median over ``column``'s: how many times less time (or memory) it takes."""
        base, other = self.median(LANGGRAPH), self.median(column)
        if base is None or other is None or other <= 0:
            return None
        return base / other

    def shown(self, value: float | None) -> float | None:
        if value is None:
            return None
        if self.case.per_second:
            return self.case.scale / value if value > 0 else math.inf
        return value * self.case.scale

    def verdict(self, target: Target) -> str:
        if target.kind == "ratio":
            ratio = self.ratio()
            if ratio is None:
                return "n/a"
            return "PASS" if ratio >= target.threshold else "MISS"
        median = self.median(STREAMHIL)
        if median is None:
            return "n/a"
        return "PASS" if median <= target.threshold else "MISS"


def on_backend(backend: str, fn: Callable[[], Awaitable[float]]) -> Callable[[], float]:
    """A variant body that runs the coroutine function ``fn`` on a fresh ``backend`` event loop."""

    def run() -> float:
        return anyio.run(fn, backend=backend)

    return run


def _sample(variant: Variant) -> float:
    gc.collect()
    return variant.run()


def run_case(case: Case, *, reps: int | None = None, log: Callable[[str], None] = print) -> Result:
    """Warm up each variant, then run ``reps`` alternated rounds; collect one sample per round."""
    result = Result(case)
    live: list[Variant] = []
    for variant in case.variants:
        try:
            for _ in range(case.warmup):
                _sample(variant)
        except SaverUnavailable as exc:
            result.unavailable[variant.column] = str(exc)
            continue
        except Exception:
            result.errors[variant.column] = traceback.format_exc()
            log(f"  ! {case.key} [{variant.column}] failed in warm-up:\n{result.errors[variant.column]}")
            continue
        live.append(variant)
        result.samples[variant.column] = []
    for round_no in range(reps if reps is not None else case.reps):
        shift = round_no % len(live) if live else 0
        for variant in live[shift:] + live[:shift]:
            if variant.column in result.errors:
                continue
            try:
                result.samples[variant.column].append(_sample(variant))
            except Exception:
                result.errors[variant.column] = traceback.format_exc()
                log(f"  ! {case.key} [{variant.column}] failed:\n{result.errors[variant.column]}")
    return result
