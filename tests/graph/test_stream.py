"""Stream modes and their payloads (T50-T52, §2.8)."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio
import pytest

from streamhil import START, Command, InMemorySaver, StateGraph, get_stream_writer, interrupt, write_message_chunk

from streamhil.errors import InvalidUpdateError

from .helpers import LogState, thread


def a_then_b(checkpointer: Any = None) -> Any:
    """T50's graph: `a` writes a custom event, then `b`."""

    def a(state: LogState) -> dict[str, Any]:
        get_stream_writer()({"progress": "a-half"})
        return {"log": ["a"]}

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


def test_values_updates_custom() -> None:
    graph = a_then_b()
    assert list(graph.stream({"log": ["in"]}, thread(), stream_mode="values")) == [
        {"log": ["in"]},
        {"log": ["in", "a"]},
        {"log": ["in", "a", "b"]},
    ]
    assert list(graph.stream({"log": ["in"]}, thread())) == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]
    assert list(graph.stream({"log": ["in"]}, thread(), stream_mode="custom")) == [{"progress": "a-half"}]


def test_several_modes_yield_mode_tagged_pairs() -> None:
    graph = a_then_b()
    assert list(graph.stream({"log": ["in"]}, thread(), stream_mode=["updates", "custom"])) == [
        ("custom", {"progress": "a-half"}),
        ("updates", {"a": {"log": ["a"]}}),
        ("updates", {"b": {"log": ["b"]}}),
    ]


def test_invoke_with_another_stream_mode_returns_the_chunks() -> None:
    graph = a_then_b()
    assert graph.invoke({"log": ["in"]}, thread(), stream_mode="updates") == [
        {"a": {"log": ["a"]}},
        {"b": {"log": ["b"]}},
    ]


def test_custom_writer_is_a_noop_when_not_streamed() -> None:
    assert a_then_b().invoke({"log": ["in"]}, thread()) == {"log": ["in", "a", "b"]}


def test_tasks_mode() -> None:
    parts = list(a_then_b().stream({"log": ["in"]}, thread(), stream_mode="tasks"))
    assert [(p["name"], "input" in p) for p in parts] == [("a", True), ("a", False), ("b", True), ("b", False)]
    start_a, result_a, start_b, result_b = parts
    assert start_a["input"] == {"log": ["in"]} and start_a["triggers"] == ("branch:to:a",)
    assert start_b["input"] == {"log": ["in", "a"]}
    assert result_a == {"id": start_a["id"], "name": "a", "error": None, "interrupts": [], "result": {"log": ["a"]}}
    assert result_b["result"] == {"log": ["b"]} and result_b["id"] == start_b["id"] != start_a["id"]


def test_checkpoints_mode() -> None:
    """T50: one event per checkpoint, including the input checkpoint (pre-`__start__` values)."""
    config = thread()
    graph = a_then_b()
    parts = list(graph.stream({"log": ["in"]}, config, stream_mode="checkpoints"))
    assert [(p["metadata"]["source"], p["metadata"]["step"], p["next"]) for p in parts] == [
        ("input", -1, ["__start__"]),
        ("loop", 0, ["a"]),
        ("loop", 1, ["b"]),
        ("loop", 2, []),
    ]
    assert [p["values"] for p in parts] == [{"log": []}, {"log": ["in"]}, {"log": ["in", "a"]}, {"log": ["in", "a", "b"]}]
    saved = [s.config for s in graph.get_state_history(config)]
    assert [p["config"] for p in parts] == saved[::-1]
    assert parts[0]["parent_config"] is None
    assert parts[1]["parent_config"] == parts[0]["config"]
    assert [t["name"] for t in parts[1]["tasks"]] == ["a"]


def test_debug_mode() -> None:
    """§2.8: checkpoint events carry the checkpoint's step, task events the running step."""
    parts = list(a_then_b().stream({"log": ["in"]}, thread(), stream_mode="debug"))
    rows = [(p["step"], p["type"], p["payload"].get("name")) for p in parts]
    assert rows == [
        (-1, "checkpoint", None),
        (0, "checkpoint", None),
        (1, "task", "a"),
        (1, "task_result", "a"),
        (1, "checkpoint", None),
        (2, "task", "b"),
        (2, "task_result", "b"),
        (2, "checkpoint", None),
    ]
    assert all(isinstance(p["timestamp"], str) for p in parts)
    assert parts[0]["payload"]["metadata"]["source"] == "input"


def ask_graph() -> Any:
    builder = StateGraph(LogState)
    builder.add_node("pre", lambda s: {"log": ["pre"]})
    builder.add_node("ask", lambda s: {"log": [f"ask:{interrupt({'q': 1})}"]})
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "ask")
    return builder.compile(checkpointer=InMemorySaver())


def test_streams_at_an_interrupt_and_on_resume() -> None:
    """T51: the run ends with the interrupt in `updates` then `values` (a tuple in streams);
    the resumed run starts with the current state."""
    graph = ask_graph()
    config = thread()
    parts = list(graph.stream({"log": []}, config, stream_mode=["updates", "values"]))
    [intr] = graph.get_state(config).interrupts
    assert parts[-2:] == [
        ("updates", {"__interrupt__": (intr,)}),
        ("values", {"log": ["pre"], "__interrupt__": (intr,)}),
    ]
    parts = list(graph.stream(Command(resume="A"), config, stream_mode=["updates", "values"]))
    assert parts == [
        ("values", {"log": ["pre"]}),
        ("updates", {"ask": {"log": ["ask:A"]}}),
        ("values", {"log": ["pre", "ask:A"]}),
    ]


