"""AG-UI cost: CPU per AG-UI run and per translated event, in process (no sockets).

Runs ``create_app`` with the demo graphs under its lifespan and posts ``RunAgentInput`` bodies to
``/agui/{graph}`` through httpx's ASGI transport, so the figures are the server's own work (run
manager, checkpointer, event hub, AG-UI translation, SSE encoding) without network noise:

* ``approve``: a run that pauses, then the resume that finishes it (two requests);
* ``tool_review``: an agent turn with a streamed reply and two reviewed tool calls, then one resume
  answering both (two requests);
* the translator alone: CPU per streamhil event turned into AG-UI events, replaying the hub events
  recorded from a ``tool_review`` round.

    python bench/agui_bench.py               # ~20 s
    python bench/agui_bench.py --rounds 50

CPU time (``time.process_time``) per operation, median of the rounds. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from typing import Any

import anyio
import httpx
import orjson
from streamhil_server import create_app
from streamhil_server.compat.agui_events import RunTranslator
from streamhil_server.demo_graphs import demo_graphs


def _body(thread_id: str, **fields: Any) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "messages": [], "tools": [],
            "context": [], "forwardedProps": {}, **fields}


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


async def _round(http: httpx.AsyncClient, graph: str, first: dict[str, Any], answer: Any) -> tuple[int, int]:
    """One pause and one resume; returns (AG-UI events, SSE bytes)."""
    tid = str(uuid.uuid4())
    one = await http.post(f"/agui/{graph}", json=_body(tid, **first))
    paused = _events(one.text)
    interrupts = paused[-1]["outcome"]["interrupts"]
    resume = [{"interruptId": i["id"], "status": "resolved", "payload": answer} for i in interrupts]
    two = await http.post(f"/agui/{graph}", json=_body(tid, resume=resume))
    done = _events(two.text)
    assert done[-1]["outcome"] == {"type": "success"}, done[-1]
    return len(paused) + len(done), len(one.content) + len(two.content)


async def _bench(rounds: int) -> dict[str, Any]:
    app = create_app({name: graph for name, (graph, _) in demo_graphs().items()}, web=False)
    cases = {
        "approve": ({"state": {"request": "order 42"}}, "approve"),
        "tool_review": ({"messages": [{"id": "u1", "role": "user", "content": "book the Ritz and the Savoy"}]}, {"approved": True}),
    }
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for name, (first, answer) in cases.items():
                await _round(http, name, first, answer)  # warm-up
                cpu: list[float] = []
                for _ in range(rounds):
                    start = time.process_time()
                    events, size = await _round(http, name, first, answer)
                    cpu.append(time.process_time() - start)
                results[name] = {"cpu_ms_per_round": statistics.median(cpu) * 1000, "agui_events": events, "sse_bytes": size}

        # the translator alone, on the hub events of one tool_review round (read from the log)
        runtime = app.state.runtime
        tid = str(uuid.uuid4())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
            one = _events((await http.post("/agui/tool_review", json=_body(tid, **cases["tool_review"][0]))).text)
            interrupts = one[-1]["outcome"]["interrupts"]
            resume = [{"interruptId": i["id"], "status": "resolved", "payload": {"approved": True}} for i in interrupts]
            await http.post("/agui/tool_review", json=_body(tid, resume=resume))
        frames = [orjson.loads(frame) for _, frame in await runtime.store.read_events(tid, 0, runtime.hub.head(tid))]
    per_event: list[float] = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(20):
            translator = RunTranslator(tid, "r", known=[])
            for frame in frames:
                translator.feed(frame)
        per_event.append((time.process_time() - start) / (20 * len(frames)))
    results["translator"] = {"cpu_us_per_hub_event": statistics.median(per_event) * 1e6, "hub_events": len(frames)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    results = anyio.run(_bench, args.rounds)
    for name, figures in results.items():
        print(f"{name:12s} " + "  ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
