"""Workload 8: peak memory of the CPU fan-out and of the interrupt/resume loop.

Each figure comes from a fresh interpreter running ``bench/memory_probe.py``, so one library's
heap never counts against the other's. Two measures from the same process: the tracemalloc peak
(Python allocations made during the run) and the growth of peak RSS over RSS before the run
(what the OS sees). Memory barely varies between runs, so each is measured once.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

from harness import LANGGRAPH, STREAMHIL, STREAMHIL_TRIO, Case, Target, Variant
from workloads._common import Settings

__all__ = ["cases"]

PROBE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "memory_probe.py")


@functools.cache
def probe(lib: str, backend: str, workload: str) -> dict[str, float]:
    """``{"rss": bytes, "tracemalloc": bytes}`` from a fresh ``memory_probe.py`` process."""
    done = subprocess.run(
        [sys.executable, PROBE, lib, backend, workload], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {lib} {backend} {workload} failed:\n{done.stderr}")
    return {k: float(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def _variant(column: str, lib: str, backend: str, workload: str, how: str) -> Variant:
    return Variant(column, lambda: probe(lib, backend, workload)[how])


def cases(settings: Settings) -> list[Case]:
    half = Target("memory <= half of LangGraph", "ratio", 2.0)
    out = []
    for workload, title in (("fanout-cpu", "500-way CPU fan-out"), ("resume-loop", "200-thread interrupt/resume")):
        for how, label in (("tracemalloc", "tracemalloc peak"), ("rss", "peak RSS growth")):
            variants = [
                _variant(LANGGRAPH, "langgraph", "asyncio", workload, how),
                _variant(STREAMHIL, "streamhil", "asyncio", workload, how),
            ]
            if settings.trio and not settings.quick:
                variants.append(_variant(STREAMHIL_TRIO, "streamhil", "trio", workload, how))
            out.append(
                Case(
                    key=f"memory-{workload}-{how}",
                    title=f"memory: {title}, {label}",
                    unit="MB",
                    scale=1e-6,
                    variants=variants,
                    reps=1,
                    warmup=0,
                    targets=[half],
                )
            )
    return out
