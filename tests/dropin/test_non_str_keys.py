"""State dicts whose keys are not str (``{"scores": {1: 0.5}}``), side by side with LangGraph
1.2.22: with a checkpointer (in memory and SQLite) both store them, and a node that runs after an
interrupt and resume sees int, float, bool, ``None`` and tuple keys as they were written. Keys
LangGraph turns into strings (``UUID``, dates) or refuses (``frozenset``) come back as they were
in streamhil (see docs/langgraph-differences.md, "Ids and storage")."""

from __future__ import annotations

import datetime as dt
import importlib
import uuid
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest

HAS_LANGGRAPH = importlib.util.find_spec("langgraph") is not None


class Scores(TypedDict, total=False):
    scores: dict[Any, Any]
    seen: list[Any]


@contextmanager
def open_saver(lib: str, kind: str) -> Iterator[Any]:
    if kind == "memory":
        yield importlib.import_module(f"{lib}.checkpoint.memory").InMemorySaver()
        return
    module = importlib.import_module(f"{lib}.checkpoint.sqlite")
    with module.SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


def run(lib: str, kind: str, scores: dict[Any, Any]) -> Any:
    """Write ``scores``, stop at an interrupt, resume: what the next node and get_state see."""
    graph = importlib.import_module(f"{lib}.graph")
    types = importlib.import_module(f"{lib}.types")

    def score(state: Scores) -> Scores:
        return {"scores": scores}

    def check(state: Scores) -> Scores:
        types.interrupt("go on?")
        return {"seen": [(type(k).__name__, k, v) for k, v in state["scores"].items()]}

    builder = graph.StateGraph(Scores)
    builder.add_node("score", score)
    builder.add_node("check", check)
    builder.add_edge(graph.START, "score")
    builder.add_edge("score", "check")
    with open_saver(lib, kind) as saver:
        app = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        first = app.invoke({}, config)
        stored = app.get_state(config).values["scores"]
        result = app.invoke(types.Command(resume=True), config)
        return first["scores"], [(type(k).__name__, k) for k in stored], result["seen"]


SHARED = {1: 0.5, -2: "neg", 2.5: [1], False: {"nested": {3: "x"}}, None: "none", (4, "t"): 0.1, "s": "str"}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_non_str_keys_survive_a_checkpoint_as_in_langgraph(kind: str) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite" if kind == "sqlite" else "streamhil")
    got = run("streamhil", kind, SHARED)
    assert got[2] == [(type(k).__name__, k, v) for k, v in SHARED.items()]
    assert got[2][3] == ("bool", False, {"nested": {3: "x"}})
    if HAS_LANGGRAPH:
        assert got == run("langgraph", kind, SHARED)


def test_keys_langgraph_turns_into_strings_keep_their_type() -> None:
    keys = {uuid.UUID(int=5): 1, dt.date(2020, 1, 2): 2, dt.datetime(2020, 1, 2, 3, 4): 3, frozenset({1}): 4}
    _, stored, seen = run("streamhil", "memory", keys)
    assert seen == [(type(k).__name__, k, v) for k, v in keys.items()]
    assert stored == [(type(k).__name__, k) for k in keys]
