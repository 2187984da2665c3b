"""CPU per answer on a thread with a large state: the server's saver with and without the head
an answer was checked on handed to the run that takes it (``StorageSaver.offer_head``).

    python bench/answer_head.py --messages 2000 --answers 20 --threads 20

Each answer is what the server does for a ``resume``: ``arecord_command`` (check the answer
against the pending interrupt, store it), then ``arun`` (the node takes the answer and asks
again). ``--threads`` threads answer at once, each ``--answers`` times. In process, in memory;
the two rows alternate ``--repeat`` times; CPU per answer is the process's.
"""

from __future__ import annotations

import argparse
import operator
import statistics
import time
from typing import Annotated, Any, TypedDict

import anyio

from streamhil import START, StateGraph, interrupt
from streamhil.types import Command
from streamhil_server.storage import MemoryStorage, StorageSaver


class State(TypedDict, total=False):
    messages: Annotated[list[dict[str, str]], operator.add]
    answers: int


def _graph(saver: StorageSaver) -> Any:
    def ask(state: State) -> State:
        interrupt("next?")
        return {"answers": state.get("answers", 0) + 1}

    g = StateGraph(State)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_conditional_edges("ask", lambda state: "ask", ["ask"])
    return g.compile(checkpointer=saver)


def _ignore(ns: Any, mode: str, payload: Any) -> None:
    return None


async def _cpu_per_answer(messages: int, answers: int, threads: int, handed: bool) -> float:
    async with MemoryStorage() as storage:
        saver = StorageSaver(storage)
        if not handed:
            saver.offer_head = None  # type: ignore[assignment,method-assign]
        graph = _graph(saver)
        history = [{"role": "user", "content": f"message {i} " * 20, "id": str(i)} for i in range(messages)]
        configs = [{"configurable": {"thread_id": f"t{n}"}} for n in range(threads)]
        for config in configs:
            await graph.ainvoke({"messages": history}, config)

        async def answer(config: dict[str, Any]) -> None:
            for _ in range(answers):
                await graph.arecord_command(config, Command(resume="ok"))
                await graph.arun(None, config, sink=_ignore)

        start = time.process_time()
        async with anyio.create_task_group() as tg:
            for config in configs:
                tg.start_soon(answer, config)
        return (time.process_time() - start) / (answers * threads) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeat):
        for handed in (False, True):
            rows[handed].append(await _cpu_per_answer(args.messages, args.answers, args.threads, handed))
    before, after = statistics.median(rows[False]), statistics.median(rows[True])
    print(f"{args.threads} threads at once, {args.messages} messages: CPU per answer {before:.2f} ms read back, {after:.2f} ms handed over ({before / after:.2f}x)")


if __name__ == "__main__":
    anyio.run(main)
