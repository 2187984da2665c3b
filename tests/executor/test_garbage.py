"""The hot path leaves no reference cycles: what a round trip allocates is freed by reference
counting, not left for the garbage collector (whose collections cost a serving process ~10% of
its CPU when each interrupt left its node's frames in a cycle).

Each check runs in a fresh interpreter: in the test process, objects that earlier tests left
behind (a client's closing connection, a finalised generator) can form cycles while the check
runs and would be counted as this round trip's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

_CHECK = """
import json, sys
from typing import Any, TypedDict

import anyio
from cycles import collector_off

from streamhil import START, Command, InMemorySaver, StateGraph, interrupt


class Count(TypedDict):
    n: int


def ask_twice(state: Count) -> dict[str, Any]:
    interrupt("first?")
    interrupt("second?")
    return {"n": state["n"] + 1}


async def ask_twice_async(state: Count) -> dict[str, Any]:
    interrupt("first?")
    interrupt("second?")
    return {"n": state["n"] + 1}


async def main(node_kind: str) -> list[str]:
    builder = StateGraph(Count)
    builder.add_node("ask", ask_twice if node_kind == "def" else ask_twice_async)
    builder.add_edge(START, "ask")
    app = builder.compile(checkpointer=InMemorySaver())

    async def one_thread(thread_id: str) -> None:
        config = {"configurable": {"thread_id": thread_id}}
        assert "__interrupt__" in await app.ainvoke({"n": 0}, config)
        assert "__interrupt__" in await app.ainvoke(Command(resume="yes"), config)
        assert await app.ainvoke(Command(resume="no"), config) == {"n": 1}

    await one_thread("warm-up")  # first calls fill caches and start worker threads
    with collector_off() as found:
        for i in range(5):
            await one_thread(f"thread-{i}")
    return found


backend, node_kind = sys.argv[1], sys.argv[2]
print(json.dumps(anyio.run(main, node_kind, backend=backend)))
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("node_kind", ["def", "async def"])
def test_interrupts_and_answers_leave_no_cycle_to_collect(backend: str, node_kind: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHECK, backend, "def" if node_kind == "def" else "async"],
        capture_output=True, text=True, timeout=120, cwd=TESTS,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)},
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == [], f"cycles left for the collector: {found}"
