"""Where streamhil's per-step time goes: cProfile over the chain and the fan-outs.

    python bench/profile_core.py                 # every workload below
    python bench/profile_core.py chain-memory --top 40 --backend trio

For each workload: the functions with the most own time (share of the profiled total), then own
time summed per source file, which shows how much is the executor, the checkpointer, the serde,
anyio and the event loop. cProfile slows Python code down, calls into C less so: read the shares,
not the absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from libs import STREAMHIL  # noqa: E402
from workloads._common import SaverKind, new_config, open_saver  # noqa: E402
from workloads.chain import build_chain  # noqa: E402
from workloads.fanout import build_cpu_fanout, build_sleep_fanout  # noqa: E402
from workloads.interrupts import build_loop  # noqa: E402

Body = Callable[[Any], Awaitable[None]]


def _invoke(graph_input: dict[str, Any], times: int) -> Body:
    async def body(graph: Any) -> None:
        for _ in range(times):
            await graph.ainvoke(graph_input, new_config())

    return body


async def _resume_rounds(graph: Any) -> None:
    for _ in range(200):
        config = new_config()
        await graph.ainvoke({"answer": "", "done": False}, config)
        await graph.ainvoke(STREAMHIL.Command(resume="yes"), config)


# name -> (graph builder, saver, what is profiled); building and compiling are not profiled
WORKLOADS: dict[str, tuple[Callable[[Any], Any], SaverKind, Body]] = {
    "chain-memory": (build_chain, "memory", _invoke({"x": 0}, 20)),
    "chain-sqlite": (build_chain, "sqlite", _invoke({"x": 0}, 5)),
    "fanout-sleep": (build_sleep_fanout, "memory", _invoke({"done": []}, 20)),
    "fanout-cpu": (build_cpu_fanout, "memory", _invoke({"done": []}, 3)),
    "resume-loop": (build_loop, "memory", _resume_rounds),
}


async def _run(name: str, profiler: cProfile.Profile | None) -> None:
    build, kind, body = WORKLOADS[name]
    async with open_saver(STREAMHIL, kind) as saver:
        graph = build(STREAMHIL).compile(checkpointer=saver)
        if profiler is not None:
            profiler.enable()
        try:
            await body(graph)
        finally:
            if profiler is not None:
                profiler.disable()


def _where(filename: str) -> str:
    """A short name for a source file: ``streamhil/executor/loop.py``, ``anyio``, ``asyncio``..."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    parts = filename.replace(os.sep, "/").split("/")
    for anchor in ("streamhil", "anyio", "asyncio", "trio", "aiosqlite", "sqlite3", "bench"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            tail = parts[index:]
            return "/".join(tail) if anchor in ("streamhil", "bench") else anchor
    return parts[-1]


def profile(name: str, backend: str, repeat: int) -> pstats.Stats:
    anyio.run(_run, name, None, backend=backend)  # warm-up, not profiled
    profiler = cProfile.Profile()
    for _ in range(repeat):
        anyio.run(_run, name, profiler, backend=backend)
    return pstats.Stats(profiler)


def report(name: str, stats: pstats.Stats, top: int) -> None:
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    print(f"\n== {name}: {total:.3f} s of own time profiled")
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    print(f"{'own %':>6} {'cum %':>6} {'calls':>9}  function")
    for (filename, line, function), (_, ncalls, own, cumulative, _) in rows:
        print(f"{100 * own / total:6.1f} {100 * cumulative / total:6.1f} {ncalls:9d}  {_where(filename)}:{line} {function}")
    per_file: dict[str, float] = defaultdict(float)
    for (filename, _, _), entry in raw.items():
        per_file[_where(filename)] += entry[2]
    print(f"\n{'own %':>6}  source")
    for where, own in sorted(per_file.items(), key=lambda item: item[1], reverse=True)[:top]:
        print(f"{100 * own / total:6.1f}  {where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
        report(f"{name} on {args.backend}", profile(name, args.backend, args.repeat), args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
