"""Seed 004: "Enable human intervention" (how-to). Every example except the tool-review ones
(create_react_agent / add_human_in_the_loop, covered by tests/prebuilt)."""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, StateGraph, interrupt

from .test_seed_000_concepts import multiple_interrupts_graph, subgraph_as_function_example


class State(TypedDict):
    some_text: str


def human_node(state: State) -> dict[str, Any]:
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


def text_graph() -> Any:
    graph_builder = StateGraph(State)
    graph_builder.add_node("human_node", human_node)
    graph_builder.add_edge(START, "human_node")
    checkpointer = InMemorySaver()
    return graph_builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("thread_id", ["some_id", uuid.uuid4()], ids=["short", "extended"])
def test_pause_using_interrupt(thread_id: Any, capsys: pytest.CaptureFixture[str]) -> None:
    graph = text_graph()
    config = {"configurable": {"thread_id": thread_id}}
    result = graph.invoke({"some_text": "original text"}, config=config)
    print(result["__interrupt__"])
    print(graph.invoke(Command(resume="Edited text"), config=config))
    first, second = capsys.readouterr().out.splitlines()
    # > [Interrupt(value={'text_to_revise': 'original text'}, id='a0d9dd40440ac7be2720dc5c20858627')]
    iid = result["__interrupt__"][0].id
    assert first == f"[Interrupt(value={{'text_to_revise': 'original text'}}, id='{iid}', response_schema=None)]"
    # > {'some_text': 'Edited text'}
    assert second == "{'some_text': 'Edited text'}"


class TwoTexts(TypedDict):
    text_1: str
    text_2: str


def test_resuming_multiple_interrupts() -> None:
    def human_node_1(state: TwoTexts) -> dict[str, Any]:
        value = interrupt({"text_to_revise": state["text_1"]})
        return {"text_1": value}

    def human_node_2(state: TwoTexts) -> dict[str, Any]:
        value = interrupt({"text_to_revise": state["text_2"]})
        return {"text_2": value}

    graph_builder = StateGraph(TwoTexts)
    graph_builder.add_node("human_node_1", human_node_1)
    graph_builder.add_node("human_node_2", human_node_2)
    graph_builder.add_edge(START, "human_node_1")
    graph_builder.add_edge(START, "human_node_2")
    graph = graph_builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    result = graph.invoke({"text_1": "original text 1", "text_2": "original text 2"}, config=config)
    resume_map = {i.id: f"edited text for {i.value['text_to_revise']}" for i in result["__interrupt__"]}
    # > {'text_1': 'edited text for original text 1', 'text_2': 'edited text for original text 2'}
    assert graph.invoke(Command(resume=resume_map), config=config) == {
        "text_1": "edited text for original text 1",
        "text_2": "edited text for original text 2",
    }


class ApprovalState(TypedDict):
    llm_output: str
    decision: str


