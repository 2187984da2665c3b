"""The functional API (``@entrypoint``, ``@task``) side by side with LangGraph 1.2.22: the same
program under both libraries gives the same outputs, stream parts, state, interrupts and the same
number of runs of each task body across interrupt and resume (interrupt ids aside: they are
hashes of different algorithms). Where streamhil differs on purpose (parallel interrupts), the
test says so."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import anyio
import pytest

HAS_LANGGRAPH = importlib.util.find_spec("langgraph") is not None
needs_langgraph = pytest.mark.skipif(not HAS_LANGGRAPH, reason="langgraph is not installed")


def mod(lib: str, name: str) -> ModuleType:
    return importlib.import_module(f"{lib}.{name}")


def norm(value: Any) -> Any:
    """Comparable across libraries: interrupts by value, task ids and interrupt ids dropped."""
    if type(value).__name__ == "Interrupt":
        return ("interrupt", norm(value.value))
    if type(value).__name__ == "PregelTask":
        return ("task", value.name, norm(value.interrupts), norm(value.result))
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items() if k != "id"}
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    return value


def state_of(graph: Any, config: dict[str, Any]) -> Any:
    s = graph.get_state(config)
    return norm({"values": s.values, "next": s.next, "tasks": s.tasks, "interrupts": s.interrupts})


def side_by_side(program: Callable[[str], Any]) -> Any:
    """``program("streamhil")``, asserted equal to ``program("langgraph")``."""
    got = program("streamhil")
    if HAS_LANGGRAPH:
        assert got == program("langgraph")
    return got


# -- an essay review: a task, the entrypoint's own interrupt, an interrupt inside a task ---------


def essay_review(lib: str) -> dict[str, Any]:
    func, types = mod(lib, "func"), mod(lib, "types")
    interrupt, Command = types.interrupt, types.Command
    runs = {"compose": 0, "confirm": 0}

    @func.task
    def compose(topic: str) -> str:
        runs["compose"] += 1
        return f"An essay about {topic}"

    @func.task
    def confirm(essay: str) -> Any:
        runs["confirm"] += 1
        return interrupt({"publish?": essay})

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def review(topic: str, *, previous: Any = None, writer=None) -> dict[str, Any]:
        writer({"topic": topic})
        essay = compose(topic).result()
        verdict = interrupt({"essay": essay})
        published = confirm(essay).result()
        return {"essay": essay, "verdict": verdict, "published": published, "previous": previous}

    config = {"configurable": {"thread_id": "1"}}
    modes = ["updates", "values", "custom"]
    out: dict[str, Any] = {}
    out["first"] = norm(list(review.stream("cats", config, stream_mode=modes)))
    out["state1"] = state_of(review, config)
    out["second"] = norm(list(review.stream(Command(resume="good"), config, stream_mode=modes)))
    out["state2"] = state_of(review, config)
    out["third"] = norm(review.invoke(Command(resume=True), config))
    out["state3"] = state_of(review, config)
    out["runs"] = dict(runs)
    out["next_run"] = norm(review.invoke("dogs", config))  # the last output, with the new question
    out["tasks_mode"] = norm(list(review.stream(Command(resume="ok"), config, stream_mode="tasks")))
    out["last"] = norm(review.invoke(Command(resume=False), config))
    out["history"] = [
        (norm(s.values), s.next, s.metadata["source"], s.metadata["step"])
        for s in review.get_state_history(config)
    ]
    out["runs_at_end"] = dict(runs)
    return out


@needs_langgraph
def test_essay_review_matches_langgraph() -> None:
    out = side_by_side(essay_review)
    assert out["state1"]["next"] == ["review"] and out["state1"]["values"] is None
    assert out["third"]["published"] is True
    assert out["runs"] == {"compose": 1, "confirm": 2}  # compose ran once across two resumes
    assert out["last"]["previous"] == out["third"]


def test_essay_review_without_langgraph() -> None:
    out = essay_review("streamhil")
    assert out["first"] == [
        ["custom", {"topic": "cats"}],
        ["updates", {"compose": "An essay about cats"}],
        ["updates", {"__interrupt__": [("interrupt", {"essay": "An essay about cats"})]}],
        ["values", {"__interrupt__": [("interrupt", {"essay": "An essay about cats"})]}],
    ]
    assert out["third"] == {"essay": "An essay about cats", "verdict": "good", "published": True, "previous": None}
    assert out["runs"] == {"compose": 1, "confirm": 2}


# -- parallel tasks, entrypoint.final, previous, config -----------------------------------------


def parallel_sum(lib: str) -> Any:
    func = mod(lib, "func")
    runs: list[int] = []

    @func.task
    def square(x: int) -> int:
        runs.append(x)
        return x * x

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def total(xs: list[int], *, previous: Any = None, config=None) -> Any:
        squares = [f.result() for f in [square(x) for x in xs]]
        user = config["configurable"]["user"]
        return func.entrypoint.final(value={"squares": squares, "previous": previous, "user": user},
                                     save=sum(squares))

    config = {"configurable": {"thread_id": "t", "user": "ann"}}
    first = total.invoke([1, 2, 3], config)
    second = list(total.stream([4], config, stream_mode=["updates", "values"]))
    return norm([first, second, state_of(total, config), sorted(runs)])


@needs_langgraph
def test_parallel_tasks_final_and_previous_match_langgraph() -> None:
    first, second, state, runs = side_by_side(parallel_sum)
    assert first == {"squares": [1, 4, 9], "previous": None, "user": "ann"}
    assert second[-1] == ["values", {"squares": [16], "previous": 14, "user": "ann"}]
    assert runs == [1, 2, 3, 4]


def test_entrypoint_without_checkpointer() -> None:
    func = mod("streamhil", "func")

    @func.entrypoint()
    def plus_one(x: int) -> int:
        return x + 1

    assert plus_one.invoke(1) == 2
    assert list(plus_one.stream(1)) == [{"plus_one": 2}]
    assert list(plus_one.stream(1, stream_mode="values")) == [2]


# -- a task asking two questions: its first answer is kept while it asks the second ------------


def two_questions(lib: str) -> Any:
    func, types = mod(lib, "func"), mod(lib, "types")
    interrupt, Command = types.interrupt, types.Command
    runs = {"ask": 0}

    @func.task
    def ask() -> list[Any]:
        runs["ask"] += 1
        return [interrupt("name?"), interrupt("age?")]

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def form(_: Any) -> Any:
        return ask().result()

    config = {"configurable": {"thread_id": "q"}}
    steps = [form.invoke({}, config)]
    steps.append(form.invoke(Command(resume="Ann"), config))
    steps.append(form.invoke(Command(resume=41), config))
    return norm(steps + [runs])


@needs_langgraph
def test_interrupts_inside_a_task_match_langgraph() -> None:
    *_, last, runs = side_by_side(two_questions)
    assert last == ["Ann", 41] and runs == {"ask": 3}


# -- retry policy on a task, a task called from a StateGraph node --------------------------------


def flaky(lib: str) -> Any:
    func, types = mod(lib, "func"), mod(lib, "types")
    calls: list[int] = []

    @func.task(retry_policy=types.RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False,
                                              retry_on=ValueError))
    def shaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ValueError("not yet")
        return x

    @func.entrypoint()
    def wf(x: int) -> int:
        return shaky(x).result()

    return [wf.invoke(5), len(calls)]


@needs_langgraph
def test_task_retry_policy_matches_langgraph() -> None:
    assert side_by_side(flaky) == [5, 3]


def retried_entrypoint(lib: str) -> Any:
    """The entrypoint fails after its task finished and is retried: the task's saved result is
    handed back, not run a second time."""
    func, types, memory = mod(lib, "func"), mod(lib, "types"), mod(lib, "checkpoint.memory")
    ran: list[int] = []
    attempts: list[int] = []

    @func.task
    def charge(x: int) -> int:
        ran.append(x)
        return x * 10

    @func.entrypoint(checkpointer=memory.InMemorySaver(),
                     retry_policy=types.RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False,
                                                    retry_on=ConnectionError))
    def wf(x: int) -> int:
        total = charge(x).result()
        attempts.append(total)
        if len(attempts) < 2:
            raise ConnectionError("the mail server is away")
        return total + 1

    return [wf.invoke(4, {"configurable": {"thread_id": "t"}}), ran, attempts]


def test_a_retried_entrypoint_does_not_run_a_finished_task_again() -> None:
    """LangGraph 1.2.22 runs the task again here ([41, [4, 4], [40, 40]]): its retry clears the
    attempt's writes. A finished task stays finished in streamhil (docs/langgraph-differences.md)."""
    assert retried_entrypoint("streamhil") == [41, [4], [40, 40]]


