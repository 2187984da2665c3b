"""Durability modes sync / async / exit: what reaches the saver (T67)."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest

from streamhil import START, Command, InMemorySaver, StateGraph, interrupt

pytestmark = pytest.mark.anyio


class LogState(TypedDict):
    log: Annotated[list, operator.add]


def graph_with_ask(fail: list[bool] | None = None) -> Any:
    def b(state: LogState) -> dict[str, Any]:
        if fail and fail[0]:
            raise RuntimeError("b failed")
        return {"log": ["b"]}

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", b)
    builder.add_node("ask", lambda s: {"log": [f"ask:{interrupt('q')}"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "ask")
    return builder.compile(checkpointer=InMemorySaver())


async def rows(graph: Any, config: dict[str, Any]) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(s.metadata["source"], s.metadata["step"], s.next) async for s in graph.aget_state_history(config)]


@pytest.mark.parametrize("durability", ["sync", "async"])
async def test_sync_and_async_save_every_step(durability: str) -> None:
    graph = graph_with_ask()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    await graph.ainvoke({"log": []}, config, durability=durability)
    assert await rows(graph, config) == [
        ("loop", 2, ("ask",)),
        ("loop", 1, ("b",)),
        ("loop", 0, ("a",)),
        ("input", -1, ("__start__",)),
    ]
    assert await graph.ainvoke(Command(resume="R"), config, durability=durability) == {"log": ["a", "b", "ask:R"]}
    assert (await rows(graph, config))[0] == ("loop", 3, ())
    assert len(await rows(graph, config)) == 5


async def test_exit_saves_only_the_last_checkpoint() -> None:
    graph = graph_with_ask()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    [intr] = (await graph.ainvoke({"log": []}, config, durability="exit"))["__interrupt__"]
    assert await rows(graph, config) == [("loop", 2, ("ask",))]
    snap = await graph.aget_state(config)
    assert snap.values == {"log": ["a", "b"]} and snap.interrupts == (intr,)
    assert await graph.ainvoke(Command(resume="R"), config, durability="exit") == {"log": ["a", "b", "ask:R"]}
    assert await rows(graph, config) == [("loop", 3, ()), ("loop", 2, ("ask",))]


async def test_exit_links_the_checkpoint_it_saves_to_the_last_one_saved() -> None:
    """Its parent is the checkpoint saved before the run (none on a new thread), as LangGraph's:
    not the unsaved checkpoint of the step before it."""
    graph = graph_with_ask()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    await graph.ainvoke({"log": []}, config, durability="exit")
    first = await graph.aget_state(config)
    assert first.parent_config is None
    await graph.ainvoke(Command(resume="R"), config, durability="exit")
    second = await graph.aget_state(config)
    assert second.parent_config == first.config
    assert (await graph.aget_state(second.parent_config)).values == {"log": ["a", "b"]}


async def test_exit_on_error_saves_the_failing_step_with_its_error() -> None:
    fail = [True]
    graph = graph_with_ask(fail)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    with pytest.raises(RuntimeError, match="b failed"):
        await graph.ainvoke({"log": []}, config, durability="exit")
    assert await rows(graph, config) == [("loop", 1, ("b",))]
    snap = await graph.aget_state(config)
    assert snap.tasks[0].error == "RuntimeError('b failed')"
    fail[0] = False
    result = await graph.ainvoke(None, config, durability="exit")
    assert [i.value for i in result["__interrupt__"]] == ["q"]


async def test_bad_durability() -> None:
    graph = graph_with_ask()
    with pytest.raises(ValueError, match="durability"):
        await graph.ainvoke({"log": []}, {"configurable": {"thread_id": "x"}}, durability="sometimes")
