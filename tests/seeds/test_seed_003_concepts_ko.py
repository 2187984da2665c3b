"""Seed 003: the Korean translation of the concept page (seed 000). The code blocks are the same
as seed 000's, so the graphs are shared; this module checks the outputs *this* page documents,
including where it disagrees with LangGraph 1.2.22 (the tests follow 1.2.22)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from streamhil import Command

from .test_seed_000_concepts import (
    approval_graph,
    foo_graph,
    multiple_interrupts_graph,
    review_tool_call_graph,
    revise_graph,
    subgraph_as_function_example,
)


def new_thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4()}}


def test_interrupt_section_output() -> None:
    """```pycon {'some_text': 'Edited text'} ```"""
    graph = revise_graph()
    thread_config = {"configurable": {"thread_id": "some_id"}}
    graph.invoke({"some_text": "some_input"}, config=thread_config)
    assert graph.invoke(Command(resume="Edited text"), config=thread_config) == {"some_text": "Edited text"}


def test_full_code_output() -> None:
    """The page prints `Interrupt(value={'question': 'Please revise the text', 'some_text': ...},
    resumable=True, ns=[...], when='during')`, an older release's shape; the code itself
    surfaces {'text_to_revise': 'Original text'} (as LangGraph 1.2.22 does), then the update."""
    graph = revise_graph()
    thread_config = new_thread()
    [chunk] = list(graph.stream({"some_text": "Original text"}, config=thread_config))
    [intr] = chunk["__interrupt__"]
    assert intr.value == {"text_to_revise": "Original text"}
    # `ns` survives in streamhil as the interrupt's namespace: "human_node:<task id>".
    assert intr.ns == f"human_node:{graph.get_state(thread_config).tasks[0].id}"
    assert list(graph.stream(Command(resume="Edited text"), config=thread_config)) == [
        {"human_node": {"some_text": "Edited text"}}
    ]


@pytest.mark.parametrize("is_approved", [True, False])
def test_approve_or_reject(is_approved: bool) -> None:
    graph = approval_graph()
    thread_config = {"configurable": {"thread_id": "some_id"}}
    graph.invoke({"llm_output": "text", "log": []}, thread_config)
    result = graph.invoke(Command(resume=is_approved), config=thread_config)
    assert result["log"] == ["some_node" if is_approved else "another_node"]


def test_review_tool_calls_feedback_loop() -> None:
    graph = review_tool_call_graph()
    config = new_thread()
    graph.invoke({"messages": []}, config)
    [again] = graph.invoke(Command(resume=("feedback", "try Lima")), config)["__interrupt__"]
    assert again.value["tool_call"] == {"city": "Lima"}
    assert graph.invoke(Command(resume=("continue", None)), config)["messages"][-1]["content"] == "sunny in Lima"


def test_invoke_and_get_state_printout() -> None:
    """```pycon {'foo': 'bar'} # State values  (PregelTask(... name='node_foo', ...),) ```"""
    graph = foo_graph()
    thread_config = new_thread()
    graph.invoke({"foo": "bar"}, thread_config)
    state = graph.get_state(thread_config)
    assert state.values == {"foo": "bar"}
    assert [t.name for t in state.tasks] == ["node_foo"]
    assert [i.value for i in state.tasks[0].interrupts] == ["value_in_interrupt"]
    graph.invoke(Command(resume={"age": "25"}), thread_config)
    assert graph.get_state(thread_config).next == ()


def test_subgraph_example_output(capsys: pytest.CaptureFixture[str]) -> None:
    """This page's printout adds "--- First invocation ---" and "In parent node: {'foo': 'bar'}"
    lines that the code never prints, and ends with `{'parent_node': None}`. The code returns the
    subgraph's state from parent_node, so LangGraph 1.2.22 (run here) prints
    `{'parent_node': {'state_counter': 1}}`, and so does streamhil."""
    graph = subgraph_as_function_example()
    config = new_thread()
    for chunk in graph.stream({"state_counter": 1}, config):
        print(chunk)
    print("--- Resuming ---")
    for chunk in graph.stream(Command(resume="35"), config):
        print(chunk)
    out = capsys.readouterr().out
    assert "In parent node" not in out
    lines = out.splitlines()
    assert lines[0] == "Entered `parent_node` a total of 1 times"
    assert lines[-4:] == [
        "Entered `parent_node` a total of 2 times",
        "Entered human_node in sub-graph a total of 2 times",
        "Got an answer of 35",
        "{'parent_node': {'state_counter': 1}}",
    ]


def test_multiple_interrupts_incorrect_code(capsys: pytest.CaptureFixture[str]) -> None:
    """```pycon {'__interrupt__': (Interrupt(value='what is your name?', ...),)}
    Name: N/A. Age: John   {'human_node': {'age': 'John', 'name': 'N/A'}} ```"""
    graph = multiple_interrupts_graph()
    config = new_thread()
    for chunk in graph.stream({"age": None, "name": None}, config):
        print(chunk)
    for chunk in graph.stream(Command(resume="John", update={"name": "foo"}), config):
        print(chunk)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("{'__interrupt__': (Interrupt(value='what is your name?', id='")
    assert lines[1:] == ["Name: N/A. Age: John", "{'human_node': {'age': 'John', 'name': 'N/A'}}"]