def task_in_a_node(lib: str) -> Any:
    func, g = mod(lib, "func"), mod(lib, "graph")
    from typing import TypedDict

    class S(TypedDict):
        x: int

    @func.task
    def double(x: int) -> int:
        return 2 * x

    def node(s: S) -> dict[str, Any]:
        return {"x": double(s["x"]).result()}

    graph = g.StateGraph(S).add_node("node", node).add_edge(g.START, "node").compile()
    return list(graph.stream({"x": 3}, stream_mode="updates"))


@needs_langgraph
def test_task_called_from_a_graph_node_matches_langgraph() -> None:
    assert side_by_side(task_in_a_node) == [{"double": 6}, {"node": {"x": 6}}]


# -- async entrypoints: asyncio and trio ----------------------------------------------------------


def async_workflow(lib: str) -> tuple[Any, dict[Any, int]]:
    func, types = mod(lib, "func"), mod(lib, "types")
    interrupt = types.interrupt
    runs: dict[Any, int] = {}

    @func.task
    async def fetch(x: int) -> int:
        runs[x] = runs.get(x, 0) + 1
        await anyio.sleep(0.01)
        return 2 * x

    @func.task
    def approve(total: int) -> Any:  # a sync task called from async code
        runs["approve"] = runs.get("approve", 0) + 1
        return interrupt(f"ok {total}?")

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    async def wf(xs: list[int], *, previous: Any = None) -> dict[str, Any]:
        futures = [fetch(x) for x in xs]
        values = [await f for f in futures]
        ok = await approve(sum(values))
        mine = interrupt("sure?")
        return {"values": values, "ok": ok, "mine": mine}

    return wf, runs


