"""Workloads 2 and 3: fan-outs in one superstep; wall time of one run.

* sleep fan-out: 50 nodes hang off ``START``, each sleeps 10 ms (``anyio.sleep`` on streamhil,
  ``asyncio.sleep`` on LangGraph) and appends its index to a list. Ideal wall time: 10 ms.
* CPU fan-out: a router sends 500 ``Send("work", {"i": i})``; each task does a little pure-Python
  arithmetic and appends its result. Measures per-task scheduling cost under CPU load.
"""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any, TypedDict

import anyio

from harness import Case, Target
from libs import Lib
from workloads._common import SaverKind, Settings, async_variants, clock, new_config, open_saver

__all__ = ["Gathered", "build_sleep_fanout", "build_cpu_fanout", "run_cpu_fanout", "cases"]

SLEEP_WIDTH = 50
SLEEP_SECONDS = 0.01
CPU_WIDTH = 500
CPU_LOOP = 300


class Gathered(TypedDict):
    done: Annotated[list[int], operator.add]


class Work(TypedDict):
    i: int


def build_sleep_fanout(lib: Lib, width: int = SLEEP_WIDTH) -> Any:
    sleep = asyncio.sleep if lib.name == "langgraph" else anyio.sleep

    def make(i: int) -> Any:
        async def nap(state: Gathered) -> dict[str, list[int]]:
            await sleep(SLEEP_SECONDS)
            return {"done": [i]}

        return nap

    builder = lib.StateGraph(Gathered)
    for i in range(width):
        builder.add_node(f"s{i}", make(i))
        builder.add_edge(lib.START, f"s{i}")
        builder.add_edge(f"s{i}", lib.END)
    return builder


def cpu_work(i: int) -> int:
    """A few microseconds of arithmetic that depends on ``i``."""
    total = 0
    for j in range(CPU_LOOP):
        total += (i * j) % 7
    return total


def build_cpu_fanout(lib: Lib, width: int = CPU_WIDTH) -> Any:
    async def work(arg: Work) -> dict[str, list[int]]:
        return {"done": [cpu_work(arg["i"])]}

    def spread(state: Gathered) -> list[Any]:
        return [lib.Send("work", {"i": i}) for i in range(width)]

    builder = lib.StateGraph(Gathered)
    builder.add_node("work", work)
    builder.add_conditional_edges(lib.START, spread, ["work"])
    builder.add_edge("work", lib.END)
    return builder


def _check(out: Any, expected: list[int]) -> None:
    if sorted(out["done"]) != expected:
        raise AssertionError(f"fan-out gathered {len(out['done'])} results, expected {len(expected)}")


async def run_sleep_fanout(lib: Lib, kind: SaverKind) -> float:
    """Wall seconds of one run of the sleep fan-out."""
    async with open_saver(lib, kind) as saver:
        graph = build_sleep_fanout(lib).compile(checkpointer=saver)
        config = new_config()
        start = time.perf_counter()
        out = await graph.ainvoke({"done": []}, config)
        elapsed = time.perf_counter() - start
    _check(out, list(range(SLEEP_WIDTH)))
    return elapsed


_CPU_EXPECTED = sorted(cpu_work(i) for i in range(CPU_WIDTH))


async def run_cpu_fanout(lib: Lib, kind: SaverKind, *, width: int = CPU_WIDTH) -> float:
    """Wall seconds of one run of the CPU fan-out."""
    async with open_saver(lib, kind) as saver:
        graph = build_cpu_fanout(lib, width).compile(checkpointer=saver)
        config = new_config()
        start = clock()
        out = await graph.ainvoke({"done": []}, config)
        elapsed = clock() - start
    _check(out, _CPU_EXPECTED if width == CPU_WIDTH else sorted(cpu_work(i) for i in range(width)))
    return elapsed


async def run_bare_sleeps(lib: Lib) -> float:
    """Wall seconds of the same 50 sleeps in a bare task group (asyncio.gather for LangGraph's
    column): the floor the event loop and the machine allow, with no graph at all."""
    start = time.perf_counter()
    if lib.name == "langgraph":
        await asyncio.gather(*(asyncio.sleep(SLEEP_SECONDS) for _ in range(SLEEP_WIDTH)))
    else:
        async with anyio.create_task_group() as tg:
            for _ in range(SLEEP_WIDTH):
                tg.start_soon(anyio.sleep, SLEEP_SECONDS)
    return time.perf_counter() - start


def cases(settings: Settings) -> list[Case]:
    out = [
        Case(
            key="fanout-sleep-floor",
            title=f"floor: {SLEEP_WIDTH} x 10 ms sleep, bare gather / task group",
            unit="ms",
            scale=1e3,
            variants=async_variants(run_bare_sleeps, trio=settings.trio),
            reps=settings.reps(15, 5),
            note="the event loop's own cost and timer slack on this machine; not a comparison",
        )
    ]
    for kind in ("memory", "none"):

        async def sleep_body(lib: Lib, kind: SaverKind = kind) -> float:
            return await run_sleep_fanout(lib, kind)

        out.append(
            Case(
                key=f"fanout-sleep-{kind}",
                title=f"fan-out {SLEEP_WIDTH} x 10 ms sleep, {kind if kind != 'none' else 'no checkpointer'}",
                unit="ms",
                scale=1e3,
                variants=async_variants(sleep_body, trio=settings.trio),
                reps=settings.reps(15, 5),
                targets=[Target("wall <= 12 ms", "at_most", 0.012)] if kind == "memory" else [],
            )
        )

    async def cpu_body(lib: Lib) -> float:
        return await run_cpu_fanout(lib, "memory")

    out.append(
        Case(
            key="fanout-cpu-memory",
            title=f"fan-out {CPU_WIDTH} Send x CPU work, memory",
            unit="ms",
            scale=1e3,
            variants=async_variants(cpu_body, trio=settings.trio),
            reps=settings.reps(11, 4),
            note=f"each task: {CPU_LOOP} loop iterations of integer arithmetic",
        )
    )
    return out
