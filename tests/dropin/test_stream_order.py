"""The order of stream parts around interrupts, side by side with LangGraph 1.2.22: the same
graph built with each library streams the same parts (namespace, mode, payload; ids and
timestamps normalised) in the same order, in every stream mode combination.

What LangGraph does, and streamhil with it: a task that calls ``interrupt()`` streams, when it
ends, its ``updates`` part ``{"__interrupt__": ...}``, then a ``values`` part of the state the
step started from with its interrupts, then its ``tasks``/``debug`` result; a step whose other
tasks finished ends the run with one more ``values`` part, their writes applied. Every task's
start comes before any task runs; a resumed step starts with the checkpoint's values, the
starts of the tasks that finished before (with their ``updates`` marked ``cached``).

Scenarios: one node interrupting; two parallel nodes, one interrupting; both interrupting
(answered one at a time); ``Send`` tasks beside a node, one of them interrupting; an interrupt
inside a subgraph (with and without ``subgraphs=True``);
a subgraph stopping at its own breakpoint; ``interrupt_before``/``interrupt_after``; each
resumed to the end; through ``stream`` and ``astream``, with durability ``sync``, ``async`` and
``exit``.

Tasks of one step run at once in both libraries, so the parts of different tasks of a step may
interleave in any order; :func:`canonical` orders them by task between the step's own parts,
keeping each task's parts in the order they came. Where streamhil differs on purpose
(docs/langgraph-differences.md: answering one of two questions does not re-run the other),
LangGraph's re-run's own parts are left out of the comparison (:func:`without_rerun`)."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

LIBRARIES = ("langgraph", "streamhil")
ALL_MODES = ("values", "updates", "tasks", "debug", "checkpoints", "custom", "messages")
Part = tuple[tuple[str, ...], str, Any]


class S(TypedDict):
    log: Annotated[list, operator.add]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


# -- graphs -------------------------------------------------------------------------------------


def _nodes(name: str) -> dict[str, Callable[[Any], Any]]:
    """Nodes that log their name; ``ask``/``ask2`` ask ``"<node>?"`` (the subgraph's ``ask``:
    ``"child?"``, after the root's task); a custom part from each asking or parallel node,
    before it asks or returns."""
    types, config = lib(name, "types"), lib(name, "config")

    def plain(node: str) -> Callable[[Any], Any]:
        return lambda state: {"log": [node]}

    def asking(node: str, asker: str) -> Callable[[Any], Any]:
        def ask(state: Any) -> dict[str, Any]:
            config.get_stream_writer()({"from": node})
            return {"log": [f"{node}:{types.interrupt(f'{asker}?')}"]}

        return ask

    def other(state: Any) -> dict[str, Any]:
        config.get_stream_writer()({"from": "other"})
        return {"log": ["other"]}

    def worker(arg: str) -> dict[str, Any]:  # a Send's task: "worker/<arg>" ("worker/b" asks)
        label = f"worker/{arg}"
        config.get_stream_writer()({"from": label})
        return {"log": [f"{label}:{types.interrupt(f'{label}?')}" if arg == "b" else label]}

    return {"first": plain("first"), "second": plain("second"), "last": plain("last"),
            "ask": asking("ask", "ask"), "ask2": asking("ask2", "ask2"), "other": other,
            "sub_ask": asking("ask", "child"), "worker": worker}


def build(name: str, scenario: str, **compile_kwargs: Any) -> Any:
    graph = lib(name, "graph")
    nodes = _nodes(name)
    builder = graph.StateGraph(S)
    if scenario in ("subgraph", "subgraph_breakpoint"):
        sub = graph.StateGraph(S)
        sub.add_node("inner", nodes["first"])
        sub.add_node("ask", nodes["sub_ask"])
        sub.add_edge(graph.START, "inner")
        sub.add_edge("inner", "ask")
        breakpoint = {"interrupt_before": ["ask"]} if scenario == "subgraph_breakpoint" else {}
        middle = {"child": sub.compile(**breakpoint)}
    else:
        middle = {
            "one": {"ask": nodes["ask"]},
            "parallel": {"ask": nodes["ask"], "other": nodes["other"]},
            "both": {"ask": nodes["ask"], "ask2": nodes["ask2"]},
            "plain": {"second": nodes["second"]},
            "plain_parallel": {"second": nodes["second"], "other": nodes["other"]},
            "sends": {"worker": nodes["worker"], "other": nodes["other"]},
        }[scenario]
    send = lib(name, "types").Send
    builder.add_node("first", nodes["first"])
    for node, fn in middle.items():
        builder.add_node(node, fn)
    builder.add_node("last", nodes["last"])
    builder.add_edge(graph.START, "first")
    for node in middle:
        if node == "worker":  # three Sends (beside the edge-triggered task "other")
            builder.add_conditional_edges("first", lambda state: [send("worker", a) for a in "cba"])
        else:
            builder.add_edge("first", node)
        builder.add_edge(node, "last")
    builder.add_edge("last", graph.END)
    saver = lib(name, "checkpoint.memory").InMemorySaver()
    return builder.compile(checkpointer=saver, **compile_kwargs)


def answer(question: str, value: str) -> Callable[[str, Any, Any], Any]:
    """A resume answering only the pending interrupt whose value is ``question``, by its id."""

    def make(name: str, graph: Any, config: Any) -> Any:
        pending = graph.get_state(config).interrupts
        return lib(name, "types").Command(resume={i.id: value for i in pending if i.value == question})

    return make


def resume(value: str) -> Callable[[str, Any, Any], Any]:
    return lambda name, graph, config: lib(name, "types").Command(resume=value)


START_INPUT = {"log": []}
CONTINUE = None

SCENARIOS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "one": ({}, [START_INPUT, resume("yes")]),
    "parallel": ({}, [START_INPUT, resume("yes")]),
    "both": ({}, [START_INPUT, answer("ask?", "yes"), resume("yes2")]),
    "subgraph": ({}, [START_INPUT, resume("yes")]),
    "sends": ({}, [START_INPUT, resume("yes")]),
    "subgraph_breakpoint": ({}, [START_INPUT, CONTINUE]),
    "before": ({"interrupt_before": ["second"]}, [START_INPUT, CONTINUE]),
    "after": ({"interrupt_after": ["second"]}, [START_INPUT, CONTINUE]),
    "before_parallel": ({"interrupt_before": ["other"]}, [START_INPUT, CONTINUE]),
    "after_parallel": ({"interrupt_after": ["other"]}, [START_INPUT, CONTINUE]),
    "after_interrupt": ({"interrupt_after": ["ask"]}, [START_INPUT, resume("yes"), CONTINUE]),
}
GRAPH_OF = {"before": "plain", "after": "plain", "before_parallel": "plain_parallel",
            "after_parallel": "plain_parallel", "after_interrupt": "one"}

RERUNS = {"both": {1: "ask2"}}
"""Runs in which LangGraph re-runs a task streamhil leaves parked (run index: node)."""


# -- running and normalising --------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32}\b")


class Normaliser:
    """Ids (uuids, 32-hex ids) as ``<idN>`` by first appearance; timestamps out; interrupts as
    ``(value, id)`` (streamhil's carry more fields); a namespace as its node names."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match.group(), f"<id{len(self.ids)}>")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self(k): "<ts>" if k == "timestamp" else self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self(v) for v in value)
        if type(value).__name__ == "Interrupt":
            return ("Interrupt", self(value.value), self(value.id))
        if isinstance(value, str):
            return _UUID.sub(self._id, value)
        return value


def run(name: str, scenario: str, modes: Sequence[str], *, subgraphs: bool, durability: str, use_async: bool) -> list[list[Part]]:
    """The parts of each run of the scenario on one thread (namespaces as node names)."""
    compile_kwargs, inputs = SCENARIOS[scenario]
    graph = build(name, GRAPH_OF.get(scenario, scenario), **compile_kwargs)
    config = {"configurable": {"thread_id": "t"}}
    runs = []
    for given in inputs:
        graph_input = given(name, graph, config) if callable(given) else given
        options = {"stream_mode": list(modes), "subgraphs": subgraphs, "durability": durability}
        if use_async:
            parts = asyncio.run(_collect(graph.astream(graph_input, config, **options)))
        else:
            parts = list(graph.stream(graph_input, config, **options))
        shaped = []
        for part in parts:
            ns, mode, payload = part if subgraphs else ((), *part)
            shaped.append((tuple(segment.split(":")[0] for segment in ns), mode, payload))
        runs.append(shaped)
    return runs


async def _collect(parts: Any) -> list[Any]:
    return [part async for part in parts]


# -- comparing ----------------------------------------------------------------------------------


def _task_payload(mode: str, payload: Any) -> dict[str, Any] | None:
    if mode == "tasks":
        return payload
    if mode == "debug" and payload["type"] in ("task", "task_result"):
        return payload["payload"]
    return None


def _interrupt_owner(payload: dict[str, Any]) -> tuple[int, str] | None:
    """The task that asked (None for a breakpoint's empty ``__interrupt__``: the run's own part)."""
    interrupts = payload["__interrupt__"]
    return (1, interrupts[0].value.rstrip("?")) if interrupts else None


def _update_owner(node: str, update: Any) -> str:
    """A Send's task by its label ("worker/c", the first thing it logs); any other by its node."""
    return update["log"][0].split(":")[0] if node == "worker" else node


def owner(part: Part, tasks: dict[str, str]) -> tuple[int, str] | None:
    """Which task of the root step a part belongs to, and whether it is a task start or a
    cached update (phase 0: emitted before the step's tasks run) or comes while they run
    (phase 1); None for the step's own parts (plain ``values``, checkpoints). ``tasks``: the
    label of each task id seen starting (a Send's task: "worker/<arg>")."""
    ns, mode, payload = part
    if ns:
        return 1, ns[0]
    task = _task_payload(mode, payload)
    if task is not None:
        if "result" in task:
            return 1, tasks.get(task["id"], task["name"])
        push = task["triggers"] == ("__pregel_push",)
        tasks[task["id"]] = f"{task['name']}/{task['input']}" if push else task["name"]
        return 0, tasks[task["id"]]
    if mode == "custom":
        return 1, payload["from"]
    if mode == "updates":
        if "__interrupt__" in payload:
            return _interrupt_owner(payload)
        node, update = next(iter(payload.items()))
        return (0 if "__metadata__" in payload else 1), _update_owner(node, update)
    if mode == "values" and "__interrupt__" in payload:
        return _interrupt_owner(payload)
    return None


def canonical(parts: list[Part]) -> list[Part]:
    """Between the step's own parts, the parts of its tasks ordered by task (each task's in
    the order they came); task starts and cached updates first, in the order they came."""
    out: list[Part] = []
    tasks: dict[str, str] = {}
    segment: list[tuple[tuple[int, int, str], Part]] = []
    for index, part in enumerate(parts):
        who = owner(part, tasks)
        if who is None:
            out += [p for _, p in sorted(segment, key=lambda item: item[0])]
            segment = []
            out.append(part)
        else:
            phase, task = who
            segment.append(((phase, index if phase == 0 else 0, task), part))
    out += [p for _, p in sorted(segment, key=lambda item: item[0])]
    return out


def without_rerun(parts: list[Part], node: str) -> list[Part]:
    """LangGraph's parts of re-running ``node`` that streamhil, which does not re-run it, has no
    counterpart of: its start, its custom parts and its result. (Its interrupt's ``updates`` and
    ``values`` parts stay: streamhil shows the parked interrupt with them.)"""
    kept = []
    for part in parts:
        _, mode, payload = part
        task = _task_payload(mode, payload)
        if task is not None and task["name"] == node:
            continue
        if mode == "custom" and payload["from"] == node:
            continue
        kept.append(part)
    return kept


def compared(name: str, scenario: str, modes: Sequence[str], **options: Any) -> list[list[Part]]:
    """A library's runs of the scenario as compared: LangGraph's without its re-runs' own parts,
    each run :func:`canonical`, then normalised (ids numbered in that order, across the runs)."""
    normalise = Normaliser()
    runs = []
    for index, parts in enumerate(run(name, scenario, modes, **options)):
        rerun = RERUNS.get(scenario, {}).get(index)
        if rerun is not None and name == "langgraph":
            parts = without_rerun(parts, rerun)
        runs.append([(ns, mode, normalise(payload)) for ns, mode, payload in canonical(parts)])
    return runs


def compare(scenario: str, modes: Sequence[str], *, subgraphs: bool = True, durability: str = "async", use_async: bool = False) -> list[list[Part]]:
    options = {"subgraphs": subgraphs, "durability": durability, "use_async": use_async}
    expected = compared("langgraph", scenario, modes, **options)
    got = compared("streamhil", scenario, modes, **options)
    assert len(got) == len(expected)
    for index, (theirs, ours) in enumerate(zip(expected, got)):
        assert ours == theirs, f"run {index} of {scenario!r} with {list(modes)}"
    return got


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize("use_async", [False, True], ids=["stream", "astream"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_mode_at_once(scenario: str, use_async: bool, durability: str) -> None:
    compare(scenario, ALL_MODES, durability=durability, use_async=use_async)


@pytest.mark.parametrize("scenario", ["subgraph", "subgraph_breakpoint"])
def test_subgraph_parts_stay_in_the_subgraph_without_subgraphs(scenario: str) -> None:
    compare(scenario, ALL_MODES, subgraphs=False)


@pytest.mark.parametrize("scenario", ["one", "parallel", "both", "subgraph", "sends"])
def test_every_combination_of_modes(scenario: str) -> None:
    for size in range(1, len(ALL_MODES) + 1):
        for modes in itertools.combinations(ALL_MODES, size):
            compare(scenario, modes)


def test_the_interrupted_step_in_order() -> None:
    """What the comparisons above check, spelled out for one parallel step (``ask`` interrupts,
    ``other`` finishes): the interrupt's ``updates`` and ``values`` before its task result, and
    one more ``values`` part, with ``other``'s write, last."""
    first, _ = compare("parallel", ("values", "updates", "tasks"))
    step = first[-8:]
    assert [(mode, sorted(payload)) for _, mode, payload in step] == [
        ("tasks", ["id", "input", "name", "triggers"]),
        ("tasks", ["id", "input", "name", "triggers"]),
        ("updates", ["__interrupt__"]),
        ("values", ["__interrupt__", "log"]),
        ("tasks", ["error", "id", "interrupts", "name", "result"]),
        ("updates", ["other"]),
        ("tasks", ["error", "id", "interrupts", "name", "result"]),
        ("values", ["log"]),
    ]
    assert step[3][2]["log"] == ["first"] and step[-1][2] == {"log": ["first", "other"]}


def test_no_checkpoint_parts_without_a_checkpointer() -> None:
    """LangGraph streams no ``checkpoints`` parts (nor ``debug`` checkpoints) when nothing is saved."""
    seen = {}
    for name in LIBRARIES:
        graph = lib(name, "graph")
        builder = graph.StateGraph(S)
        builder.add_node("first", _nodes(name)["first"])
        builder.add_edge(graph.START, "first")
        parts = builder.compile().stream(START_INPUT, stream_mode=["checkpoints", "debug"])
        seen[name] = [(mode, payload["type"]) for mode, payload in parts]
    assert seen["streamhil"] == seen["langgraph"] == [("debug", "task"), ("debug", "task_result")]