async def drive_async(lib: str) -> Any:
    wf, runs = async_workflow(lib)
    Command = mod(lib, "types").Command
    config = {"configurable": {"thread_id": "a"}}
    out = [await wf.ainvoke([1, 2, 3], config)]
    out.append([p async for p in wf.astream(Command(resume="yes"), config, stream_mode=["updates", "values"])])
    state = await wf.aget_state(config)
    out.append([state.values, state.next, state.interrupts])
    out.append(await wf.ainvoke(Command(resume="sure"), config))
    return norm(out + [runs])


ASYNC_EXPECTED = [
    {"__interrupt__": [("interrupt", "ok 12?")]},
    [
        ["values", None],
        ["updates", {"approve": "yes"}],
        ["updates", {"__interrupt__": [("interrupt", "sure?")]}],
        ["values", {"__interrupt__": [("interrupt", "sure?")]}],
    ],
    [None, ["wf"], [("interrupt", "sure?")]],
    {"values": [2, 4, 6], "ok": "yes", "mine": "sure"},
    {1: 1, 2: 1, 3: 1, "approve": 2},
]


@pytest.mark.anyio
async def test_async_entrypoint(anyio_backend: str) -> None:
    assert await drive_async("streamhil") == ASYNC_EXPECTED


@needs_langgraph
def test_async_entrypoint_matches_langgraph() -> None:
    assert anyio.run(drive_async, "langgraph", backend="asyncio") == ASYNC_EXPECTED


# -- where streamhil differs on purpose -----------------------------------------------------------


