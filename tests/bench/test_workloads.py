"""Every workload runs and gives the same, checked answer on both runtimes (small sizes).

The workloads check their own results (``AssertionError`` otherwise); these tests make sure the
graphs are equivalent and that each run returns a positive figure. LangGraph is asyncio-only.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import pytest

pytest.importorskip("langgraph", reason="the bench extra is not installed: pip install -e '.[bench]'")

from libs import LANGGRAPH, STREAMHIL, Lib  # noqa: E402
from workloads import chain, checkpoint_size, fanout, interrupts, wide_state  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["langgraph", "streamhil"])
def lib(request: pytest.FixtureRequest, anyio_backend: str) -> Lib:
    if request.param == "langgraph":
        if anyio_backend != "asyncio":
            pytest.skip("LangGraph runs on asyncio only")
        assert LANGGRAPH is not None
        return LANGGRAPH
    return STREAMHIL


@pytest.mark.parametrize("kind", ["none", "memory", "sqlite", "sqlite-normal"])
async def test_chain(lib: Lib, kind: Any) -> None:
    with anyio.fail_after(30):
        assert await chain.run_chain_async(lib, kind, threads=2, nodes=10) > 0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_chain_sync(kind: Any) -> None:
    for lib in (LANGGRAPH, STREAMHIL):
        assert lib is not None
        assert chain.run_chain_sync(lib, kind, threads=1, nodes=10) > 0


async def test_concurrent_answers_on_one_sqlite_saver(lib: Lib) -> None:
    with anyio.fail_after(60):
        assert await interrupts.run_concurrent_answers(lib, threads=3) > 0


async def test_postgres_workloads(lib: Lib, postgres_url: str) -> None:
    """The PostgreSQL rows (each run opens its own schema on the server the URL names)."""
    if lib is LANGGRAPH:
        pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres (bench extra)")
    with anyio.fail_after(60):
        assert await chain.run_chain_async(lib, "postgres", threads=1, nodes=10) > 0
        assert await interrupts.run_loop(lib, "postgres", threads=3) > 0
        assert await interrupts.run_concurrent(lib, "postgres", threads=5) > 0
        assert await interrupts.run_subgraph(lib, "postgres", threads=2) > 0


def test_postgres_chain_sync(postgres_url: str) -> None:
    pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres (bench extra)")
    for lib in (LANGGRAPH, STREAMHIL):
        assert lib is not None
        assert chain.run_chain_sync(lib, "postgres", threads=1, nodes=10) > 0


async def test_fanouts(lib: Lib) -> None:
    with anyio.fail_after(30):
        assert await fanout.run_sleep_fanout(lib, "memory") >= fanout.SLEEP_SECONDS
        assert await fanout.run_cpu_fanout(lib, "memory") > 0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_interrupt_rounds(lib: Lib, kind: Any) -> None:
    with anyio.fail_after(30):
        assert await interrupts.run_loop(lib, kind, threads=3) > 0
        assert await interrupts.run_subgraph(lib, kind, threads=2) > 0


@pytest.mark.parametrize("one_by_one", [False, True])
async def test_parallel_interrupts(lib: Lib, one_by_one: bool) -> None:
    with anyio.fail_after(30):
        assert await interrupts.run_parallel(lib, "memory", one_by_one=one_by_one, threads=1) > 0


async def test_wide_states(lib: Lib) -> None:
    with anyio.fail_after(30):
        assert await wide_state.run_wide(lib, "memory", threads=1) > 0
        assert await wide_state.run_chat(lib, "memory", threads=1) > 0


async def test_checkpoint_size_reads_what_was_stored(lib: Lib, tmp_path: Any) -> None:
    path = os.fspath(tmp_path / "size.sqlite")
    with anyio.fail_after(30):
        count = await checkpoint_size.chain_on_sqlite(lib, path)
    assert count == chain.NODES + 2  # the input checkpoint, the one after __start__, one per node
    payload = checkpoint_size.row_payload(path)
    assert sum(payload.values()) > 100 * count
    assert checkpoint_size.page_bytes(path) >= sum(payload.values()) // 2


@pytest.mark.parametrize(("normal_sync", "level"), [(False, 2), (True, 1)])  # 2 = FULL, 1 = NORMAL
async def test_langgraph_sqlite_durability_setting(anyio_backend: str, tmp_path: Any, normal_sync: bool, level: int) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("LangGraph runs on asyncio only")
    assert LANGGRAPH is not None
    with anyio.fail_after(30):
        async with LANGGRAPH.open_sqlite(os.fspath(tmp_path / "lg.sqlite"), normal_sync=normal_sync) as saver:
            cursor = await saver.conn.execute("PRAGMA synchronous")
            assert await cursor.fetchall() == [(level,)]


async def test_cpu_clock_measures_process_time(anyio_backend: str) -> None:
    from workloads._common import use_clock

    with pytest.raises(ValueError, match="unknown clock 'bogus'"):
        use_clock("bogus")
    use_clock("cpu")
    try:
        with anyio.fail_after(30):
            per_step = await chain.run_chain_async(STREAMHIL, "memory", threads=1, nodes=10)
    finally:
        use_clock("wall")
    assert 0 < per_step < 0.05