def test_tasks_mode_for_an_interrupted_task() -> None:
    """T51: the result event of an interrupted task."""
    graph = ask_graph()
    config = thread()
    parts = list(graph.stream({"log": []}, config, stream_mode="tasks"))
    [intr] = graph.get_state(config).interrupts
    last = parts[-1]
    assert (last["name"], last["error"], last["result"]) == ("ask", None, {})
    assert [(i["id"], i["value"]) for i in last["interrupts"]] == [(intr.id, {"q": 1})]


def chat_graph() -> Any:
    async def chat(state: LogState) -> dict[str, Any]:
        text = ""
        for token in ("hello", " ", "world"):
            write_message_chunk({"id": "m1", "role": "assistant", "content": token})
            text += token
        return {"log": [text]}

    builder = StateGraph(LogState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.anyio
async def test_messages_mode() -> None:
    """T52: `(chunk, metadata)` per token, the metadata saying where it came from."""
    graph = chat_graph()
    config = thread("chat-thread")
    with anyio.fail_after(5):
        parts = [p async for p in graph.astream({"log": []}, config, stream_mode="messages")]
    assert [chunk["content"] for chunk, _ in parts] == ["hello", " ", "world"]
    metadata = parts[0][1]
    snap = [s async for s in graph.aget_state_history(config) if s.next == ("chat",)][0]
    [task] = snap.tasks
    assert metadata["langgraph_node"] == "chat"
    assert metadata["langgraph_step"] == 1
    assert tuple(metadata["langgraph_triggers"]) == ("branch:to:chat",)
    assert tuple(metadata["langgraph_path"]) == ("__pregel_pull", "chat")
    assert metadata["langgraph_checkpoint_ns"] == f"chat:{task.id}"
    assert (await graph.ainvoke({"log": []}, thread())) == {"log": ["hello world"]}


@pytest.mark.anyio
async def test_astream_modes_async() -> None:
    graph = a_then_b()
    with anyio.fail_after(5):
        parts = [p async for p in graph.astream({"log": ["in"]}, thread(), stream_mode=["values", "custom"])]
    assert parts == [
        ("values", {"log": ["in"]}),
        ("custom", {"progress": "a-half"}),
        ("values", {"log": ["in", "a"]}),
        ("values", {"log": ["in", "a", "b"]}),
    ]


def test_unknown_stream_mode() -> None:
    with pytest.raises(ValueError, match="nope"):
        list(a_then_b().stream({"log": []}, thread(), stream_mode="nope"))


@pytest.mark.anyio
async def test_breaking_out_of_astream_stops_the_run() -> None:
    """Leaving the iterator early (closed with aclosing, the structured way) cancels the run;
    the thread stays consistent and can be continued."""
    graph = a_then_b()
    config = thread()
    with anyio.fail_after(5):
        async with aclosing(graph.astream({"log": ["in"]}, config, stream_mode="updates")) as parts:
            async for part in parts:
                assert part == {"a": {"log": ["a"]}}
                break
        snap = await graph.aget_state(config)
        # The run stopped wherever it was (it may run ahead of its reader); the thread is whole.
        assert snap.next in (("a",), ("b",), ())
        assert await graph.ainvoke(None, config) == {"log": ["in", "a", "b"]}


@pytest.mark.anyio
async def test_open_stream_early_exit_keeps_the_thread_resumable() -> None:
    """`open_stream` is the structured form of astream: leaving its block cancels the run."""
    graph = a_then_b()
    config = thread()
    with anyio.fail_after(5):
        async with graph.open_stream({"log": ["in"]}, config, stream_mode=["updates", "custom"]) as parts:
            async for mode, part in parts:
                if mode == "updates":
                    assert part == {"a": {"log": ["a"]}}
                    break
        assert await graph.ainvoke(None, config) == {"log": ["in", "a", "b"]}


@pytest.mark.anyio
async def test_open_stream_raises_the_run_error() -> None:
    builder = StateGraph(LogState)
    builder.add_node("bad", lambda s: 42)
    builder.add_edge(START, "bad")
    graph = builder.compile()
    # The run's own error, not an ExceptionGroup from open_stream's task group.
    with anyio.fail_after(5), pytest.raises(InvalidUpdateError, match="expected dict"):
        async with graph.open_stream({"log": []}) as parts:
            async for _ in parts:
                pass


def test_version_v2_parts_and_output() -> None:
    """T50 (LangGraph 1.x `version="v2"`): typed dict parts; values parts carry their interrupts
    apart from the data; invoke returns GraphOutput."""
    from streamhil.types import GraphOutput

    graph = a_then_b()
    parts = list(graph.stream({"log": ["in"]}, thread(), stream_mode=["values", "custom"], version="v2"))
    assert parts[0] == {"type": "values", "ns": (), "data": {"log": ["in"]}, "interrupts": ()}
    assert parts[1] == {"type": "custom", "ns": (), "data": {"progress": "a-half"}}
    assert [p["type"] for p in parts] == ["values", "custom", "values", "values"]
    assert graph.invoke({"log": ["in"]}, thread(), version="v2") == GraphOutput(value={"log": ["in", "a", "b"]}, interrupts=())

    asking = ask_graph()
    config = thread()
    out = asking.invoke({"log": []}, config, version="v2")
    assert out.value == {"log": ["pre"]}
    assert out.interrupts == asking.get_state(config).interrupts and len(out.interrupts) == 1
    last = list(asking.stream({"log": []}, thread(), stream_mode="values", version="v2"))[-1]
    assert last["data"] == {"log": ["pre"]} and len(last["interrupts"]) == 1


def test_unknown_keyword_arguments_are_errors() -> None:
    graph = a_then_b()
    with pytest.raises(TypeError):
        graph.invoke({"log": []}, thread(), output_keyz=["log"])
    with pytest.raises(ValueError, match="version"):
        graph.invoke({"log": []}, thread(), version="v3")
