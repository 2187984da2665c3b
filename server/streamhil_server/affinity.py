"""``--cpu-affinity``: keep a server process (each ``--workers`` process) on one CPU.

A server process does its Python work on one thread at a time (the event loop, a sync node's
worker thread, a commit thread), handing work from one to the next. When they sit on different
CPUs, every hand-off wakes a sleeping CPU (on a virtual machine, a round trip through the
hypervisor): measured here, a hand-off to a worker thread and back takes about 80 µs across CPUs
and 17 µs on one. On one CPU the hand-offs are plain context switches, and the other CPUs are
left to other processes (other workers, the database, clients on the same machine). The cost:
a node whose work releases the GIL (numpy, compression) no longer runs beside the event loop.
Off by default, as in nginx (``worker_cpu_affinity``) and HAProxy (``cpu-map``).

Linux only (``os.sched_setaffinity``). Call :func:`pin` before the process starts threads:
threads inherit the CPU set of the thread that starts them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["CpuAffinity", "parse_cpu_affinity", "pin"]

CpuAffinity = str | tuple[int, ...]
"""``"none"``, ``"auto"`` (one CPU each, taken in turn from the CPUs the process may use), or the
CPUs to take in turn."""


def parse_cpu_affinity(value: str) -> CpuAffinity:
    """``none``, ``auto``, or a CPU list such as ``0``, ``0,2`` or ``0-3`` (SystemExit if not)."""
    text = value.strip().lower()
    if text in ("none", "auto"):
        return text
    cpus: list[int] = []
    try:
        for part in text.split(","):
            first, dash, last = part.strip().partition("-")
            low, high = int(first), int(last) if dash else int(first)
            if low < 0 or high < low:
                raise ValueError(part)
            cpus.extend(range(low, high + 1))
    except ValueError:
        raise SystemExit(
            f"streamhil-server: --cpu-affinity {value!r}: expected none, auto, or CPU numbers such as 0,1 or 0-3"
        ) from None
    return tuple(dict.fromkeys(cpus))


def _allowed() -> Sequence[int]:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None or not hasattr(os, "sched_setaffinity"):
        raise SystemExit("streamhil-server: --cpu-affinity needs Linux (os.sched_setaffinity)")
    return sorted(getter(0))


def pin(choice: CpuAffinity, slot: int = 0) -> int | None:
    """Keep this process on one CPU: the ``slot``-th (modulo) of ``choice``'s CPUs. Returns the
    CPU, or None for ``"none"``. SystemExit if a named CPU is not one this process may use."""
    if choice == "none":
        return None
    allowed = _allowed()
    if choice == "auto":
        cpus: Sequence[int] = allowed
    else:
        assert isinstance(choice, tuple)
        refused = [cpu for cpu in choice if cpu not in allowed]
        if refused:
            raise SystemExit(
                f"streamhil-server: --cpu-affinity: this process may not run on CPU {', '.join(map(str, refused))}; "
                f"it may use {', '.join(map(str, allowed))}"
            )
        cpus = choice
    cpu = cpus[slot % len(cpus)]
    os.sched_setaffinity(0, {cpu})
    return cpu
