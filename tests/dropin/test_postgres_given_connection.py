"""LangGraph user code that opens its own psycopg connection or pool and hands it to the saver
(``PostgresSaver(pool)``, ``AsyncPostgresSaver(conn)``, ``setup()`` once) runs unchanged on
streamhil, side by side with LangGraph 1.2.22 and langgraph-checkpoint-postgres."""

from __future__ import annotations

import asyncio
import importlib
import operator
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")
pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres is not installed")
psycopg = pytest.importorskip("psycopg")
psycopg_pool = pytest.importorskip("psycopg_pool")

from psycopg.rows import dict_row  # noqa: E402

LIBRARIES = ["langgraph", "streamhil"]
KWARGS = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def graph_of(name: str, saver: Any) -> Any:
    graph, types = lib(name, "graph"), lib(name, "types")
    builder = graph.StateGraph(State)
    builder.add_node("a", lambda state: {"log": ["a"]})
    builder.add_node("ask", lambda state: {"log": [types.interrupt("ok?")]})
    builder.add_edge(graph.START, "a")
    builder.add_edge("a", "ask")
    return builder.compile(checkpointer=saver)


def run_sync(name: str, graph: Any, thread: str) -> Any:
    config = {"configurable": {"thread_id": thread}}
    first = graph.invoke({"log": []}, config)
    resumed = graph.invoke(lib(name, "types").Command(resume="yes"), config)
    history = [(s.metadata["step"], s.values["log"], s.next) for s in graph.get_state_history(config)]
    return "__interrupt__" in first, resumed, history


@pytest.mark.parametrize("kind", ["connection", "pool"])
def test_a_sync_connection_or_pool_as_langgraph_users_pass_it(kind: str, postgres_url: str) -> None:
    seen = {}
    for name in LIBRARIES:
        saver_class = lib(name, "checkpoint.postgres").PostgresSaver
        if kind == "pool":
            with psycopg_pool.ConnectionPool(postgres_url, kwargs=KWARGS, max_size=4) as pool:
                saver = saver_class(pool)
                saver.setup()
                seen[name] = run_sync(name, graph_of(name, saver), f"{kind}-{name}")
        else:
            with psycopg.connect(postgres_url, **KWARGS) as conn:
                saver = saver_class(conn)
                saver.setup()
                seen[name] = run_sync(name, graph_of(name, saver), f"{kind}-{name}")
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][1] == {"log": ["a", "yes"]}


@pytest.mark.parametrize("kind", ["connection", "pool"])
def test_an_async_connection_or_pool_as_langgraph_users_pass_it(kind: str, postgres_url: str) -> None:
    async def run(name: str) -> Any:
        saver_class = lib(name, "checkpoint.postgres.aio").AsyncPostgresSaver
        config = {"configurable": {"thread_id": f"{kind}-{name}"}}

        async def use(saver: Any) -> Any:
            await saver.setup()
            graph = graph_of(name, saver)
            first = await graph.ainvoke({"log": []}, config)
            resumed = await graph.ainvoke(lib(name, "types").Command(resume="yes"), config)
            history = [(s.metadata["step"], s.values["log"], s.next) async for s in graph.aget_state_history(config)]
            listed = [t.metadata["step"] async for t in saver.alist(config, limit=2)]
            return "__interrupt__" in first, resumed, history, listed

        if kind == "pool":
            async with psycopg_pool.AsyncConnectionPool(postgres_url, kwargs=KWARGS, max_size=4, open=False) as pool:
                return await use(saver_class(pool))
        async with await psycopg.AsyncConnection.connect(postgres_url, **KWARGS) as conn:
            return await use(saver_class(conn))

    seen = {name: asyncio.run(run(name)) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"]
    assert seen["streamhil"][1] == {"log": ["a", "yes"]}
