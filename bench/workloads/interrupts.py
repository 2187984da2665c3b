"""Workloads 4, 5 and 7: human-in-the-loop rounds; time per round.

* loop: ``START -> ask -> finish -> END``; ``ask`` calls ``interrupt``. One round per thread:
  start (runs to the interrupt), then ``Command(resume=...)`` (runs to the end). 200 threads one
  after another; shown as rounds (= resumes) per second.
* parallel: 10 nodes hang off ``START`` and each interrupts. A round starts a thread, then answers
  all ten in one resume map ``{interrupt_id: value}``, or one at a time (ten resumes).
* concurrent: the loop's graph on 50 threads at once: all started together (each runs to its
  interrupt), then all resumed together; shown as rounds (= resumes) per second.
* subgraph: the parent's only node is a compiled subgraph whose node interrupts; a round is start
  plus resume, through the nesting.
* concurrent: 50 threads wait at an interrupt; all 50 are answered at once on one SQLite saver
  (LangGraph: its ``AsyncSqliteSaver``; streamhil: the server's saver, ``StorageSaver`` over
  ``SqliteStorage``, whose group commit lets concurrent answers share commits). Shown as
  answers per second.
Every round checks that the answers reached the state.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Annotated, Any, TypedDict

import anyio
from harness import Case, Target
from libs import Lib
from workloads._common import SaverKind, Settings, async_variants, clock, new_config, open_saver, temp_db_path
from workloads.chain import POSTGRES_TARGET, TITLES

__all__ = ["build_loop", "run_loop", "cases"]

LOOP_THREADS = 200
CONCURRENT_THREADS = 50
PARALLEL_WIDTH = 10


class Asked(TypedDict):
    answer: str
    done: bool


class Answers(TypedDict):
    answers: Annotated[list[int], operator.add]


def build_loop(lib: Lib) -> Any:
    async def ask(state: Asked) -> dict[str, str]:
        return {"answer": lib.interrupt("approve?")}

    async def finish(state: Asked) -> dict[str, bool]:
        return {"done": True}

    builder = lib.StateGraph(Asked)
    builder.add_node("ask", ask)
    builder.add_node("finish", finish)
    builder.add_edge(lib.START, "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", lib.END)
    return builder


def _interrupts(out: Any, expected: int) -> list[Any]:
    found = list(out.get("__interrupt__", ()))
    if len(found) != expected:
        raise AssertionError(f"expected {expected} interrupts, got {out!r}")
    return found


async def _time_rounds(lib: Lib, kind: SaverKind, builder: Any, threads: int, what: str) -> float:
    """Seconds per round (start → one interrupt → resume → done) over ``threads`` threads in turn."""
    async with open_saver(lib, kind) as saver:
        graph = builder.compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            _interrupts(await graph.ainvoke({"answer": "", "done": False}, config), 1)
            out = await graph.ainvoke(lib.Command(resume="yes"), config)
            if out != {"answer": "yes", "done": True}:
                raise AssertionError(f"resumed {what} ended with {out!r}")
        elapsed = clock() - start
    return elapsed / threads


async def run_loop(lib: Lib, kind: SaverKind, *, threads: int = LOOP_THREADS) -> float:
    """Seconds per round (start, interrupt, resume, done) over ``threads`` threads in turn."""
    return await _time_rounds(lib, kind, build_loop(lib), threads, "thread")


async def run_concurrent(lib: Lib, kind: SaverKind, *, threads: int = CONCURRENT_THREADS) -> float:
    """Seconds per round with ``threads`` threads started at once, then resumed at once."""
    async with open_saver(lib, kind) as saver:
        graph = build_loop(lib).compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        failures: list[str] = []

        async def start(config: dict[str, Any]) -> None:
            _interrupts(await graph.ainvoke({"answer": "", "done": False}, config), 1)

        async def resume(config: dict[str, Any]) -> None:
            out = await graph.ainvoke(lib.Command(resume="yes"), config)
            if out != {"answer": "yes", "done": True}:
                failures.append(repr(out))

        begin = clock()
        for step in (start, resume):
            async with anyio.create_task_group() as tg:
                for config in configs:
                    tg.start_soon(step, config)
        elapsed = clock() - begin
    if failures:
        raise AssertionError(f"concurrent rounds ended with {failures[:3]}")
    return elapsed / threads


def build_parallel(lib: Lib, width: int = PARALLEL_WIDTH) -> Any:
    def make(i: int) -> Any:
        async def ask(state: Answers) -> dict[str, list[int]]:
            return {"answers": [lib.interrupt(i)]}

        return ask

    builder = lib.StateGraph(Answers)
    for i in range(width):
        builder.add_node(f"a{i}", make(i))
        builder.add_edge(lib.START, f"a{i}")
        builder.add_edge(f"a{i}", lib.END)
    return builder


async def run_parallel(lib: Lib, kind: SaverKind, *, one_by_one: bool, threads: int) -> float:
    """Seconds per round: start ``PARALLEL_WIDTH`` interrupts, answer them (one map or one by one)."""
    expected = [10 * i for i in range(PARALLEL_WIDTH)]
    async with open_saver(lib, kind) as saver:
        graph = build_parallel(lib).compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            pending = _interrupts(await graph.ainvoke({"answers": []}, config), PARALLEL_WIDTH)
            if one_by_one:
                for left, item in enumerate(pending, 1):
                    out = await graph.ainvoke(lib.Command(resume={item.id: item.value * 10}), config)
                    _interrupts(out, PARALLEL_WIDTH - left)
            else:
                out = await graph.ainvoke(lib.Command(resume={i.id: i.value * 10 for i in pending}), config)
            if sorted(out["answers"]) != expected or "__interrupt__" in out:
                raise AssertionError(f"parallel round ended with {out!r}")
        elapsed = clock() - start
    return elapsed / threads


def build_subgraph_parent(lib: Lib) -> Any:
    async def ask(state: Asked) -> dict[str, str]:
        return {"answer": lib.interrupt("approve?")}

    inner = lib.StateGraph(Asked)
    inner.add_node("ask", ask)
    inner.add_edge(lib.START, "ask")
    inner.add_edge("ask", lib.END)

    async def finish(state: Asked) -> dict[str, bool]:
        return {"done": True}

    outer = lib.StateGraph(Asked)
    outer.add_node("review", inner.compile())
    outer.add_node("finish", finish)
    outer.add_edge(lib.START, "review")
    outer.add_edge("review", "finish")
    outer.add_edge("finish", lib.END)
    return outer


async def run_subgraph(lib: Lib, kind: SaverKind, *, threads: int) -> float:
    """Seconds per round: start (interrupt inside the subgraph), resume, done."""
    return await _time_rounds(lib, kind, build_subgraph_parent(lib), threads, "subgraph thread")


CONCURRENT_THREADS = 50


@contextlib.asynccontextmanager
async def _concurrent_saver(lib: Lib, server: bool = True) -> Any:
    """One SQLite saver shared by every thread: LangGraph's async one, or the server's (the
    library's ``SqliteSaver`` when not ``server``)."""
    if lib.name != "streamhil" or not server:
        async with open_saver(lib, "sqlite-normal") as saver:
            yield saver
        return
    from streamhil_server.storage import SqliteStorage, StorageSaver

    with temp_db_path() as path:
        async with SqliteStorage(path) as storage:
            yield StorageSaver(storage)


async def run_concurrent_answers(lib: Lib, *, threads: int = CONCURRENT_THREADS, server: bool = True) -> float:
    """Seconds per answer when ``threads`` interrupted threads are answered all at once (one
    SQLite saver: the server's StorageSaver for streamhil, or with ``server=False`` the
    library's SqliteSaver; AsyncSqliteSaver for LangGraph)."""
    import anyio

    async with _concurrent_saver(lib, server) as saver:
        graph = build_loop(lib).compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        for config in configs:
            _interrupts(await graph.ainvoke({"answer": "", "done": False}, config), 1)

        async def answer(config: Any) -> None:
            out = await graph.ainvoke(lib.Command(resume="yes"), config)
            if out != {"answer": "yes", "done": True}:
                raise AssertionError(f"a concurrent answer ended with {out!r}")

        start = clock()
        async with anyio.create_task_group() as tg:
            for config in configs:
                tg.start_soon(answer, config)
        elapsed = clock() - start
    return elapsed / threads


def cases(settings: Settings) -> list[Case]:
    out = []

    savers = (
        ("resume-concurrent-sqlite", "one SQLite saver", "concurrent answers >= 5x", True),
        ("resume-concurrent-sqlite-lib", "one SqliteSaver", "concurrent answers (library saver) >= 5x", False),
    )
    for key, saver, target, server in savers:

        async def concurrent_body(lib: Lib, server: bool = server) -> float:
            return await run_concurrent_answers(lib, server=server)

        out.append(
            Case(
                key=key,
                title=f"{CONCURRENT_THREADS} threads answered at once on {saver}",
                unit="answers/s",
                scale=1.0,
                per_second=True,
                variants=async_variants(concurrent_body, trio=settings.trio),
                reps=settings.reps(7, 3),
                targets=[Target(target, "ratio", 5.0)],
            )
        )
    loops = (
        ("memory", 4.0, (7, 3)),
        ("sqlite", 5.0, (5, 2)),
        ("sqlite-normal", 5.0, (5, 2)),
        ("postgres", POSTGRES_TARGET, (5, 2)),
        ("postgres-async-commit", POSTGRES_TARGET, (5, 2)),
    )
    for kind, target, reps in loops:

        async def loop_body(lib: Lib, kind: SaverKind = kind) -> float:
            return await run_loop(lib, kind)

        out.append(
            Case(
                key=f"resume-loop-{kind}",
                title=f"interrupt/resume, {LOOP_THREADS} threads, {TITLES[kind]}",
                unit="rounds/s",
                scale=1.0,
                per_second=True,
                variants=async_variants(loop_body, trio=settings.trio),
                reps=settings.reps(*reps),
                targets=[Target(f"resume throughput >= {target:g}x", "ratio", target)],
            )
        )
    for kind in ("memory", "postgres"):

        async def concurrent_body(lib: Lib, kind: SaverKind = kind) -> float:
            return await run_concurrent(lib, kind)

        out.append(
            Case(
                key=f"resume-concurrent-{kind}",
                title=f"interrupt/resume, {CONCURRENT_THREADS} threads at once, {TITLES[kind]}",
                unit="rounds/s",
                scale=1.0,
                per_second=True,
                variants=async_variants(concurrent_body, trio=settings.trio),
                reps=settings.reps(5, 2),
                targets=[Target(f"resume throughput >= {POSTGRES_TARGET:g}x", "ratio", POSTGRES_TARGET)]
                if kind == "postgres"
                else [],
            )
        )
    threads = 5 if settings.quick else 10
    for one_by_one in (False, True):

        async def parallel_body(lib: Lib, one_by_one: bool = one_by_one) -> float:
            return await run_parallel(lib, "memory", one_by_one=one_by_one, threads=threads)

        how = "one at a time" if one_by_one else "one resume map"
        out.append(
            Case(
                key=f"parallel-{'each' if one_by_one else 'map'}-memory",
                title=f"{PARALLEL_WIDTH} parallel interrupts, {how}, memory",
                unit="ms/round",
                scale=1e3,
                variants=async_variants(parallel_body, trio=settings.trio),
                reps=settings.reps(9, 3),
                targets=[Target("parallel interrupts >= 3x", "ratio", 3.0)],
            )
        )
    for kind in ("memory", "sqlite", "postgres"):

        async def subgraph_body(lib: Lib, kind: SaverKind = kind) -> float:
            return await run_subgraph(lib, kind, threads=threads * 2)

        out.append(
            Case(
                key=f"subgraph-{kind}",
                title=f"interrupt in a subgraph, start + resume, {kind}",
                unit="ms/round",
                scale=1e3,
                variants=async_variants(subgraph_body, trio=settings.trio),
                reps=settings.reps(9, 3),
                targets=[Target("subgraph interrupts >= 3x", "ratio", 3.0)],
            )
        )
    return out
