"""streamhil.prebuilt.react_agent: the model -> tools loop, including seed 004's interrupt-in-a-tool example."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from streamhil import END, Command, InMemorySaver, Send, interrupt
from streamhil.prebuilt import ScriptedChatModel, create_react_agent, send_tool_calls, tool, tools_condition

pytestmark = pytest.mark.anyio


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def asks(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A scripted assistant reply that calls tools."""
    return {"content": "", "tool_calls": [{"name": name, "args": args} for name, args in calls]}


# Seed 004, "Review tool calls": the tool itself calls interrupt().
def book_hotel(hotel_name: str):  # type: ignore[no-untyped-def]
    """Book a hotel"""
    response = interrupt(
        f"Trying to call `book_hotel` with args {{'hotel_name': {hotel_name}}}. "
        "Please approve or suggest edits."
    )
    if response["type"] == "accept":
        pass
    elif response["type"] == "edit":
        hotel_name = response["args"]["hotel_name"]
    else:
        raise ValueError(f"Unknown response type: {response['type']}")
    return f"Successfully booked a stay at {hotel_name}."


def seed_model() -> ScriptedChatModel:
    return ScriptedChatModel(
        [asks(("book_hotel", {"hotel_name": "McKittrick hotel"})), "Your stay at the McKittrick Hotel is booked."]
    )


