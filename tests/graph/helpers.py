"""Small builders shared by the graph tests: a log state, counting nodes, thread configs."""

from __future__ import annotations

import operator
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from streamhil import END, START, InMemorySaver, StateGraph, interrupt


class LogState(TypedDict):
    log: Annotated[list, operator.add]


def thread(thread_id: str | None = None) -> dict[str, Any]:
    """A config naming a fresh (or the given) thread."""
    return {"configurable": {"thread_id": thread_id or uuid.uuid4().hex}}


class Calls(Counter[str]):
    """How many times each node body started."""

    def node(self, name: str, fn: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
        def run(state: Any) -> Any:
            self[name] += 1
            return fn(state) if fn is not None else {"log": [name]}

        run.__name__ = name
        return run

    def asking(self, name: str, question: Any = None) -> Callable[[Any], Any]:
        """A node that asks ``question`` and logs ``name:answer``."""

        def run(state: Any) -> Any:
            self[name] += 1
            answer = interrupt(question if question is not None else f"q{name}")
            return {"log": [f"{name}:{answer}"]}

        run.__name__ = name
        return run


def chain(names: list[str], calls: Calls, *, ask: set[str] = frozenset(), **compile_kwargs: Any) -> Any:
    """START -> names[0] -> ... -> END over LogState; nodes in ``ask`` interrupt."""
    builder = StateGraph(LogState)
    for name in names:
        builder.add_node(name, calls.asking(name) if name in ask else calls.node(name))
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    compile_kwargs.setdefault("checkpointer", InMemorySaver())
    return builder.compile(**compile_kwargs)


def history(graph: Any, config: dict[str, Any], **kwargs: Any) -> list[tuple[str, int, tuple[str, ...]]]:
    """(source, step, next) of every checkpoint, newest first."""
    return [
        (s.metadata["source"], s.metadata["step"], s.next) for s in graph.get_state_history(config, **kwargs)
    ]
