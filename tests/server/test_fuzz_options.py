"""Every command with every valid combination of its options, on two connections of one
identity, sometimes the same command on both at once (issue 8, "Done when"). The sequences are
drawn from seeded generators (what is valid depends on the server's answers so far, which
Hypothesis cannot replay), so a failure names its seed.

Whatever the sequence: no command is answered with ``internal_error``; every accepted run ends
with exactly one terminal event; no interrupt is acknowledged as answered twice; each thread's
log is gap-free; and the server is healthy afterwards.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import random

import pytest
from streamhil.protocol import STREAM_MODES
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import check_seqs

INPUTS: dict[str, Any] = {
    "approve": {"request": "deploy v2"},
    "review_edit": {"text": "Otters hold hands while they sleep."},
    "tool_review": {"messages": [{"role": "user", "content": "book the Ritz"}]},
    "tool_review_chat": {"messages": [{"type": "human", "content": [{"type": "text", "text": "book the Savoy"}]}]},
    "multi_turn": {"messages": []},
    "validation": {},
    "parallel": {"doc": "contract.pdf"},
    "subgraph": {"item": "lamp"},
    "publish": {"topic": "otters"},
}
GRAPHS = demo_graphs()
NODES = {name: list(graph.nodes) for name, (graph, _) in GRAPHS.items()}
KEYS = {name: sorted(graph.input_keys) for name, (graph, _) in GRAPHS.items()}
TERMINAL = {"run_done", "run_interrupted", "run_error", "run_cancelled"}
ANSWERS: list[Any] = ["yes", "no", "approve", "blog", "42", "", {"approved": True}, {"approved": False},
                      {"type": "accept"}, {"type": "ignore"}, {"type": "response", "args": "later"},
                      [{"type": "accept"}], {"decisions": [{"type": "approve"}]},
                      {"decisions": [{"type": "reject", "message": "no"}]}, 30, None, "bye"]
SMALL: list[Any] = [None, 1, "x", {"k": "v"}, [1, 2], True]
STATUSES = ["idle", "running", "interrupted", "error"]


class Model:
    """What the test knows of the server: threads, their checkpoints, pending interrupts, runs."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}
        self.checkpoints: dict[str, list[str]] = {}
        self.interrupts: dict[str, list[str]] = {}
        self.runs: dict[str, str] = {}  # run_id -> thread_id
        self.acked: Counter[str] = Counter()  # interrupt id -> acknowledgements

    def see(self, frame: dict[str, Any]) -> None:
        if frame.get("type") != "event":
            return
        if frame["event"] == "interrupt":
            self.interrupts[frame["thread_id"]] = [i["id"] for i in frame["data"]["interrupts"]]