def test_parallel_interrupts_all_pending_and_answered_one_at_a_time() -> None:
    """Two task calls waiting at once: both questions are pending (LangGraph surfaces one), and
    answering one runs only that task again (LangGraph re-runs the other too)."""
    from streamhil.checkpoint.memory import InMemorySaver
    from streamhil.errors import AmbiguousResumeError
    from streamhil.func import entrypoint, task
    from streamhil.types import Command, interrupt

    runs: dict[str, int] = {}

    @task
    def approve(who: str) -> Any:
        runs[who] = runs.get(who, 0) + 1
        return interrupt(f"{who}?")

    @entrypoint(checkpointer=InMemorySaver())
    def sign_off(people: list[str]) -> list[Any]:
        futures = [approve(p) for p in people]
        return [f.result() for f in futures]

    config = {"configurable": {"thread_id": "p"}}
    first = sign_off.invoke(["legal", "finance"], config)["__interrupt__"]
    assert [(i.value, i.node) for i in first] == [("legal?", "approve"), ("finance?", "approve")]
    with pytest.raises(AmbiguousResumeError):
        sign_off.invoke(Command(resume="yes"), config)
    second = sign_off.invoke(Command(resume={first[1].id: "paid"}), config)["__interrupt__"]
    assert [i.id for i in second] == [first[0].id]  # the same question, same id
    assert runs == {"legal": 1, "finance": 2}
    assert sign_off.invoke(Command(resume={first[0].id: "signed"}), config) == ["signed", "paid"]
    assert runs == {"legal": 2, "finance": 2}


def test_finished_tasks_survive_a_restart(tmp_path: Any) -> None:
    """A task's result is saved when it finishes: a new process (a new graph on the same
    SQLite file) resuming the thread does not run it again."""
    from streamhil.checkpoint.sqlite import SqliteSaver
    from streamhil.func import entrypoint, task
    from streamhil.types import Command, interrupt

    runs: list[str] = []

    def build(saver: Any) -> Any:
        @task
        def draft(topic: str) -> dict[str, Any]:
            runs.append(topic)
            return {"text": f"about {topic}", "tags": ("a", "b")}

        @entrypoint(checkpointer=saver)
        def wf(topic: str) -> Any:
            d = draft(topic).result()
            return {**d, "ok": interrupt(d["text"])}

        return wf

    path = str(tmp_path / "wf.sqlite")
    config = {"configurable": {"thread_id": "r"}}
    with SqliteSaver.from_path(path) as saver:
        assert build(saver).invoke("otters", config)["__interrupt__"][0].value == "about otters"
    with SqliteSaver.from_path(path) as saver:
        assert build(saver).invoke(Command(resume=True), config) == {"text": "about otters", "tags": ("a", "b"), "ok": True}
    assert runs == ["otters"]


def test_bad_definitions_are_refused() -> None:
    from streamhil.func import entrypoint, task

    with pytest.raises(NotImplementedError):
        entrypoint()(lambda: (yield))  # type: ignore[arg-type]

    def no_input() -> None: ...

    with pytest.raises(ValueError, match="at least one parameter"):
        entrypoint()(no_input)
    with pytest.raises(TypeError, match="cache"):
        task(cache_policy=object())
    with pytest.raises(TypeError, match="cache"):
        entrypoint(cache=object())

    @task
    def t(x: int) -> int:
        return x

    with pytest.raises(RuntimeError, match="outside of an entrypoint"):
        t(1)


# -- errors: the exception the entrypoint or a task raised, not a group of it -----------------------