@pytest.mark.parametrize("resume", ["approve", "reject"])
def test_approve_or_reject_extended(resume: str, capsys: pytest.CaptureFixture[str]) -> None:
    def generate_llm_output(state: ApprovalState) -> ApprovalState:
        return {"llm_output": "This is the generated output."}  # type: ignore[typeddict-item]

    def human_approval(state: ApprovalState) -> Command[Literal["approved_path", "rejected_path"]]:
        decision = interrupt({"question": "Do you approve the following output?", "llm_output": state["llm_output"]})
        if decision == "approve":
            return Command(goto="approved_path", update={"decision": "approved"})
        else:
            return Command(goto="rejected_path", update={"decision": "rejected"})

    def approved_node(state: ApprovalState) -> ApprovalState:
        print("✅ Approved path taken.")
        return state

    def rejected_node(state: ApprovalState) -> ApprovalState:
        print("❌ Rejected path taken.")
        return state

    builder = StateGraph(ApprovalState)
    builder.add_node("generate_llm_output", generate_llm_output)
    builder.add_node("human_approval", human_approval)
    builder.add_node("approved_path", approved_node)
    builder.add_node("rejected_path", rejected_node)
    builder.set_entry_point("generate_llm_output")
    builder.add_edge("generate_llm_output", "human_approval")
    builder.add_edge("approved_path", END)
    builder.add_edge("rejected_path", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    result = graph.invoke({}, config=config)
    # Interrupt(value={'question': 'Do you approve the following output?', 'llm_output': ...}, ...)
    assert [i.value for i in result["__interrupt__"]] == [
        {"question": "Do you approve the following output?", "llm_output": "This is the generated output."}
    ]
    final_result = graph.invoke(Command(resume=resume), config=config)
    decision = "approved" if resume == "approve" else "rejected"
    assert final_result == {"llm_output": "This is the generated output.", "decision": decision}
    assert capsys.readouterr().out == ("✅ Approved path taken.\n" if resume == "approve" else "❌ Rejected path taken.\n")


# The page's "Review and edit state" example is, line for line, the one in seed 001 (a notebook
# built from this page): it is tested once, in test_seed_001_notebook.test_review_and_edit_state.


class AgeState(TypedDict):
    age: int


def test_validate_human_input_extended(capsys: pytest.CaptureFixture[str]) -> None:
    def get_valid_age(state: AgeState) -> AgeState:
        prompt = "Please enter your age (must be a non-negative integer)."
        while True:
            user_input = interrupt(prompt)
            try:
                age = int(user_input)
                if age < 0:
                    raise ValueError("Age must be non-negative.")
                break
            except (ValueError, TypeError):
                prompt = f"'{user_input}' is not valid. Please enter a non-negative integer for age."
        return {"age": age}

    def report_age(state: AgeState) -> AgeState:
        print(f"✅ Human is {state['age']} years old.")
        return state

    builder = StateGraph(AgeState)
    builder.add_node("get_valid_age", get_valid_age)
    builder.add_node("report_age", report_age)
    builder.set_entry_point("get_valid_age")
    builder.add_edge("get_valid_age", "report_age")
    builder.add_edge("report_age", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    result = graph.invoke({}, config=config)
    prompts = [result["__interrupt__"][0].value]
    result = graph.invoke(Command(resume="not a number"), config=config)
    prompts.append(result["__interrupt__"][0].value)
    result = graph.invoke(Command(resume="-10"), config=config)
    prompts.append(result["__interrupt__"][0].value)
    assert prompts == [
        "Please enter your age (must be a non-negative integer).",
        "'not a number' is not valid. Please enter a non-negative integer for age.",
        "'-10' is not valid. Please enter a non-negative integer for age.",
    ]
    # Each answer is a new question of the same task: ids follow the position.
    ids = [i.id for i in graph.get_state(config).interrupts]
    assert len(ids) == 1
    final_result = graph.invoke(Command(resume="25"), config=config)
    assert final_result == {"age": 25}
    assert capsys.readouterr().out == "✅ Human is 25 years old.\n"


class InputState(TypedDict):
    input: str


def steps_graph(visits: list[str], **compile_kwargs: Any) -> Any:
    def make(name: str, label: str) -> Any:
        def step(state: InputState) -> None:
            visits.append(name)
            print(f"---{label}---")

        return step

    builder = StateGraph(InputState)
    builder.add_node("step_1", make("step_1", "Step 1"))
    builder.add_node("step_2", make("step_2", "Step 2"))
    builder.add_node("step_3", make("step_3", "Step 3"))
    builder.add_edge(START, "step_1")
    builder.add_edge("step_1", "step_2")
    builder.add_edge("step_2", "step_3")
    builder.add_edge("step_3", END)
    return builder.compile(checkpointer=InMemorySaver(), **compile_kwargs)


def test_setting_static_breakpoints_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Output checked against LangGraph 1.2.22: values only when the state changed, and the
    continued run starts with the current state."""
    graph = steps_graph([], interrupt_before=["step_3"])
    initial_input = {"input": "hello world"}
    thread = {"configurable": {"thread_id": "1"}}
    for event in graph.stream(initial_input, thread, stream_mode="values"):
        print(event)
    # The page prints graph.get_state(config) with an undefined `config`; the thread is meant.
    assert graph.get_state(thread).next == ("step_3",)
    for event in graph.stream(None, thread, stream_mode="values"):
        print(event)
    assert capsys.readouterr().out.splitlines() == [
        "{'input': 'hello world'}",
        "---Step 1---",
        "---Step 2---",
        "{'input': 'hello world'}",
        "---Step 3---",
    ]


def test_debug_with_interrupts_compile_time() -> None:
    visits: list[str] = []
    graph = steps_graph(visits, interrupt_before=["step_1"], interrupt_after=["step_2", "step_3"])
    config = {"configurable": {"thread_id": "some_thread"}}
    graph.invoke({"input": "x"}, config=config)
    stops = [tuple(visits)]
    while graph.get_state(config).next:
        graph.invoke(None, config=config)
        stops.append(tuple(visits))
    assert stops == [(), ("step_1", "step_2"), ("step_1", "step_2", "step_3")]


def test_debug_with_interrupts_run_time() -> None:
    visits: list[str] = []
    graph = steps_graph(visits)
    config = {"configurable": {"thread_id": "some_thread"}}
    graph.invoke({"input": "x"}, interrupt_before=["step_1"], interrupt_after=["step_2"], config=config)
    assert visits == [] and graph.get_state(config).next == ("step_1",)
    graph.invoke(None, config=config, interrupt_after=["step_2"])
    assert visits == ["step_1", "step_2"]
    graph.invoke(None, config=config)
    assert visits == ["step_1", "step_2", "step_3"]


def test_subgraph_called_as_a_function(capsys: pytest.CaptureFixture[str]) -> None:
    graph = subgraph_as_function_example()
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    for chunk in graph.stream({"state_counter": 1}, config):
        print(chunk)
    print("--- Resuming ---")
    for chunk in graph.stream(Command(resume="35"), config):
        print(chunk)
    lines = capsys.readouterr().out.splitlines()
    # {'__interrupt__': (Interrupt(value='what is your name?', id='...'),)}
    assert graph.get_state(config).next == ()
    assert lines[3].startswith("{'__interrupt__': (Interrupt(value='what is your name?', id='") and lines[3].endswith("', response_schema=None),)}")
    assert lines[4:] == [
        "--- Resuming ---",
        "Entered `parent_node` a total of 2 times",
        "Entered human_node in sub-graph a total of 2 times",
        "Got an answer of 35",
        "{'parent_node': {'state_counter': 1}}",
    ]


def test_multiple_interrupts_in_a_single_node(capsys: pytest.CaptureFixture[str]) -> None:
    graph = multiple_interrupts_graph()
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    for chunk in graph.stream({"age": None, "name": None}, config):
        print(chunk)
    for chunk in graph.stream(Command(resume="John", update={"name": "foo"}), config):
        print(chunk)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("{'__interrupt__': (Interrupt(value='what is your name?', id='")
    assert lines[1:] == ["Name: N/A. Age: John", "{'human_node': {'age': 'John', 'name': 'N/A'}}"]
