"""Measures one workload's memory in a process of its own (run by ``workloads/memory.py``).

    python bench/memory_probe.py LIB BACKEND WORKLOAD

``LIB`` is ``langgraph`` or ``streamhil``; ``BACKEND`` ``asyncio`` or ``trio``; ``WORKLOAD``
``fanout-cpu`` or ``resume-loop``. A small instance of the workload runs first (imports and
caches that load on first use); then the full workload runs twice:

* ``rss``: growth of the peak resident set over the resident set before the run (the peak is
  reset through ``/proc/self/clear_refs``): what the OS sees;
* ``tracemalloc``: the peak of Python allocations over those before the run.

Prints ``{"rss": bytes, "tracemalloc": bytes}`` as JSON.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from libs import Lib, libraries  # noqa: E402
from workloads.fanout import run_cpu_fanout  # noqa: E402
from workloads.interrupts import run_loop  # noqa: E402

# name -> (full run, small warm-up run)
WORKLOADS: dict[str, tuple[Callable[[Lib], Awaitable[float]], Callable[[Lib], Awaitable[float]]]] = {
    "fanout-cpu": (lambda lib: run_cpu_fanout(lib, "memory"), lambda lib: run_cpu_fanout(lib, "memory", width=5)),
    "resume-loop": (lambda lib: run_loop(lib, "memory"), lambda lib: run_loop(lib, "memory", threads=2)),
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


def measure(lib_name: str, backend: str, workload: str) -> dict[str, int]:
    lib = {lib.name: lib for lib in libraries()}[lib_name]
    run, warm_up = WORKLOADS[workload]
    anyio.run(warm_up, lib, backend=backend)
    gc.collect()
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current resident set
    anyio.run(run, lib, backend=backend)
    rss = (_status_kib("VmHWM") - before) * 1024
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    anyio.run(run, lib, backend=backend)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {"rss": rss, "tracemalloc": peak}


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    print(json.dumps(measure(*sys.argv[1:])))