async def test_seed_interrupt_inside_tool_then_accept() -> None:
    agent = create_react_agent(model=seed_model(), tools=[book_hotel], checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        chunks = [c async for c in agent.astream(
            {"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config
        )]
    assert list(chunks[0]) == ["agent"]
    assert chunks[0]["agent"]["messages"][0]["tool_calls"][0]["name"] == "book_hotel"
    (pending,) = chunks[-1]["__interrupt__"]
    assert pending.value == (
        "Trying to call `book_hotel` with args {'hotel_name': McKittrick hotel}. Please approve or suggest edits."
    )
    assert pending.node == "tools"
    snapshot = await agent.aget_state(config)
    assert snapshot.next == ("tools",)

    with anyio.fail_after(5):
        resumed = [c async for c in agent.astream(Command(resume={"type": "accept"}), config)]
    tool_msg = resumed[0]["tools"]["messages"][0]
    assert tool_msg["content"] == "Successfully booked a stay at McKittrick hotel."
    assert tool_msg["tool_call_id"] == chunks[0]["agent"]["messages"][0]["tool_calls"][0]["id"]
    assert resumed[1]["agent"]["messages"][0]["content"] == "Your stay at the McKittrick Hotel is booked."
    final = await agent.aget_state(config)
    assert final.next == ()
    assert [m["role"] for m in final.values["messages"]] == ["user", "assistant", "tool", "assistant"]


async def test_seed_interrupt_inside_tool_then_edit() -> None:
    agent = create_react_agent(model=seed_model(), tools=[book_hotel], checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        first = await agent.ainvoke({"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config)
        assert len(first["__interrupt__"]) == 1
        out = await agent.ainvoke(Command(resume={"type": "edit", "args": {"hotel_name": "McKittrick Hotel"}}), config)
    assert out["messages"][2]["content"] == "Successfully booked a stay at McKittrick Hotel."
    assert "__interrupt__" not in out


async def test_unknown_response_in_seed_tool_fails_the_run_as_in_langgraph() -> None:
    """LangGraph's ToolNode answers only bad arguments by default: the tool's ValueError fails
    the ``tools`` task, and the run."""
    agent = create_react_agent(model=seed_model(), tools=[book_hotel], checkpointer=InMemorySaver())
    config = thread()
    with anyio.fail_after(5):
        await agent.ainvoke({"messages": ["book it"]}, config)
        with pytest.raises(ValueError, match="Unknown response type: maybe"):
            await agent.ainvoke(Command(resume={"type": "maybe"}), config)
    snapshot = await agent.aget_state(config)
    assert snapshot.next == ("tools",) and "Unknown response type" in repr(snapshot.tasks[0].error)


async def test_unknown_response_in_seed_tool_becomes_an_error_message_when_handled() -> None:
    agent = create_react_agent(
        model=seed_model(), tools=[book_hotel], checkpointer=InMemorySaver(), handle_tool_errors=True
    )
    config = thread()
    with anyio.fail_after(5):
        await agent.ainvoke({"messages": ["book it"]}, config)
        out = await agent.ainvoke(Command(resume={"type": "maybe"}), config)
    tool_msg = out["messages"][2]
    assert tool_msg["status"] == "error"
    assert tool_msg["content"] == "Error: ValueError('Unknown response type: maybe')\n Please fix your mistakes."


async def test_reply_without_tool_calls_ends_the_run() -> None:
    model = ScriptedChatModel(["hello there"])
    agent = create_react_agent(model, [book_hotel])
    with anyio.fail_after(5):
        out = await agent.ainvoke({"messages": ["hi"]})
    assert [m["content"] for m in out["messages"]] == ["hi", "hello there"]


async def test_parallel_tool_calls_run_as_concurrent_tasks_and_answer_in_call_order() -> None:
    first_in, second_in = anyio.Event(), anyio.Event()

    @tool
    async def slow(tag: str) -> str:
        """Waits for the other call to start, then finishes last."""
        first_in.set()
        await second_in.wait()
        return f"slow {tag}"

    @tool
    async def fast(tag: str) -> str:
        """Finishes first."""
        second_in.set()
        await first_in.wait()
        return f"fast {tag}"

    model = ScriptedChatModel([asks(("slow", {"tag": "a"}), ("fast", {"tag": "b"})), "both done"])
    agent = create_react_agent(model, [slow, fast])
    with anyio.fail_after(5):  # run one after the other, these two tools would wait forever
        out = await agent.ainvoke({"messages": ["go"]})
    calls = out["messages"][1]["tool_calls"]
    tool_msgs = out["messages"][2:4]
    assert [m["tool_call_id"] for m in tool_msgs] == [c["id"] for c in calls]
    assert [m["content"] for m in tool_msgs] == ["slow a", "fast b"]
    assert out["messages"][-1]["content"] == "both done"
    # the model's second call saw both tool results
    seen = model.calls[1][0]
    assert [m["role"] for m in seen] == ["user", "assistant", "tool", "tool"]


@tool
def explode(n: int) -> str:
    """Fails."""
    raise RuntimeError(f"kaboom {n}")


async def test_failing_tool_fails_the_run_by_default() -> None:
    model = ScriptedChatModel([asks(("explode", {"n": 1})), "sorry, the tool failed"])
    agent = create_react_agent(model, [explode])
    with anyio.fail_after(5), pytest.raises(RuntimeError, match="kaboom 1"):
        await agent.ainvoke({"messages": ["try"]})
    assert len(model.calls) == 1


async def test_failing_tool_reports_to_the_model_and_the_run_continues_when_handled() -> None:
    model = ScriptedChatModel([asks(("explode", {"n": 1})), "sorry, the tool failed"])
    agent = create_react_agent(model, [explode], handle_tool_errors=True)
    with anyio.fail_after(5):
        out = await agent.ainvoke({"messages": ["try"]})
    err = out["messages"][2]
    assert err["status"] == "error" and err["content"] == "Error: RuntimeError('kaboom 1')\n Please fix your mistakes."
    assert out["messages"][-1]["content"] == "sorry, the tool failed"


async def test_bad_arguments_are_answered_by_default_and_the_run_continues() -> None:
    model = ScriptedChatModel([asks(("explode", {"n": "one"})), "let me fix that"])
    agent = create_react_agent(model, [explode])
    with anyio.fail_after(5):
        out = await agent.ainvoke({"messages": ["try"]})
    err = out["messages"][2]
    assert err["status"] == "error"
    assert err["content"] == (
        "Error invoking tool 'explode' with kwargs {'n': 'one'} with error:\n"
        " n: expected integer, got string 'one'\n Please fix the error and try again."
    )
    assert out["messages"][-1]["content"] == "let me fix that"


async def test_model_gets_tool_specs_and_prompt() -> None:
    model = ScriptedChatModel(["ok"])
    agent = create_react_agent(model, [book_hotel], prompt="You book hotels.")
    with anyio.fail_after(5):
        out = await agent.ainvoke({"messages": ["hi"]})
    messages, tools = model.calls[0]
    assert [(m["role"], m["content"]) for m in messages] == [("system", "You book hotels."), ("user", "hi")]
    assert [t["function"]["name"] for t in tools] == ["book_hotel"]
    assert [m["role"] for m in out["messages"]] == ["user", "assistant"], "the prompt is not stored in the state"


async def test_prompt_function() -> None:
    model = ScriptedChatModel(["ok"])

    async def prompt(state: dict[str, Any]) -> list[Any]:
        return [("system", f"{len(state['messages'])} so far"), *state["messages"]]

    agent = create_react_agent(model, [], prompt=prompt)
    with anyio.fail_after(5):
        await agent.ainvoke({"messages": ["a"]})
    assert model.calls[0][0][0]["content"] == "1 so far"


async def test_streamed_tokens_reach_the_messages_mode() -> None:
    model = ScriptedChatModel(["Hello from the agent"], stream=True)
    agent = create_react_agent(model, [])
    parts: list[tuple[str, Any]] = []
    with anyio.fail_after(5):
        async for mode, payload in agent.astream({"messages": ["hi"]}, stream_mode=["messages", "updates"]):
            parts.append((mode, payload))
    tokens = [p[0]["content"] for m, p in parts if m == "messages"]
    assert tokens == ["Hello ", "from ", "the ", "agent"]
    metadata = next(p[1] for m, p in parts if m == "messages")
    assert metadata["langgraph_node"] == "agent"
    assert parts[-1][0] == "updates", "the whole message follows its tokens"
    assert parts[-1][1]["agent"]["messages"][0]["content"] == "Hello from the agent"


def test_model_strings() -> None:
    with pytest.raises(ValueError, match="openai:<model name>"):
        create_react_agent("anthropic:claude-3-5-sonnet-latest", [book_hotel])
    with pytest.raises(TypeError, match="chat model"):
        create_react_agent(42, [book_hotel])  # type: ignore[arg-type]
    agent = create_react_agent("openai:gpt-4o", [book_hotel])
    assert agent is not None


def test_routers() -> None:
    calling = {"messages": [{"role": "assistant", "content": "", "id": "a", "tool_calls": [{"id": "c", "name": "t", "args": {"x": 1}}]}]}
    done = {"messages": [{"role": "assistant", "content": "bye", "id": "a"}]}
    assert tools_condition(calling) == "tools" and tools_condition(done) == END
    assert send_tool_calls(calling) == [Send("tools", {"type": "tool_call", "id": "c", "name": "t", "args": {"x": 1}})]
    assert send_tool_calls(done) == END
    assert send_tool_calls({"messages": []}) == END


async def test_editing_a_tool_call_in_state_before_the_tools_run() -> None:
    booked: list[str] = []

    def book(hotel_name: str) -> str:
        """Book."""
        booked.append(hotel_name)
        return f"booked {hotel_name}"

    model = ScriptedChatModel([asks(("book", {"hotel_name": "A"})), "done"])
    agent = create_react_agent(model, [book], checkpointer=InMemorySaver(), interrupt_before=["tools"])
    config = thread()
    with anyio.fail_after(5):
        await agent.ainvoke({"messages": ["book"]}, config)
        snapshot = await agent.aget_state(config)
        assert snapshot.next == ("tools",)
        request = snapshot.values["messages"][-1]
        edited = {**request, "tool_calls": [{**request["tool_calls"][0], "args": {"hotel_name": "B"}}]}
        await agent.aupdate_state(config, {"messages": [edited]})  # same id: replaces the request
        out = await agent.ainvoke(None, config)
    assert booked == ["B"]
    assert [m["content"] for m in out["messages"]] == ["book", "", "booked B", "done"]
    assert out["messages"][1]["tool_calls"][0]["args"] == {"hotel_name": "B"}


async def test_sync_model_streams_from_its_worker_thread() -> None:
    from streamhil.prebuilt import emit_chunk

    def sync_model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        for piece in ("one ", "two"):
            emit_chunk({"id": "m1", "role": "assistant", "content": piece})
        return {"role": "assistant", "content": "one two", "id": "m1"}

    agent = create_react_agent(sync_model, [])
    with anyio.fail_after(5):
        parts = [p async for p in agent.astream({"messages": ["hi"]}, stream_mode="messages")]
    assert [chunk["content"] for chunk, _ in parts] == ["one ", "two"]
