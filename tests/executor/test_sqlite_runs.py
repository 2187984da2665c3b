"""Runs backed by SqliteSaver: the sync API several calls in a row, async on both backends,
and a thread that survives closing and reopening the file."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from streamhil import START, Command, Send, StateGraph, interrupt
from streamhil.checkpoint.sqlite import SqliteSaver


class LogState(TypedDict):
    log: Annotated[list, operator.add]


def build(saver: Any, calls: dict[str, int]) -> Any:
    def count(name: str) -> None:
        calls[name] = calls.get(name, 0) + 1

    def a(state: LogState) -> dict[str, Any]:
        count("a")
        return {"log": ["a"]}

    def ask(state: LogState) -> dict[str, Any]:
        count("ask")
        return {"log": [f"ask:{interrupt('name?')}"]}

    def review(arg: dict[str, Any]) -> dict[str, Any]:
        count("review")
        return {"log": [f"{arg['item']}:{interrupt(arg['item'])}"]}

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("ask", ask)
    builder.add_node("review", review)
    builder.add_edge(START, "a")
    builder.add_edge("a", "ask")
    builder.add_conditional_edges("ask", lambda s: [Send("review", {"item": i}) for i in ("x", "y")])
    return builder.compile(checkpointer=saver)


def check_sync_review_flow(saver: Any, thread_id: str) -> None:
    """The sync API several calls in a row on ``saver``: interrupt, resume, parallel answers by id
    and by value, then the history of checkpoints it saved."""
    calls: dict[str, int] = {}
    config = {"configurable": {"thread_id": thread_id}}
    graph = build(saver, calls)
    [first] = graph.invoke({"log": []}, config)["__interrupt__"]
    assert graph.get_state(config).interrupts == (first,)
    ix, iy = graph.invoke(Command(resume="Ann"), config)["__interrupt__"]
    result = graph.invoke(Command(resume={iy.id: "no"}), config)
    assert result["__interrupt__"] == [ix]
    result = graph.invoke(Command(resume="yes"), config)
    assert result == {"log": ["a", "ask:Ann", "x:yes", "y:no"]}
    history = [(s.metadata["source"], s.metadata["step"], s.next) for s in graph.get_state_history(config)]
    assert history == [
        ("loop", 3, ()),
        ("loop", 2, ("review", "review")),
        ("loop", 1, ("ask",)),
        ("loop", 0, ("a",)),
        ("input", -1, ("__start__",)),
    ]
    assert calls == {"a": 1, "ask": 2, "review": 4}


def test_sync_api_with_sqlite(tmp_path: Path) -> None:
    with SqliteSaver.from_path(tmp_path / "x.db") as saver:
        check_sync_review_flow(saver, "sq")


def test_thread_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    calls: dict[str, int] = {}
    config = {"configurable": {"thread_id": "persist"}}
    with SqliteSaver.from_path(path) as saver:
        [intr] = build(saver, calls).invoke({"log": []}, config)["__interrupt__"]
    with SqliteSaver.from_path(path) as saver:
        graph = build(saver, calls)
        assert graph.get_state(config).interrupts == (intr,)
        assert len(graph.invoke(Command(resume={intr.id: "Bo"}), config)["__interrupt__"]) == 2
    assert calls == {"a": 1, "ask": 2, "review": 2}


@pytest.mark.anyio
async def test_async_api_with_sqlite(tmp_path: Path) -> None:
    calls: dict[str, int] = {}
    config = {"configurable": {"thread_id": "async-sq"}}
    with anyio.fail_after(10):
        async with SqliteSaver.from_path(tmp_path / "x.db") as saver:
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
            # Replay from before `ask`: it is asked again with a new id.
            before_ask = [s async for s in graph.aget_state_history(config) if s.next == ("ask",)][0]
            [again] = (await graph.ainvoke(None, before_ask.config))["__interrupt__"]
            assert again.value == first.value and again.id != first.id
    assert calls == {"a": 1, "ask": 3, "review": 4}


@pytest.mark.anyio
@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_sqlite_durability_modes(tmp_path: Path, durability: str) -> None:
    config = {"configurable": {"thread_id": f"d-{durability}"}}
    async with SqliteSaver.from_path(tmp_path / "x.db") as saver:
        graph = build(saver, {})
        await graph.ainvoke({"log": []}, config, durability=durability)
        steps = [s.metadata["step"] async for s in graph.aget_state_history(config)]
        assert steps == ([1] if durability == "exit" else [1, 0, -1])
        assert (await graph.aget_state(config)).next == ("ask",)
