"""Seed 001: the "Human In The Loop" notebook (dynamic interrupts, resuming several at once,
approve/reject, review and edit). The tool-review cells belong to streamhil.prebuilt's tests."""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypedDict

import pytest

from streamhil import END, START, Command, InMemorySaver, Interrupt, StateGraph, interrupt
from streamhil._ids import interrupt_id


class State(TypedDict):
    some_text: str


def human_node(state: State) -> dict[str, Any]:
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


def test_dynamic_interrupt_example() -> None:
    graph_builder = StateGraph(State)
    graph_builder.add_node("human_node", human_node)
    graph_builder.add_edge(START, "human_node")
    checkpointer = InMemorySaver()
    graph = graph_builder.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    result = graph.invoke({"some_text": "original text"}, config=config)

    # [Interrupt(value={'text_to_revise': 'original text'}, id='061d...')]
    [intr] = result["__interrupt__"]
    assert repr(result["__interrupt__"]) == f"[Interrupt(value={{'text_to_revise': 'original text'}}, id='{intr.id}', response_schema=None)]"
    assert intr.id == interrupt_id(intr.ns, 0)

    assert graph.invoke(Command(resume="Edited text"), config=config) == {"some_text": "Edited text"}
    snap = graph.get_state(config=config)
    assert snap.values == {"some_text": "Edited text"}
    assert (snap.next, snap.tasks, snap.interrupts) == ((), (), ())
    # LangGraph's printout also copies `thread_id` into the metadata (§6 R23); streamhil does not.
    assert {k: snap.metadata[k] for k in ("source", "step", "parents")} == {"source": "loop", "step": 1, "parents": {}}
    assert snap.config["configurable"]["thread_id"] == str(config["configurable"]["thread_id"])
    assert snap.parent_config["configurable"]["checkpoint_id"] < snap.config["configurable"]["checkpoint_id"]


class TwoTexts(TypedDict):
    text_1: str
    text_2: str


def test_resume_multiple_interrupts_with_one_invocation() -> None:
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
    thread_id = str(uuid.uuid4())
    config = {"configurable": {"thread_id": thread_id}}
    graph.invoke({"text_1": "original text 1", "text_2": "original text 2"}, config=config)

    snap = graph.get_state(config=config)
    assert snap.values == {"text_1": "original text 1", "text_2": "original text 2"}
    assert snap.next == ("human_node_1", "human_node_2")
    assert snap.metadata["step"] == 0 and snap.metadata["source"] == "loop"
    assert [(t.name, t.path, [i.value for i in t.interrupts]) for t in snap.tasks] == [
        ("human_node_1", ("__pregel_pull", "human_node_1"), [{"text_to_revise": "original text 1"}]),
        ("human_node_2", ("__pregel_pull", "human_node_2"), [{"text_to_revise": "original text 2"}]),
    ]

    resume_map = {i.id: f"human input for {i.value}" for i in graph.get_state(config=config).interrupts}
    assert graph.invoke(Command(resume=resume_map), config=config) == {
        "text_1": "human input for {'text_to_revise': 'original text 1'}",
        "text_2": "human input for {'text_to_revise': 'original text 2'}",
    }
    snap = graph.get_state(config=config)
    assert (snap.next, snap.tasks, snap.interrupts, snap.metadata["step"]) == ((), (), (), 1)


class ApprovalState(TypedDict):
    llm_output: str
    decision: str


def approval_graph() -> Any:
    def generate_llm_output(state: ApprovalState) -> ApprovalState:
        return {"llm_output": "This is the generated output."}  # type: ignore[typeddict-item]

    def human_approval(state: ApprovalState) -> Command[Literal["approved_path", "rejected_path"]]:
        decision = interrupt(
            {"question": "Do you approve the following output?", "llm_output": state["llm_output"]}
        )
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
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize(
    ("answer", "decision", "printed"),
    [("approve", "approved", "✅ Approved path taken.\n"), ("reject", "rejected", "❌ Rejected path taken.\n")],
)
def test_approval_or_rejection(
    answer: str, decision: str, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = approval_graph()
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    result = graph.invoke({}, config=config)
    [intr] = result["__interrupt__"]
    assert isinstance(intr, Interrupt)
    assert intr.value == {
        "question": "Do you approve the following output?",
        "llm_output": "This is the generated output.",
    }
    final_result = graph.invoke(Command(resume=answer), config=config)
    assert final_result == {"llm_output": "This is the generated output.", "decision": decision}
    assert capsys.readouterr().out == printed


class SummaryState(TypedDict):
    summary: str


def test_review_and_edit_state(capsys: pytest.CaptureFixture[str]) -> None:
    def generate_summary(state: SummaryState) -> SummaryState:
        return {"summary": "The cat sat on the mat and looked at the stars."}

    def human_review_edit(state: SummaryState) -> SummaryState:
        result = interrupt(
            {
                "task": "Please review and edit the generated summary if necessary.",
                "generated_summary": state["summary"],
            }
        )
        return {"summary": result["edited_summary"]}

    def downstream_use(state: SummaryState) -> SummaryState:
        print(f"✅ Using edited summary: {state['summary']}")
        return state

    builder = StateGraph(SummaryState)
    builder.add_node("generate_summary", generate_summary)
    builder.add_node("human_review_edit", human_review_edit)
    builder.add_node("downstream_use", downstream_use)
    builder.set_entry_point("generate_summary")
    builder.add_edge("generate_summary", "human_review_edit")
    builder.add_edge("human_review_edit", "downstream_use")
    builder.add_edge("downstream_use", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4()}}
    result = graph.invoke({}, config=config)
    [intr] = result["__interrupt__"]
    assert intr.value == {
        "task": "Please review and edit the generated summary if necessary.",
        "generated_summary": "The cat sat on the mat and looked at the stars.",
    }
    edited_summary = "The cat lay on the rug, gazing peacefully at the night sky."
    resumed_result = graph.invoke(Command(resume={"edited_summary": edited_summary}), config=config)
    assert resumed_result == {"summary": edited_summary}
    assert capsys.readouterr().out == f"✅ Using edited summary: {edited_summary}\n"