def failing_workflows(lib: str) -> list[Any]:
    func, types = mod(lib, "func"), mod(lib, "types")
    attempts = {"flaky": 0, "entry": 0}

    @func.task
    def add_one(x: int) -> int:
        return x + 1

    @func.task
    def bad(x: int) -> int:
        raise ValueError(f"task failed {x}")

    @func.task
    async def abad(x: int) -> int:
        raise ValueError(f"async task failed {x}")

    @func.task(retry_policy=types.RetryPolicy(max_attempts=2, initial_interval=0.01, retry_on=RuntimeError))
    def flaky(x: int) -> int:
        attempts["flaky"] += 1
        raise RuntimeError("always")

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def body_raises(x: int) -> int:
        add_one(x).result()
        raise KeyError("boom")

    @func.entrypoint()
    def task_raises(x: int) -> int:
        return bad(x).result()

    @func.entrypoint()
    async def async_task_raises(x: int) -> int:
        return await abad(x)

    @func.entrypoint()
    def retried_task_raises(x: int) -> int:
        return flaky(x).result()

    @func.entrypoint(retry_policy=types.RetryPolicy(max_attempts=3, initial_interval=0.01, retry_on=KeyError))
    def entry_retried(x: int) -> int:  # the entrypoint's policy sees the KeyError itself
        attempts["entry"] += 1
        if attempts["entry"] < 3:
            raise KeyError("again")
        return attempts["entry"]

    out: list[Any] = []
    config = {"configurable": {"thread_id": "1"}}
    for wf in (body_raises, task_raises, retried_task_raises, entry_retried):
        try:
            out.append(wf.invoke(1, config))
        except Exception as exc:
            out.append((type(exc).__name__, str(exc)))
    for wf in (body_raises, task_raises, async_task_raises):
        try:
            out.append(anyio.run(wf.ainvoke, 1, {"configurable": {"thread_id": "2"}}))
        except Exception as exc:
            out.append(("async", type(exc).__name__, str(exc)))
    return out + [attempts]


FAILING_EXPECTED = [
    ("KeyError", "'boom'"),
    ("ValueError", "task failed 1"),
    ("RuntimeError", "always"),
    3,
    ("async", "KeyError", "'boom'"),
    ("async", "ValueError", "task failed 1"),
    ("async", "ValueError", "async task failed 1"),
    {"flaky": 2, "entry": 3},
]


def test_errors_are_raised_as_themselves() -> None:
    assert failing_workflows("streamhil") == FAILING_EXPECTED


@needs_langgraph
def test_errors_match_langgraph() -> None:
    assert failing_workflows("langgraph") == FAILING_EXPECTED


def test_a_task_error_keeps_its_traceback() -> None:
    """The task body's frame is in the traceback of the error the entrypoint raises."""
    import traceback

    from streamhil.func import entrypoint, task

    @task
    def broken(x: int) -> int:
        return {}[x]

    @entrypoint()
    def wf(x: int) -> int:
        return broken(x).result()

    with pytest.raises(KeyError) as info:
        wf.invoke(1)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "wf" in frames and "broken" in frames


# -- the messages stream mode: a task's chat model and returned message, as the task's ------------


def task_messages(lib: str) -> list[Any]:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage

    func, types = mod(lib, "func"), mod(lib, "types")
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=t, id=f"ai-{i}") for i, t in enumerate(["a b", "c d"])]))

    @func.task
    def ask_llm(question: str) -> str:
        return str(llm.invoke([HumanMessage(question)]).content)

    @func.task
    def reply(text: str) -> Any:
        return AIMessage(content="whole " + text, id="whole-1")

    @func.task
    def outer(text: str) -> Any:  # a call made by a call: its namespace and path nest twice
        return reply(text).result()

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def wf(question: str) -> dict[str, Any]:
        first = ask_llm(question).result()
        outer(first).result()
        answer = types.interrupt("ok?")
        return {"first": first, "second": ask_llm(first + answer).result()}

    def shape(part: Any) -> Any:
        mode, payload = part
        if mode != "messages":
            return [mode, norm(payload)] if "__interrupt__" not in payload else [mode, "interrupt"]
        message, meta = payload
        names = [[s.split(":")[0] for s in str(meta.get(k)).split("|")] for k in ("langgraph_checkpoint_ns", "checkpoint_ns")]
        keys = ("langgraph_node", "langgraph_step", "langgraph_triggers", "langgraph_path")
        return [mode, type(message).__name__, message.content, [meta.get(k) for k in keys], names]

    config = {"configurable": {"thread_id": "1"}}
    out = [shape(p) for p in wf.stream("hi", config, stream_mode=["messages", "updates"])]
    out += [shape(p) for p in wf.stream(types.Command(resume="!"), config, stream_mode=["messages", "updates"])]
    return out


