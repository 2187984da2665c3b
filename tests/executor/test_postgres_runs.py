"""Runs backed by PostgresSaver: the sync API several calls in a row, async on both backends
with interrupts and resumes, durability modes, and a thread picked up by a new saver."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamhil import Command

from .test_sqlite_runs import build, check_sync_review_flow

pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")

from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402


def test_sync_api_with_postgres(postgres_url: str) -> None:
    with PostgresSaver.from_conn_string(postgres_url) as saver:
        check_sync_review_flow(saver, "pg")


@pytest.mark.anyio
async def test_thread_continues_on_a_new_saver(postgres_url: str) -> None:
    """A second saver (another process, after a restart) resumes where the first stopped."""
    calls: dict[str, int] = {}
    config = {"configurable": {"thread_id": "persist"}}
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        [intr] = (await build(saver, calls).ainvoke({"log": []}, config))["__interrupt__"]
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        graph = build(saver, calls)
        assert (await graph.aget_state(config)).interrupts == (intr,)
        assert len((await graph.ainvoke(Command(resume={intr.id: "Bo"}), config))["__interrupt__"]) == 2
    assert calls == {"a": 1, "ask": 2, "review": 2}


@pytest.mark.anyio
async def test_async_api_with_postgres(postgres_url: str) -> None:
    calls: dict[str, int] = {}
    config = {"configurable": {"thread_id": "async-pg"}}
    with anyio.fail_after(20):
        async with PostgresSaver.from_conn_string(postgres_url) as saver:
            graph = build(saver, calls)
            [first] = (await graph.ainvoke({"log": []}, config))["__interrupt__"]
            parts = [p async for p in graph.astream(Command(resume="Cy"), config, stream_mode="updates")]
            assert parts[0] == {"ask": {"log": ["ask:Cy"]}}
            pending = (await graph.aget_state(config)).interrupts
            assert [i.value for i in pending] == ["x", "y"]
            answers = {i.id: i.value.upper() for i in pending}
            assert await graph.ainvoke(Command(resume=answers), config) == {"log": ["a", "ask:Cy", "x:X", "y:Y"]}
            steps = [s.metadata["step"] async for s in graph.aget_state_history(config)]
            assert steps == [3, 2, 1, 0, -1]
            before_ask = [s async for s in graph.aget_state_history(config) if s.next == ("ask",)][0]
            [again] = (await graph.ainvoke(None, before_ask.config))["__interrupt__"]
            assert again.value == first.value and again.id != first.id
    assert calls == {"a": 1, "ask": 3, "review": 4}


@pytest.mark.anyio
async def test_many_threads_at_once(postgres_url: str) -> None:
    """Twenty threads run to their interrupt and are resumed concurrently on one saver (more
    threads than pool connections)."""
    async with PostgresSaver.from_conn_string(postgres_url, max_connections=4) as saver:
        graph = build(saver, {})
        results: dict[int, Any] = {}

        async def one(n: int) -> None:
            config = {"configurable": {"thread_id": f"many-{n}"}}
            await graph.ainvoke({"log": []}, config)
            pending = (await graph.ainvoke(Command(resume=f"n{n}"), config))["__interrupt__"]
            results[n] = await graph.ainvoke(Command(resume={i.id: "ok" for i in pending}), config)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(one, n)
        assert results == {n: {"log": ["a", f"ask:n{n}", "x:ok", "y:ok"]} for n in range(20)}


@pytest.mark.anyio
@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_postgres_durability_modes(postgres_url: str, durability: str) -> None:
    config = {"configurable": {"thread_id": f"d-{durability}"}}
    async with PostgresSaver.from_conn_string(postgres_url) as saver:
        graph = build(saver, {})
        await graph.ainvoke({"log": []}, config, durability=durability)
        steps = [s.metadata["step"] async for s in graph.aget_state_history(config)]
        assert steps == ([1] if durability == "exit" else [1, 0, -1])
        assert (await graph.aget_state(config)).next == ("ask",)
