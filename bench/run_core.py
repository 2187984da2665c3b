"""Side-by-side benchmark of streamhil's core runtime against LangGraph, in one run.

    python bench/run_core.py            # everything (about 3-4 minutes on 2 cores)
    python bench/run_core.py --quick    # fewer repetitions (about a minute)
    python bench/run_core.py --only chain,resume --no-trio --json out.json
    python bench/run_core.py --clock cpu  # CPU seconds instead of wall time (busy machines)

Prints one line per case as it finishes (median, p90 where there are 5+ samples, and
LangGraph's median over streamhil's), then the table of targets with PASS/MISS. Exits 1 if a
workload raised (a bug, not a slow result); MISS does not change the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LANGGRAPH, STREAMHIL, STREAMHIL_TRIO, Case, Result, run_case  # noqa: E402
from libs import libraries  # noqa: E402
from workloads import chain, checkpoint_size, fanout, interrupts, memory, wide_state  # noqa: E402
from workloads._common import Settings, use_clock  # noqa: E402

COLUMNS = (LANGGRAPH, STREAMHIL, STREAMHIL_TRIO)
GROUPS: dict[str, Callable[[Settings], list[Case]]] = {
    "chain": chain.cases,
    "fanout": fanout.cases,
    "resume": interrupts.cases,
    "wide": wide_state.cases,
    "memory": memory.cases,
    "size": checkpoint_size.cases,
}


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(result: Result, column: str) -> str:
    if column in result.errors:
        return "ERROR"
    if column in result.unavailable:
        return "n/a"
    if column not in result.samples:
        return ""
    median = _fmt(result.shown(result.median(column)))
    p90 = result.p90(column)
    if p90 is None:
        return median
    # For a rate, the slow tail is the *low* rate: show the rate at the 90th-percentile time.
    return f"{median} (p90 {_fmt(result.shown(p90))})"


def _ratio(result: Result, column: str) -> str:
    ratio = result.ratio(column)
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_line(result: Result) -> str:
    case = result.case
    return (
        f"{case.title:<52} {case.unit:>9}  {_cell(result, LANGGRAPH):>20}  {_cell(result, STREAMHIL):>20}"
        f"  {_ratio(result, STREAMHIL):>7}  {_cell(result, STREAMHIL_TRIO):>20}  {_ratio(result, STREAMHIL_TRIO):>7}"
    )


HEADER = (
    f"{'case':<52} {'unit':>9}  {'langgraph':>20}  {'streamhil asyncio':>20}"
    f"  {'ratio':>7}  {'streamhil trio':>20}  {'ratio':>7}"
)


def format_targets(results: list[Result]) -> list[str]:
    lines = [f"{'target':<34} {'case':<52} {'measured':>16}  verdict"]
    for result in results:
        for target in result.case.targets:
            if target.kind == "ratio":
                ratio = result.ratio()
                measured = "-" if ratio is None else f"{ratio:.2f}x"
            else:
                measured = f"{_fmt(result.shown(result.median(STREAMHIL)))} {result.case.unit}"
            lines.append(f"{target.goal:<34} {result.case.title:<52} {measured:>16}  {result.verdict(target)}")
    return lines


def source_state() -> str:
    """The commit the streamhil tree is at, and whether ``streamhil/`` has uncommitted edits."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "streamhil"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"{head}{' + uncommitted edits in streamhil/' if dirty else ''}"


def machine_line() -> str:
    return (
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus, "
        f"streamhil {version('streamhil')} at {source_state()}, langgraph {version('langgraph')}, "
        f"langgraph-checkpoint-sqlite {version('langgraph-checkpoint-sqlite')}, anyio {version('anyio')}, "
        f"trio {version('trio')}; load average {os.getloadavg()[0]:.2f} at start"
    )


def to_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "key": r.case.key,
            "title": r.case.title,
            "unit": r.case.unit,
            "samples": {column: [r.shown(v) for v in values] for column, values in r.samples.items()},
            "median": {column: r.shown(r.median(column)) for column in r.samples},
            "ratio": {column: r.ratio(column) for column in (STREAMHIL, STREAMHIL_TRIO)},
            "unavailable": r.unavailable,
            "errors": r.errors,
            "targets": [{"goal": t.goal, "verdict": r.verdict(t)} for t in r.case.targets],
        }
        for r in results
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-trio", action="store_true", help="skip the streamhil-on-trio columns")
    parser.add_argument("--only", default="", help=f"comma-separated groups or case-key prefixes ({', '.join(GROUPS)})")
    parser.add_argument("--json", metavar="PATH", help="also write every sample as JSON")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: perf_counter (default); cpu: process CPU time, steadier on a busy machine",
    )
    args = parser.parse_args(argv)
    libraries()  # fails early, with the install hint, when LangGraph is missing
    settings = Settings(quick=args.quick, trio=not args.no_trio)
    use_clock(args.clock)
    wanted = [w for w in args.only.split(",") if w]

    print(f"{machine_line()}; clock: {args.clock}", flush=True)
    print(HEADER, flush=True)
    results: list[Result] = []
    began = time.perf_counter()
    for group, make_cases in GROUPS.items():
        for case in make_cases(settings):
            if wanted and not any(group == w or case.key.startswith(w) for w in wanted):
                continue
            result = run_case(case)
            results.append(result)
            print(format_line(result), flush=True)
            if case.note:
                print(f"    ({case.note})", flush=True)
    print(f"\ntotal {time.perf_counter() - began:.0f} s; ratio = LangGraph median / streamhil median "
          "(higher is better for streamhil)\n")
    for line in format_targets(results):
        print(line)
    for result in results:
        for column, reason in result.unavailable.items():
            print(f"n/a: {result.case.key} [{column}]: {reason}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine_line(), "results": to_json(results)}, handle, indent=1)
    failed = [(r.case.key, c) for r in results for c in r.errors]
    if failed:
        print(f"\nERRORS in {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
