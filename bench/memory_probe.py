"""Measures one workload's memory in a process of its own (run by ``workloads/memory.py``).

    python bench/memory_probe.py LIB BACKEND WORKLOAD MEASURE

``LIB`` is ``langgraph`` or ``streamhil``; ``BACKEND`` ``asyncio`` or ``trio``; ``WORKLOAD``
``fanout-cpu`` or ``resume-loop``; ``MEASURE`` ``rss`` (growth of the peak resident set over the
resident set before the run: the peak is reset through ``/proc/self/clear_refs``) or
``tracemalloc`` (peak of Python allocations over those before the run). The workload runs once
to warm up (imports, caches) before the measured run. Prints the number of bytes.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from libs import libraries  # noqa: E402
from workloads.fanout import run_cpu_fanout  # noqa: E402
from workloads.interrupts import run_loop  # noqa: E402

WORKLOADS: dict[str, Callable[..., Awaitable[float]]] = {
    "fanout-cpu": lambda lib: run_cpu_fanout(lib, "memory"),
    "resume-loop": lambda lib: run_loop(lib, "memory"),
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


def measure(lib_name: str, backend: str, workload: str, how: str) -> int:
    lib = {lib.name: lib for lib in libraries()}[lib_name]
    run = WORKLOADS[workload]
    anyio.run(run, lib, backend=backend)  # warm-up
    gc.collect()
    if how == "rss":
        before = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current resident set
        anyio.run(run, lib, backend=backend)
        return (_status_kib("VmHWM") - before) * 1024
    if how == "tracemalloc":
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        anyio.run(run, lib, backend=backend)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak - base
    raise SystemExit(f"unknown measure {how!r}: expected rss or tracemalloc")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    print(measure(*sys.argv[1:]))
