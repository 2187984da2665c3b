"""An answer that arrives while its question's run end is being stored (another process can tell a
client of the question first: it reads committed events) waits for this process to take the
question in, instead of being refused as naming no pending interrupt."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from streamhil import END, START, StateGraph, interrupt
from streamhil_server.storage import MemoryStorage, Write

from .conftest import connect
from .graphs import Gate, S


def _asks() -> Any:
    def ask(state: S) -> S:
        return {"answer": interrupt("go on?")}

    g = StateGraph(S)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile()


def test_an_answer_to_a_question_whose_run_end_is_being_stored_is_taken(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, held = Gate(), Gate()
    store = MemoryStorage.write

    async def write(self: MemoryStorage, w: Write) -> None:
        if any(run.status == "interrupted" for run in w.runs) and not release.opened:
            held.open()  # the run's end (with its question) is on its way to storage
            await release.wait()
        await store(self, w)

    monkeypatch.setattr(MemoryStorage, "write", write)
    asked: list[str] = []
    with make_client({"ask": _asks()}) as client, connect(client) as wire:
        assert client.portal is not None
        hub = client.app.state.runtime.hub  # type: ignore[attr-defined]

        def listen(event: Any) -> None:  # what another process would read once committed
            if event.event == "interrupt":
                asked.extend(i["id"] for i in event.data["interrupts"])

        client.portal.call(hub.add_listener, listen)
        tid = wire.request("start_run", graph="ask", input={})["thread_id"]
        client.portal.call(held.wait)
        assert len(asked) == 1
        answer = wire.send("resume", thread_id=tid, interrupt_id=asked[0], value=1)
        client.portal.call(anyio.wait_all_tasks_blocked)  # the answer is parked, the end still held
        client.portal.call(release.open)
        reply = wire.answer(answer)
        assert reply["type"] == "reply", reply
        assert wire.run_end(tid, reply["result"]["run_id"])["event"] == "run_done"
