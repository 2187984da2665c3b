"""Async API on a SQLite file, on asyncio and trio: stream a run, stop, reopen, resume.

    python examples/async_sqlite.py

The thread lives in the database, so a new saver (a new process, in real life) resumes it.
"""

from __future__ import annotations

import operator
import tempfile
from pathlib import Path
from typing import Annotated, TypedDict

import anyio

from streamhil import START, Command, CompiledStateGraph, StateGraph, interrupt
from streamhil.checkpoint.sqlite import SqliteSaver


class State(TypedDict):
    log: Annotated[list, operator.add]


async def plan(state: State) -> dict:
    return {"log": ["planned"]}


async def confirm(state: State) -> dict:
    return {"log": [f"confirmed: {interrupt('ship it?')}"]}


def build(saver: SqliteSaver) -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("confirm", confirm)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "confirm")
    return builder.compile(checkpointer=saver)


async def main(path: Path) -> dict:
    config = {"configurable": {"thread_id": "release"}}
    async with SqliteSaver.from_path(path) as saver:
        async for update in build(saver).astream({"log": []}, config):
            if "__interrupt__" in update:
                print("paused:", [i.value for i in update["__interrupt__"]])
            else:
                print("update:", update)
    async with SqliteSaver.from_path(path) as saver:  # as if after a restart
        graph = build(saver)
        print("pending:", [i.value for i in (await graph.aget_state(config)).interrupts])
        result = await graph.ainvoke(Command(resume="yes"), config)
        print("result:", result)
        return result


if __name__ == "__main__":
    for backend in ("asyncio", "trio"):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"-- {backend}")
            anyio.run(main, Path(tmp) / "threads.db", backend=backend)
