"""What the sync API costs inside a running event loop (a Jupyter cell), against a plain script.

Inside a running loop each sync call runs the graph on a fresh loop in a helper thread; in a
plain script, on a fresh loop in the calling thread. Reports CPU and wall time per ``invoke`` of a
one-node graph with an InMemorySaver (CPU is the steadier figure on a shared machine)::

    python bench/sync_in_loop.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import TypedDict

from streamhil.checkpoint.memory import InMemorySaver
from streamhil.graph import START, StateGraph


class State(TypedDict):
    n: int


def build() -> object:
    builder = StateGraph(State)
    builder.add_node("inc", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "inc")
    return builder.compile(checkpointer=InMemorySaver())


def measure(label: str, graph: object, calls: int) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        graph.invoke({"n": 0}, {"configurable": {"thread_id": str(uuid.uuid4())}})  # type: ignore[attr-defined]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:<32} {cpu / calls * 1e3:6.2f} ms CPU/invoke  {wall / calls * 1e3:6.2f} ms wall/invoke")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    graph = build()
    measure("warm-up", graph, 20)
    measure("plain script", graph, calls)

    async def in_a_running_loop() -> None:
        measure("inside a running asyncio loop", graph, calls)

    asyncio.run(in_a_running_loop())


if __name__ == "__main__":
    main()