def test_task_messages_carry_the_tasks_metadata() -> None:
    parts = side_by_side(task_messages)
    chunk_meta = ["ask_llm", 0, ("__pregel_push",), ("__pregel_push", ("__pregel_pull", "wf"), 0, True)]
    assert parts[0] == ["messages", "AIMessageChunk", "a", chunk_meta, [["wf", "ask_llm"], ["wf", "ask_llm"]]]
    whole = [p for p in parts if p[1] == "AIMessage"]
    nested_path = ("__pregel_push", ("__pregel_push", ("__pregel_pull", "wf"), 1, True), 0, True)
    assert whole == [  # streamed once: its saved result is handed back on the resume
        ["messages", "AIMessage", "whole a b", ["reply", 0, ("__pregel_push",), nested_path], [["wf", "outer", "reply"], ["None"]]]
    ]
    assert parts[-1] == ["updates", {"wf": {"first": "a b", "second": "c d"}}]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # LangChain's ainvoke runs on asyncio only
async def test_async_task_messages_carry_the_tasks_metadata(anyio_backend: str) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage

    from streamhil.func import entrypoint, task

    llm = GenericFakeChatModel(messages=iter([AIMessage(content="x y", id="ai-0")]))

    @task
    async def ask_llm(question: str) -> str:
        return str((await llm.ainvoke([HumanMessage(question)])).content)

    @entrypoint()
    async def wf(question: str) -> str:
        return await ask_llm(question)

    parts = [(m.content, meta["langgraph_node"], meta["langgraph_triggers"]) async for m, meta in wf.astream("hi", stream_mode="messages")]
    assert parts == [("x", "ask_llm", ("__pregel_push",)), (" ", "ask_llm", ("__pregel_push",)), ("y", "ask_llm", ("__pregel_push",))]


# -- update_state on an entrypoint's thread: as if the function had returned the value -------------


def updated_entrypoint(lib: str) -> list[Any]:
    func, types = mod(lib, "func"), mod(lib, "types")

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def wf(x: int, *, previous: Any = None) -> dict[str, Any]:
        return {"x": x, "prev": previous}

    @func.entrypoint(checkpointer=mod(lib, "checkpoint.memory").InMemorySaver())
    def asks(x: int) -> Any:
        return types.interrupt("q")

    def snapshot(graph: Any, config: dict[str, Any]) -> Any:
        s = graph.get_state(config)
        return [s.values, s.next, norm(s.interrupts), s.metadata["source"]]

    one, fresh = {"configurable": {"thread_id": "1"}}, {"configurable": {"thread_id": "2"}}
    out: list[Any] = [wf.invoke(1, one)]
    wf.update_state(one, 5)
    out += [snapshot(wf, one), wf.invoke(2, one)]
    wf.update_state(one, {"a": 1}, as_node="wf")
    out += [snapshot(wf, one), wf.invoke(3, one)]
    wf.update_state(one, func.entrypoint.final(value="shown", save="kept"))
    out += [snapshot(wf, one), wf.invoke(4, one)]
    wf.update_state(fresh, 7)  # a thread with nothing saved yet
    out += [snapshot(wf, fresh), wf.invoke(3, fresh)]
    out.append(norm(asks.invoke(1, one)))
    asks.update_state(one, 9)  # the paused run is over: its question is gone
    out.append(snapshot(asks, one))
    return out


UPDATED_EXPECTED = [
    {"x": 1, "prev": None},
    [5, (), [], "update"],
    {"x": 2, "prev": 5},
    [{"a": 1}, (), [], "update"],
    {"x": 3, "prev": {"a": 1}},
    ["shown", (), [], "update"],
    {"x": 4, "prev": "kept"},
    [7, (), [], "update"],
    {"x": 3, "prev": 7},
    {"__interrupt__": [("interrupt", "q")]},
    [9, (), [], "update"],
]


def test_update_state_writes_what_the_entrypoint_returns() -> None:
    assert updated_entrypoint("streamhil") == UPDATED_EXPECTED


@needs_langgraph
def test_update_state_matches_langgraph() -> None:
    assert updated_entrypoint("langgraph") == UPDATED_EXPECTED
