"""Workload 6: a chain over a big state; time per step.

* 200 keys: a TypedDict with 200 integer keys; node ``i`` of a 20-node chain increments key ``i``.
* 1,000 messages: one ``Annotated[list, operator.add]`` key holding 1,000 message dicts (the
  input); each of 20 nodes appends one. Plain dicts on both runtimes (no message classes), so
  this measures the runtime and its checkpointer, not message conversion.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from harness import Case, Target
from libs import Lib
from workloads._common import SaverKind, Settings, async_variants, clock, new_config, open_saver

__all__ = ["Wide", "Chat", "cases"]

KEYS = 200
MESSAGES = 1000
NODES = 20

Wide = TypedDict("Wide", {f"k{i}": int for i in range(KEYS)})  # type: ignore[misc]


class Chat(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]


def build_wide(lib: Lib) -> Any:
    def make(i: int) -> Any:
        key = f"k{i}"

        async def bump(state: Any) -> dict[str, int]:
            return {key: state[key] + 1}

        return bump

    builder = lib.StateGraph(Wide)
    previous = lib.START
    for i in range(NODES):
        builder.add_node(f"w{i}", make(i))
        builder.add_edge(previous, f"w{i}")
        previous = f"w{i}"
    builder.add_edge(previous, lib.END)
    return builder


def build_chat(lib: Lib) -> Any:
    def make(i: int) -> Any:
        async def reply(state: Chat) -> dict[str, list[dict[str, Any]]]:
            return {"messages": [{"role": "ai", "content": f"reply {i} to {len(state['messages'])}"}]}

        return reply

    builder = lib.StateGraph(Chat)
    previous = lib.START
    for i in range(NODES):
        builder.add_node(f"m{i}", make(i))
        builder.add_edge(previous, f"m{i}")
        previous = f"m{i}"
    builder.add_edge(previous, lib.END)
    return builder


async def run_wide(lib: Lib, kind: SaverKind, *, threads: int) -> float:
    """Seconds per step of the 200-key chain."""
    first = {f"k{i}": 0 for i in range(KEYS)}
    async with open_saver(lib, kind) as saver:
        graph = build_wide(lib).compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            out = await graph.ainvoke(first, config)
            if sum(out.values()) != NODES or len(out) != KEYS:
                raise AssertionError("the wide chain lost or skipped updates")
        elapsed = clock() - start
    return elapsed / (threads * NODES)


async def run_chat(lib: Lib, kind: SaverKind, *, threads: int) -> float:
    """Seconds per step of the chain that appends to a 1,000-message list."""
    history = [{"role": "user" if i % 2 else "ai", "content": f"message number {i}"} for i in range(MESSAGES)]
    async with open_saver(lib, kind) as saver:
        graph = build_chat(lib).compile(checkpointer=saver)
        configs = [new_config() for _ in range(threads)]
        start = clock()
        for config in configs:
            out = await graph.ainvoke({"messages": history}, config)
            if len(out["messages"]) != MESSAGES + NODES:
                raise AssertionError(f"chat chain ended with {len(out['messages'])} messages")
        elapsed = clock() - start
    return elapsed / (threads * NODES)


def cases(settings: Settings) -> list[Case]:
    per_step = Target("per step >= 5x faster", "ratio", 5.0)

    async def wide_body(lib: Lib) -> float:
        return await run_wide(lib, "memory", threads=3)

    async def chat_body(lib: Lib) -> float:
        return await run_chat(lib, "memory", threads=2)

    async def chat_sqlite_body(lib: Lib) -> float:
        return await run_chat(lib, "sqlite", threads=1)

    return [
        Case(
            key="wide-200-keys-memory",
            title=f"{KEYS}-key state, {NODES}-node chain, memory",
            unit="us/step",
            scale=1e6,
            variants=async_variants(wide_body, trio=settings.trio),
            reps=settings.reps(11, 4),
            targets=[per_step],
        ),
        Case(
            key="wide-1000-messages-memory",
            title=f"{MESSAGES}-message list, {NODES}-node chain, memory",
            unit="us/step",
            scale=1e6,
            variants=async_variants(chat_body, trio=settings.trio),
            reps=settings.reps(11, 4),
            targets=[per_step],
        ),
        Case(
            key="wide-1000-messages-sqlite",
            title=f"{MESSAGES}-message list, {NODES}-node chain, sqlite",
            unit="us/step",
            scale=1e6,
            variants=async_variants(chat_sqlite_body, trio=settings.trio),
            reps=settings.reps(7, 3),
            targets=[per_step],
        ),
    ]
