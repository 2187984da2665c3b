"""Workload 1: a sequential chain of nodes over a one-integer state; time per step.

``START -> n0 -> n1 -> ... -> n{N-1} -> END``, each node adds one to ``x``. A repetition runs
the chain on a few fresh threads; the value is the elapsed time over (threads x N).
"""

from __future__ import annotations

from typing import Any, TypedDict

from harness import Case, Target
from libs import Lib
from workloads._common import (
    SaverKind,
    Settings,
    async_variants,
    clock,
    new_config,
    open_saver,
    open_saver_sync,
    sync_variants,
)

__all__ = ["Counter", "build_chain", "run_chain_async", "cases"]

NODES = 100
TITLES = {
    "none": "no checkpointer",
    "memory": "memory",
    "sqlite": "sqlite",
    "sqlite-normal": "sqlite, both NORMAL",
    "postgres": "postgres",
    "postgres-async-commit": "postgres, both synchronous_commit=off",
}
POSTGRES_TARGET = 3.0
"""PostgreSQL rows: at least 3x LangGraph's ``langgraph-checkpoint-postgres``."""


class Counter(TypedDict):
    x: int


def build_chain(lib: Lib, nodes: int = NODES, *, sync_nodes: bool = False) -> Any:
    """The (uncompiled) chain builder, with async or sync nodes."""

    async def step_async(state: Counter) -> dict[str, int]:
        return {"x": state["x"] + 1}

    def step_sync(state: Counter) -> dict[str, int]:
        return {"x": state["x"] + 1}

    builder = lib.StateGraph(Counter)
    previous = lib.START
    for i in range(nodes):
        name = f"n{i}"
        builder.add_node(name, step_sync if sync_nodes else step_async)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, lib.END)
    return builder


def _check(out: Any, nodes: int) -> None:
    if out != {"x": nodes}:
        raise AssertionError(f"chain of {nodes} ended with {out!r}")


async def run_chain_async(lib: Lib, kind: SaverKind, *, threads: int, nodes: int = NODES) -> float:
    """Seconds per step of ``ainvoke`` over ``threads`` fresh threads."""
    builder = build_chain(lib, nodes)
    async with open_saver(lib, kind) as saver:
        graph = builder.compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            _check(await graph.ainvoke({"x": 0}, config), nodes)
        elapsed = clock() - start
    return elapsed / (threads * nodes)


def run_chain_sync(lib: Lib, kind: SaverKind, *, threads: int, nodes: int = NODES) -> float:
    """Seconds per step of the sync ``invoke`` (sync nodes) over ``threads`` fresh threads."""
    builder = build_chain(lib, nodes, sync_nodes=True)
    with open_saver_sync(lib, kind) as saver:
        graph = builder.compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            _check(graph.invoke({"x": 0}, config), nodes)
        elapsed = clock() - start
    return elapsed / (threads * nodes)


def cases(settings: Settings) -> list[Case]:
    per_step = Target("per step >= 5x faster", "ratio", 5.0)
    per_step_pg = Target(f"per step >= {POSTGRES_TARGET:g}x faster", "ratio", POSTGRES_TARGET)
    out = []
    runs = (
        ("memory", 3, (11, 5)),
        ("sqlite", 2, (7, 3)),
        ("sqlite-normal", 2, (7, 3)),
        ("postgres", 2, (7, 3)),
        ("postgres-async-commit", 2, (7, 3)),
        ("none", 3, (7, 3)),
    )
    for kind, threads, reps in runs:

        async def body(lib: Lib, kind: SaverKind = kind, threads: int = threads) -> float:
            return await run_chain_async(lib, kind, threads=threads)

        out.append(
            Case(
                key=f"chain-async-{kind}",
                title=f"chain {NODES} async ainvoke, {TITLES[kind]}",
                unit="us/step",
                scale=1e6,
                variants=async_variants(body, trio=settings.trio),
                reps=settings.reps(*reps),
                targets=[] if kind == "none" else [per_step_pg] if kind.startswith("postgres") else [per_step],
            )
        )
    for kind, threads, reps in (("memory", 3, (11, 5)), ("sqlite", 2, (7, 3)), ("postgres", 2, (7, 3))):

        def sync_body(lib: Lib, kind: SaverKind = kind, threads: int = threads) -> float:
            return run_chain_sync(lib, kind, threads=threads)

        out.append(
            Case(
                key=f"chain-sync-{kind}",
                title=f"chain {NODES} sync invoke, {TITLES[kind]}",
                unit="us/step",
                scale=1e6,
                variants=sync_variants(sync_body),
                reps=settings.reps(*reps),
                targets=[per_step_pg] if kind == "postgres" else [per_step],
            )
        )
    return out