def command(rng: random.Random, model: Model) -> tuple[str, dict[str, Any]]:
    kinds = ["start_run", "list_graphs", "list_threads", "ping"]
    if model.threads:
        kinds += ["start_run", "resume", "resume", "resume", "cancel", "subscribe", "unsubscribe", "get_state",
                  "get_history", "update_state"]
    kind = rng.choice(kinds)
    tid = rng.choice(sorted(model.threads)) if model.threads else None
    graph = model.threads.get(tid or "", "")

    def maybe(options: list[Any]) -> Any:
        return None if not options or rng.random() < 0.4 else rng.choice(options)

    def modes(most: int) -> list[str]:
        return rng.sample(sorted(STREAM_MODES), rng.randint(1, most))

    checkpoints = model.checkpoints.get(tid or "", [])
    fields: dict[str, Any] = {}
    if kind == "start_run":
        existing = tid is not None and rng.random() < 0.5
        graph = graph if existing else rng.choice(sorted(GRAPHS))
        fields["graph"] = graph
        if existing:
            fields["thread_id"] = tid
            fields["checkpoint_id"] = maybe(checkpoints)
        fields["input"] = rng.choice([INPUTS[graph], INPUTS[graph], None])
        fields["stream_modes"] = modes(3)
        fields["subgraphs"] = rng.random() < 0.5
        fields["if_busy"] = rng.choice(["reject", "enqueue", "interrupt"])
        fields["interrupt_before"] = maybe(["*", NODES[graph][:1], NODES[graph][-1:]])
        fields["interrupt_after"] = maybe(["*", NODES[graph][:1]])
        fields["config"] = maybe([{"recursion_limit": 5}, {"recursion_limit": 50}, {}])
        fields["metadata"] = maybe([{"ticket": "T-1"}, {}])
    elif kind == "resume":
        fields["thread_id"] = tid
        pending = model.interrupts.get(tid or "", [])
        how = rng.choice(["value", "interrupt_id", "answers"] if pending else ["value"])
        if how == "value":
            fields["value"] = rng.choice(ANSWERS)
        elif how == "interrupt_id":
            fields["interrupt_id"] = rng.choice(pending)
            fields["value"] = rng.choice(ANSWERS)
        else:
            chosen = rng.sample(pending, rng.randint(1, len(pending)))
            fields["answers"] = {i: rng.choice(ANSWERS) for i in chosen}
        fields["update"] = maybe([{KEYS[graph][0]: rng.choice(SMALL)}])
        fields["goto"] = maybe(NODES[graph])
        fields["stream_modes"] = modes(2)
        fields["if_busy"] = rng.choice(["reject", "enqueue"])
    elif kind == "cancel":
        fields["thread_id"] = tid
        fields["run_id"] = maybe([r for r, t in model.runs.items() if t == tid])
    elif kind == "subscribe":
        fields["thread_id"] = tid
        fields["after"] = maybe([0, 1, 3, 5])
    elif kind == "unsubscribe":
        fields["thread_id"] = tid
    elif kind == "get_state":
        fields["thread_id"] = tid
        fields["checkpoint_id"] = maybe(checkpoints)
    elif kind == "get_history":
        fields["thread_id"] = tid
        fields["limit"] = rng.randint(1, 5)
        fields["before"] = maybe(checkpoints)
    elif kind == "update_state":
        fields["thread_id"] = tid
        fields["values"] = rng.choice([{KEYS[graph][0]: rng.choice(SMALL)}, None])
        fields["as_node"] = maybe(NODES[graph])
        fields["checkpoint_id"] = maybe(checkpoints)
    elif kind == "list_threads":
        fields["status"] = maybe([rng.sample(STATUSES, rng.randint(1, 4))])
        fields["graph"] = maybe(sorted(GRAPHS))
        fields["limit"] = rng.randint(1, 100)
        fields["offset"] = rng.randint(0, 3)
    elif kind == "ping":
        fields["payload"] = rng.choice(SMALL)
    return kind, {k: v for k, v in fields.items() if v is not None}


def learn(model: Model, kind: str, fields: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["type"] in ("reply", "error"), answer
    if answer["type"] == "error":
        assert answer["code"] != "internal_error", (kind, fields, answer)
        return
    result = answer["result"]
    if kind in ("start_run", "resume"):
        model.runs[result["run_id"]] = result["thread_id"]
        model.threads.setdefault(result["thread_id"], fields.get("graph") or model.threads.get(result["thread_id"], ""))
        for interrupt_id in result.get("answered", []):
            model.acked[interrupt_id] += 1
    elif kind == "get_history":
        ids = [c["checkpoint_id"] for c in result["history"]]
        known = model.checkpoints.setdefault(fields["thread_id"], [])
        known += [i for i in ids if i not in known]


@pytest.mark.parametrize("seed", range(8))
def test_every_command_with_every_valid_option(make_client: Any, seed: int) -> None:
    rng = random.Random(seed)
    with make_client(demo_graphs()) as client, connect(client) as one, connect(client) as two:
        wires = [one, two]
        model = Model()
        for _ in range(40):
            kind, fields = command(rng, model)
            twice = kind in ("resume", "start_run", "cancel", "update_state") and rng.random() < 0.3
            chosen = wires if twice else [rng.choice(wires)]
            ids = [(wire, wire.send(kind, **fields)) for wire in chosen]  # both before reading either
            for wire, id in ids:
                learn(model, kind, fields, wire.answer(id))
            for wire in wires:
                for frame in wire.events:
                    model.see(frame)
        settle(client, model)


def settle(client: Any, model: Model) -> None:
    """Every accepted run ends with exactly one terminal event; logs are gap-free; no answer was
    acknowledged twice; the server still serves."""
    assert all(n == 1 for n in model.acked.values()), model.acked
    with connect(client) as watcher:
        for tid in sorted(set(model.runs.values())):
            watcher.request("subscribe", thread_id=tid, after=0)
        for run_id in model.runs:
            if not any(e["run_id"] == run_id and e["event"] in TERMINAL for e in watcher.events):
                watcher.until(lambda f, r=run_id: f.get("type") == "event" and f["run_id"] == r and f["event"] in TERMINAL)
        watcher.request("ping")
        terminal = Counter(e["run_id"] for e in watcher.events if e["event"] in TERMINAL)
        assert {r: terminal[r] for r in model.runs} == dict.fromkeys(model.runs, 1)
        check_seqs(watcher.events)
        # still healthy: a new run goes to its interrupt
        tid = watcher.request("start_run", graph="approve", input=INPUTS["approve"])["thread_id"]
        assert watcher.run_end(tid)["event"] == "run_interrupted"
