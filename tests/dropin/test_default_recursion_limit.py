"""The default step budget is LangGraph 1.2.22's (10,007): a loop of 100 steps runs to its end in
both without a ``recursion_limit``; the environment variables set another."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")


class Count(TypedDict):
    n: int


def _loop(library: str, steps: int) -> Any:
    graph = importlib.import_module(f"{library}.graph")
    builder = graph.StateGraph(Count)
    builder.add_node("step", lambda state: {"n": state["n"] + 1})
    builder.add_edge(graph.START, "step")
    builder.add_conditional_edges("step", lambda state: graph.END if state["n"] >= steps else "step")
    return builder.compile()


@pytest.mark.parametrize("library", ["langgraph", "streamhil"])
def test_a_loop_longer_than_25_steps_runs_without_a_limit_given(library: str) -> None:
    assert _loop(library, 100).invoke({"n": 0}) == {"n": 100}


@pytest.mark.parametrize("variable", ["STREAMHIL_DEFAULT_RECURSION_LIMIT", "LANGGRAPH_DEFAULT_RECURSION_LIMIT"])
def test_the_environment_sets_another_default(variable: str) -> None:
    script = (
        "from streamhil.errors import GraphRecursionError\n"
        "from tests.dropin.test_default_recursion_limit import _loop\n"
        "try:\n"
        "    _loop('streamhil', 100).invoke({'n': 0})\n"
        "except GraphRecursionError as exc:\n"
        "    print('stopped:', exc)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DEFAULT_RECURSION_LIMIT")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                          env={**env, variable: "10"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "stopped: Recursion limit of 10 reached" in done.stdout


@pytest.mark.parametrize("library", ["langgraph", "streamhil"])
@pytest.mark.parametrize("how", ["at the call", "bound", "bound, then another config at the call"])
def test_an_explicit_limit_of_25_applies_through_with_config(library: str, how: str) -> None:
    errors = importlib.import_module(f"{library}.errors")
    app = _loop(library, 100)
    with pytest.raises(errors.GraphRecursionError):
        if how == "at the call":
            app.with_config(tags=["t"]).invoke({"n": 0}, {"recursion_limit": 25})
        elif how == "bound":
            app.with_config(recursion_limit=25).invoke({"n": 0})
        else:
            app.with_config(recursion_limit=25).invoke({"n": 0}, {"tags": ["t"]})
