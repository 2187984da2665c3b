"""streamhil.prebuilt.tool_node: running tool calls concurrently outside and inside a graph."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import orjson
import pytest

from streamhil.errors import GraphInterrupt
from streamhil.prebuilt import ToolArgumentError, ToolNode, ToolOutput, get_tool_call, tool
from streamhil.prebuilt.tool_node import ToolInvocationError
from streamhil.types import Interrupt

pytestmark = pytest.mark.anyio


def assistant(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": "", "id": "a1", "tool_calls": list(calls)}


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"id": call_id, "name": name, "args": args}


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


async def test_answers_each_call_in_order_with_matching_ids() -> None:
    node = ToolNode([add])
    with anyio.fail_after(5):
        out = await node({"messages": [assistant(call("add", "c1", a=1, b=2), call("add", "c2", a=5, b=5))]})
    msgs = out["messages"]
    assert [(m["role"], m["tool_call_id"], m["content"], m["status"], m["name"]) for m in msgs] == [
        ("tool", "c1", "3", "success", "add"),
        ("tool", "c2", "10", "success", "add"),
    ]
    assert msgs[0]["id"] != msgs[1]["id"]


async def test_async_tools_run_concurrently() -> None:
    a_started, b_started = anyio.Event(), anyio.Event()

    @tool
    async def ping() -> str:
        """Waits for pong."""
        a_started.set()
        await b_started.wait()
        return "ping"

    @tool
    async def pong() -> str:
        """Waits for ping."""
        b_started.set()
        await a_started.wait()
        return "pong"

    with anyio.fail_after(5):  # sequential execution would deadlock here
        out = await ToolNode([ping, pong])([assistant(call("ping", "1"), call("pong", "2"))])
    assert [m["content"] for m in out] == ["ping", "pong"]


async def test_sync_tools_run_in_parallel_worker_threads() -> None:
    barrier = threading.Barrier(2, timeout=5)
    threads: set[int] = set()

    @tool
    def meet(who: str) -> str:
        """Meets the other call."""
        threads.add(threading.get_ident())
        barrier.wait()  # breaks (raising) unless both calls run at the same time
        return who

    with anyio.fail_after(10):
        out = await ToolNode([meet], handle_tool_errors=False)(
            {"messages": [assistant(call("meet", "1", who="x"), call("meet", "2", who="y"))]}
        )
    assert [m["content"] for m in out["messages"]] == ["x", "y"]
    assert len(threads) == 2 and threading.get_ident() not in threads


async def test_a_tool_exception_propagates_by_default_as_in_langgraph() -> None:
    with pytest.raises(ValueError, match="boom"):
        await ToolNode([add, fail])({"messages": [assistant(call("fail", "c1", reason="boom"), call("add", "c2", a=1, b=1))]})


async def test_tool_exception_becomes_an_error_message_with_handle_tool_errors_true() -> None:
    node = ToolNode([add, fail], handle_tool_errors=True)
    out = await node({"messages": [assistant(call("fail", "c1", reason="boom"), call("add", "c2", a=1, b=1))]})
    err, ok = out["messages"]
    assert err["status"] == "error" and err["tool_call_id"] == "c1"
    assert err["content"] == "Error: ValueError('boom')\n Please fix your mistakes."
    assert ok["content"] == "2" and ok["status"] == "success"


async def test_unhandled_errors_propagate_as_the_exception_itself() -> None:
    node = ToolNode([fail], handle_tool_errors=False)
    with pytest.raises(ValueError, match="boom"):
        await node({"messages": [assistant(call("fail", "c1", reason="boom"))]})
    with pytest.raises(ToolInvocationError, match="Error invoking tool 'add'") as raised:
        await ToolNode([add], handle_tool_errors=False)({"messages": [assistant(call("add", "c1", a="x", b=1))]})
    assert isinstance(raised.value.source, ToolArgumentError) and raised.value.__cause__ is raised.value.source
    assert raised.value.tool_name == "add" and raised.value.tool_kwargs == {"a": "x", "b": 1}


async def test_error_handling_by_type_string_and_function() -> None:
    msgs = {"messages": [assistant(call("fail", "c1", reason="boom"))]}
    bad_args = {"messages": [assistant(call("add", "c1", a="x", b=1))]}
    with pytest.raises(ValueError):
        await ToolNode([fail], handle_tool_errors=(KeyError,))(msgs)
    with pytest.raises(ValueError):
        await ToolNode([fail], handle_tool_errors=())(msgs)  # an empty tuple handles nothing
    with pytest.raises(ToolInvocationError):  # not a ValueError, as LangGraph's
        await ToolNode([add], handle_tool_errors=ValueError)(bad_args)
    out = await ToolNode([fail], handle_tool_errors=(ValueError,))(msgs)
    assert out["messages"][0]["content"] == "Error: ValueError('boom')\n Please fix your mistakes."
    out = await ToolNode([fail], handle_tool_errors=ValueError)(msgs)
    assert out["messages"][0]["status"] == "error"
    out = await ToolNode([fail], handle_tool_errors="try again")(msgs)
    assert out["messages"][0]["content"] == "try again"
    with pytest.raises(ValueError):
        await ToolNode([fail], handle_tool_errors="")(msgs)  # an empty string handles nothing
    out = await ToolNode([fail], handle_tool_errors=lambda e: f"handled {e}")(msgs)
    assert out["messages"][0]["content"] == "handled boom"


def on_value_error(e: ValueError) -> str:
    return f"value: {e}"


def on_either(e: KeyError | ValueError) -> str:
    return f"either: {e!r}"


def on_anything(e):  # type: ignore[no-untyped-def]
    return f"anything: {type(e).__name__}"


def on_not_an_exception(e: int) -> str:
    return "never"


async def test_a_handler_function_handles_the_exceptions_it_is_annotated_with() -> None:
    @tool
    def missing(key: str) -> str:
        """Raises KeyError."""
        raise KeyError(key)

    value_error = {"messages": [assistant(call("fail", "c1", reason="boom"))]}
    key_error = {"messages": [assistant(call("missing", "c1", key="k"))]}
    bad_args = {"messages": [assistant(call("add", "c1", a="x", b=1))]}
    node = ToolNode([fail, missing, add], handle_tool_errors=on_value_error)
    assert (await node(value_error))["messages"][0]["content"] == "value: boom"
    with pytest.raises(KeyError):
        await node(key_error)
    with pytest.raises(ToolInvocationError):
        await node(bad_args)
    node = ToolNode([fail, missing, add], handle_tool_errors=on_either)
    assert (await node(key_error))["messages"][0]["content"] == "either: KeyError('k')"
    assert (await node(value_error))["messages"][0]["content"] == "either: ValueError('boom')"
    node = ToolNode([fail, missing, add], handle_tool_errors=on_anything)
    assert (await node(bad_args))["messages"][0]["content"] == "anything: ToolInvocationError"
    node = ToolNode([fail], handle_tool_errors=on_not_an_exception)
    with pytest.raises(ValueError, match="Arbitrary types are not supported in the error handler signature"):
        await node(value_error)


async def test_unknown_tool_and_bad_arguments_answer_with_errors() -> None:
    out = await ToolNode([add])(
        {"messages": [assistant(call("nope", "c1"), {"id": "c2", "name": "add", "args": {"a": "1", "b": 2}})]}
    )
    unknown, bad = out["messages"]
    assert unknown["status"] == "error" and unknown["content"].startswith("Error: nope is not a valid tool, try one of [") and "add" in unknown["content"]
    assert bad["status"] == "error" and bad["content"] == (
        "Error invoking tool 'add' with kwargs {'a': '1', 'b': 2} with error:\n"
        " a: expected integer, got string '1'\n Please fix the error and try again."
    )


async def test_unparseable_json_arguments_answer_with_an_error() -> None:
    out = await ToolNode([add])({"messages": [assistant({"id": "c1", "name": "add", "args": "{a: 1"})]})
    assert out["messages"][0]["status"] == "error"
    assert "expected a JSON object" in out["messages"][0]["content"]


async def test_single_tool_call_input_as_sent_by_send() -> None:
    out = await ToolNode([add])({"type": "tool_call", "id": "c9", "name": "add", "args": {"a": 2, "b": 2}})
    assert out["messages"][0]["tool_call_id"] == "c9" and out["messages"][0]["content"] == "4"


async def test_structured_results_are_json_and_tool_output_sets_status() -> None:
    @tool
    def lookup(key: str) -> Any:
        """Look up."""
        if key == "bad":
            return ToolOutput("not found", status="error", artifact={"key": key})
        return {"key": key, "value": [1, 2]}

    out = await ToolNode([lookup])({"messages": [assistant(call("lookup", "1", key="k"), call("lookup", "2", key="bad"))]})
    ok, missing = out["messages"]
    assert orjson.loads(ok["content"]) == {"key": "k", "value": [1, 2]}
    assert (missing["content"], missing["status"], missing["artifact"]) == ("not found", "error", {"key": "bad"})


async def test_tools_see_their_own_tool_call() -> None:
    @tool
    async def whoami() -> str:
        """Says which call this is."""
        await anyio.lowlevel.checkpoint()
        return get_tool_call()["id"]

    out = await ToolNode([whoami])([assistant(call("whoami", "x1"), call("whoami", "x2"))])
    assert [m["content"] for m in out] == ["x1", "x2"]


async def test_interrupts_propagate_unwrapped_and_siblings_finish() -> None:
    finished: list[str] = []

    @tool
    async def ask(q: str) -> str:
        """Asks a human (simulated)."""
        raise GraphInterrupt((Interrupt(value=q, id=f"id-{q}"),))

    @tool
    async def work() -> str:
        """Plain work."""
        await anyio.lowlevel.checkpoint()
        finished.append("work")
        return "done"

    node = ToolNode([ask, work])
    with pytest.raises(GraphInterrupt) as info:
        await node({"messages": [assistant(call("ask", "1", q="first"), call("work", "2"))]})
    assert [i.value for i in info.value.interrupts] == ["first"]
    assert finished == ["work"]
    with pytest.raises(GraphInterrupt) as info:
        await node({"messages": [assistant(call("ask", "1", q="a"), call("ask", "2", q="b"))]})
    assert [i.value for i in info.value.interrupts] == ["a", "b"], "all interrupts, in call order"


async def test_interrupt_is_not_swallowed_by_error_handling() -> None:
    @tool
    def sync_ask() -> str:
        """Interrupts from a worker thread."""
        raise GraphInterrupt((Interrupt(value="q"),))

    with pytest.raises(GraphInterrupt):
        await ToolNode([sync_ask], handle_tool_errors=True)({"messages": [assistant(call("sync_ask", "1"))]})


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"messages": []}, ValueError, "no messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, ValueError, "assistant"),
        ({"other": 1}, ValueError, "no 'messages' key"),
        (42, TypeError, "state dict"),
        ({"type": "tool_call", "name": "add", "args": {}}, ValueError, "'id'"),
    ],
)
async def test_bad_input(value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        await ToolNode([add])(value)


def test_duplicate_tool_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        ToolNode([add, add])


async def test_no_tool_calls_means_no_messages() -> None:
    assert await ToolNode([add])({"messages": [{"role": "assistant", "content": "hi"}]}) == {"messages": []}


# -- inside a graph: several interrupting tools in ONE ToolNode task --------------------------------
def _two_question_graph() -> Any:
    from streamhil import END, START, InMemorySaver, StateGraph, interrupt
    from streamhil.messages import MessagesState
    from streamhil.prebuilt import tools_condition

    @tool
    async def ask_a() -> str:
        """Asks question a."""
        return "a got " + interrupt("qa")

    @tool
    async def ask_b() -> str:
        """Asks question b."""
        return "b got " + interrupt("qb")

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        if state["messages"][-1]["role"] == "user":
            return {"messages": [assistant(call("ask_a", "1"), call("ask_b", "2"))]}
        return {"messages": [{"role": "assistant", "content": "end"}]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([ask_a, ask_b]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver())


async def test_one_task_raises_all_its_interrupts_together() -> None:
    graph = _two_question_graph()
    config = {"configurable": {"thread_id": "one-task"}}
    with anyio.fail_after(5):
        first = await graph.ainvoke({"messages": ["go"]}, config)
    pending = first["__interrupt__"]
    assert sorted(i.value for i in pending) == ["qa", "qb"]
    assert {i.node for i in pending} == {"tools"} and len({i.task_id for i in pending}) == 1
    assert sorted(i.index for i in pending) == [0, 1], "one task: told apart only by position"
