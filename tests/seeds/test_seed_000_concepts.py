"""Seed 000: LangGraph's "Human-in-the-loop" concept page, every runnable example, with streamhil
imports. Where the page's printed output and LangGraph 1.2.22 disagree, the test follows 1.2.22
(see /work/shared/reference/langgraph-semantics.md) and says so."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest

from streamhil import END, START, Command, Interrupt, MemorySaver, MessagesState, StateGraph, interrupt


def new_thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4()}}


# -- "Full Code": a human node that revises text ----------------------------------------------------


class TextState(TypedDict):
    """The graph state."""

    some_text: str


def human_node(state: TextState) -> dict[str, Any]:
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


def revise_graph() -> Any:
    graph_builder = StateGraph(TextState)
    graph_builder.add_node("human_node", human_node)
    graph_builder.add_edge(START, "human_node")
    checkpointer = MemorySaver()
    return graph_builder.compile(checkpointer=checkpointer)


def test_full_code_stream() -> None:
    """The page prints an Interrupt with value {'question': 'Please revise the text', ...} and
    `resumable`/`ns`/`when` fields from an older release; the code surfaces
    {'text_to_revise': ...}, which is what LangGraph 1.2.22 prints too."""
    graph = revise_graph()
    thread_config = new_thread()
    chunks = list(graph.stream({"some_text": "Original text"}, config=thread_config))
    assert len(chunks) == 1
    [intr] = chunks[0]["__interrupt__"]
    assert isinstance(chunks[0]["__interrupt__"], tuple)
    assert isinstance(intr, Interrupt)
    assert intr.value == {"text_to_revise": "Original text"}
    assert intr.node == "human_node" and intr.ns.startswith("human_node:")
    assert list(graph.stream(Command(resume="Edited text"), config=thread_config)) == [
        {"human_node": {"some_text": "Edited text"}}
    ]


def test_invoke_then_resume() -> None:
    """The short form: invoke until the interrupt, resume with Command -> {'some_text': 'Edited text'}."""
    graph = revise_graph()
    thread_config = {"configurable": {"thread_id": "some_id"}}
    graph.invoke({"some_text": "some input"}, config=thread_config)
    assert graph.invoke(Command(resume="Edited text"), config=thread_config) == {"some_text": "Edited text"}


# -- Design patterns ----------------------------------------------------------------------------------


class ApprovalState(TypedDict):
    llm_output: str
    log: Annotated[list, operator.add]


def approval_graph() -> Any:
    def human_approval(state: ApprovalState) -> Command[Literal["some_node", "another_node"]]:
        is_approved = interrupt({"question": "Is this correct?", "llm_output": state["llm_output"]})
        if is_approved:
            return Command(goto="some_node")
        else:
            return Command(goto="another_node")

    graph_builder = StateGraph(ApprovalState)
    graph_builder.add_node("human_approval", human_approval)
    graph_builder.add_node("some_node", lambda s: {"log": ["some_node"]})
    graph_builder.add_node("another_node", lambda s: {"log": ["another_node"]})
    graph_builder.add_edge(START, "human_approval")
    return graph_builder.compile(checkpointer=MemorySaver())


@pytest.mark.parametrize(("answer", "path"), [(True, "some_node"), (False, "another_node")])
def test_approve_or_reject(answer: bool, path: str) -> None:
    graph = approval_graph()
    thread_config = {"configurable": {"thread_id": f"approve-{answer}"}}
    [intr] = graph.invoke({"llm_output": "42", "log": []}, config=thread_config)["__interrupt__"]
    assert intr.value == {"question": "Is this correct?", "llm_output": "42"}
    assert graph.invoke(Command(resume=answer), config=thread_config) == {"llm_output": "42", "log": [path]}


class SummaryState(TypedDict):
    llm_generated_summary: str


def test_review_and_edit_state() -> None:
    def human_editing(state: SummaryState) -> dict[str, Any]:
        result = interrupt(
            {
                "task": "Review the output from the LLM and make any necessary edits.",
                "llm_generated_summary": state["llm_generated_summary"],
            }
        )
        return {"llm_generated_summary": result["edited_text"]}

    graph_builder = StateGraph(SummaryState)
    graph_builder.add_node("human_editing", human_editing)
    graph_builder.add_edge(START, "human_editing")
    graph = graph_builder.compile(checkpointer=MemorySaver())
    thread_config = {"configurable": {"thread_id": "some_id"}}
    [intr] = graph.invoke({"llm_generated_summary": "draft"}, thread_config)["__interrupt__"]
    assert intr.value["llm_generated_summary"] == "draft"
    result = graph.invoke(Command(resume={"edited_text": "The edited text"}), config=thread_config)
    assert result == {"llm_generated_summary": "The edited text"}


class ToolState(TypedDict):
    messages: Annotated[list, operator.add]
    tool_call: dict[str, Any]


def review_tool_call_graph() -> Any:
    """The "Review Tool Calls" node, with a scripted LLM and tool instead of langchain ones."""

    def call_llm(state: ToolState) -> dict[str, Any]:
        feedback = [m["content"] for m in state["messages"] if m["role"] == "human"]
        city = feedback[-1].split()[-1] if feedback else "Paris"
        return {"messages": [{"role": "ai", "content": f"call weather({city})"}], "tool_call": {"city": city}}

    def human_review_node(state: ToolState) -> Command[Literal["call_llm", "run_tool"]]:
        human_review = interrupt({"question": "Is this correct?", "tool_call": state["tool_call"]})
        review_action, review_data = human_review
        if review_action == "continue":
            return Command(goto="run_tool")
        elif review_action == "update":
            return Command(goto="run_tool", update={"tool_call": review_data})
        elif review_action == "feedback":
            return Command(goto="call_llm", update={"messages": [{"role": "human", "content": review_data}]})
        raise ValueError(f"unknown review action {review_action!r}")

    def run_tool(state: ToolState) -> dict[str, Any]:
        return {"messages": [{"role": "tool", "content": f"sunny in {state['tool_call']['city']}"}]}

    builder = StateGraph(ToolState)
    builder.add_node("call_llm", call_llm)
    builder.add_node("human_review_node", human_review_node)
    builder.add_node("run_tool", run_tool)
    builder.add_edge(START, "call_llm")
    builder.add_edge("call_llm", "human_review_node")
    builder.add_edge("run_tool", END)
    return builder.compile(checkpointer=MemorySaver())


@pytest.mark.parametrize(
    ("answers", "last"),
    [
        ([("continue", None)], "sunny in Paris"),
        ([("update", {"city": "Rome"})], "sunny in Rome"),
        ([("feedback", "use Oslo"), ("continue", None)], "sunny in Oslo"),
    ],
    ids=["continue", "update", "feedback"],
)
def test_review_tool_calls(answers: list[tuple[str, Any]], last: str) -> None:
    graph = review_tool_call_graph()
    config = new_thread()
    [intr] = graph.invoke({"messages": []}, config)["__interrupt__"]
    assert intr.value == {"question": "Is this correct?", "tool_call": {"city": "Paris"}}
    for answer in answers:
        result = graph.invoke(Command(resume=answer), config)
    assert "__interrupt__" not in result
    assert result["messages"][-1] == {"role": "tool", "content": last}


def test_multi_turn_human_node_per_agent() -> None:
    """Each agent has its own human node; the human's reply goes into the messages."""

    def human_input(state: MessagesState) -> dict[str, Any]:
        human_message = interrupt("human_input")
        return {"messages": [{"role": "human", "content": human_message}]}

    def agent(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]["content"]
        return {"messages": [{"role": "ai", "content": f"you said {last}"}]}

    graph_builder = StateGraph(MessagesState)
    graph_builder.add_node("human_input", human_input)
    graph_builder.add_node("agent", agent)
    graph_builder.add_edge(START, "human_input")
    graph_builder.add_edge("human_input", "agent")
    graph = graph_builder.compile(checkpointer=MemorySaver())
    thread_config = new_thread()
    [intr] = graph.invoke({"messages": []}, thread_config)["__interrupt__"]
    assert intr.value == "human_input"
    result = graph.invoke(Command(resume="hello!"), config=thread_config)
    # add_messages keeps plain dicts and normalises LangChain's "human"/"ai" roles to "user"/"assistant".
    assert [(m["role"], m["content"]) for m in result["messages"]] == [("user", "hello!"), ("assistant", "you said hello!")]
    assert all(isinstance(m["id"], str) for m in result["messages"])


class AgentsState(TypedDict):
    messages: Annotated[list, operator.add]
    active_agent: str


def test_multi_turn_shared_human_node() -> None:
    """One human node routes back to whichever agent is active."""

    def human_node(state: AgentsState) -> Command[Literal["agent_1", "agent_2"]]:
        """A node for collecting user input."""
        user_input = interrupt(value="Ready for user input.")
        active_agent = state["active_agent"]
        return Command(update={"messages": [{"role": "human", "content": user_input}]}, goto=active_agent)

    def make_agent(name: str, hand_off_to: str) -> Any:
        def agent(state: AgentsState) -> Command[Literal["human", "agent_1", "agent_2", "__end__"]]:
            last = state["messages"][-1]["content"] if state["messages"] else ""
            if last == "bye":
                return Command(goto=END, update={"messages": [{"role": name, "content": "goodbye"}]})
            if last == "switch":
                return Command(goto="human", update={"active_agent": hand_off_to, "messages": [{"role": name, "content": f"handing off to {hand_off_to}"}]})
            return Command(goto="human", update={"messages": [{"role": name, "content": f"{name} heard {last!r}"}]})

        return agent

    builder = StateGraph(AgentsState)
    builder.add_node("agent_1", make_agent("agent_1", "agent_2"))
    builder.add_node("agent_2", make_agent("agent_2", "agent_1"))
    builder.add_node("human", human_node)
    builder.add_edge(START, "agent_1")
    graph = builder.compile(checkpointer=MemorySaver())
    config = new_thread()
    graph.invoke({"messages": [], "active_agent": "agent_1"}, config)
    for said in ("hi", "switch", "hello", "bye"):
        result = graph.invoke(Command(resume=said), config)
    speakers = [(m["role"], m["content"]) for m in result["messages"]]
    assert speakers == [
        ("agent_1", "agent_1 heard ''"),
        ("human", "hi"),
        ("agent_1", "agent_1 heard 'hi'"),
        ("human", "switch"),
        ("agent_1", "handing off to agent_2"),
        ("human", "hello"),
        ("agent_2", "agent_2 heard 'hello'"),
        ("human", "bye"),
        ("agent_2", "goodbye"),
    ]
    assert graph.get_state(config).next == ()


class AgeState(TypedDict):
    age: int


def test_validating_human_input(capsys: pytest.CaptureFixture[str]) -> None:
    """The validation loop re-asks inside one node until the answer is a non-negative int."""

    def human_node(state: AgeState) -> dict[str, Any]:
        """Human node with validation."""
        question = "What is your age?"
        while True:
            answer = interrupt(question)
            if not isinstance(answer, int) or answer < 0:
                question = f"'{answer} is not a valid age. What is your age?"
                answer = None
                continue
            else:
                break
        print(f"The human in the loop is {answer} years old.")
        return {"age": answer}

    builder = StateGraph(AgeState)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "human_node")
    graph = builder.compile(checkpointer=MemorySaver())
    config = new_thread()
    questions = [graph.invoke({"age": 0}, config)["__interrupt__"][0].value]
    for bad in ("twenty", -3):
        questions.append(graph.invoke(Command(resume=bad), config)["__interrupt__"][0].value)
    assert questions == [
        "What is your age?",
        "'twenty is not a valid age. What is your age?",
        "'-3 is not a valid age. What is your age?",
    ]
    assert graph.invoke(Command(resume=25), config) == {"age": 25}
    assert capsys.readouterr().out == "The human in the loop is 25 years old.\n"


# -- The Command primitive, invoke + get_state --------------------------------------------------------


class FooState(TypedDict):
    foo: str
    age: dict[str, Any]


def foo_graph() -> Any:
    def node_foo(state: FooState) -> dict[str, Any]:
        return {"age": interrupt("value_in_interrupt")}

    builder = StateGraph(FooState)
    builder.add_node("node_foo", node_foo)
    builder.add_edge(START, "node_foo")
    return builder.compile(checkpointer=MemorySaver())


def test_invoke_and_get_state() -> None:
    """The page's printout: values {'foo': 'bar'} and one pending task with its interrupt."""
    graph = foo_graph()
    thread_config = new_thread()
    graph.invoke({"foo": "bar"}, thread_config)
    state = graph.get_state(thread_config)
    assert state.values == {"foo": "bar"}
    [task] = state.tasks
    assert (task.name, task.path, task.error, task.state, task.result) == (
        "node_foo",
        ("__pregel_pull", "node_foo"),
        None,
        None,
        None,
    )
    [intr] = task.interrupts
    assert intr.value == "value_in_interrupt"
    assert intr.ns == f"node_foo:{task.id}"
    assert graph.invoke(Command(resume={"age": "25"}), thread_config) == {"foo": "bar", "age": {"age": "25"}}


def test_command_update_and_resume() -> None:
    graph = foo_graph()
    thread_config = new_thread()
    graph.invoke({"foo": "start"}, thread_config)
    result = graph.invoke(Command(update={"foo": "bar"}, resume="Let's go!!!"), thread_config)
    assert result == {"foo": "bar", "age": "Let's go!!!"}


# -- How resuming works: the node re-runs from the top ------------------------------------------------


def test_resume_reruns_the_node(capsys: pytest.CaptureFixture[str]) -> None:
    counter = 0

    def node(state: TextState) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        print(f"> Entered the node: {counter} # of times")
        answer = interrupt()
        print("The value of counter is:", counter)
        return {"some_text": answer}

    builder = StateGraph(TextState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=MemorySaver())
    config = new_thread()
    graph.invoke({"some_text": ""}, config)
    capsys.readouterr()
    graph.invoke(Command(resume="x"), config)
    assert capsys.readouterr().out == "> Entered the node: 2 # of times\nThe value of counter is: 2\n"


class QState(TypedDict):
    answer: str


@pytest.mark.parametrize(("placement", "api_calls"), [("before", 2), ("after", 1), ("separate", 1)])
def test_side_effect_placement(placement: str, api_calls: int) -> None:
    """Side effects before interrupt() repeat on resume; after it, or in their own node, they don't."""
    calls: list[str] = []

    def api_call(what: str) -> None:
        calls.append(what)

    def human_node(state: QState) -> dict[str, Any]:
        """Human node with validation."""
        if placement == "before":
            api_call("before")
        answer = interrupt("question")
        if placement == "after":
            api_call(answer)
        return {"answer": answer}

    def api_call_node(state: QState) -> None:
        if placement == "separate":
            api_call(state["answer"])

    builder = StateGraph(QState)
    builder.add_node("human_node", human_node)
    builder.add_node("api_call_node", api_call_node)
    builder.add_edge(START, "human_node")
    builder.add_edge("human_node", "api_call_node")
    graph = builder.compile(checkpointer=MemorySaver())
    config = new_thread()
    graph.invoke({"answer": ""}, config)
    graph.invoke(Command(resume="ok"), config)
    assert len(calls) == api_calls


# -- Subgraphs called as functions --------------------------------------------------------------------


class CounterState(TypedDict):
    """The graph state."""

    state_counter: int


def subgraph_as_function_example() -> Any:
    counters = {"sub": 0, "human": 0, "parent": 0}

    def node_in_subgraph(state: CounterState) -> None:
        """A node in the sub-graph."""
        counters["sub"] += 1  # This code will **NOT** run again!
        print(f"Entered `node_in_subgraph` a total of {counters['sub']} times")

    def human_node(state: CounterState) -> None:
        counters["human"] += 1  # This code will run again!
        print(f"Entered human_node in sub-graph a total of {counters['human']} times")
        answer = interrupt("what is your name?")
        print(f"Got an answer of {answer}")

    checkpointer = MemorySaver()
    subgraph_builder = StateGraph(CounterState)
    subgraph_builder.add_node("some_node", node_in_subgraph)
    subgraph_builder.add_node("human_node", human_node)
    subgraph_builder.add_edge(START, "some_node")
    subgraph_builder.add_edge("some_node", "human_node")
    subgraph = subgraph_builder.compile(checkpointer=checkpointer)

    def parent_node(state: CounterState) -> dict[str, Any]:
        """This parent node will invoke the subgraph."""
        counters["parent"] += 1  # This code will run again on resuming!
        print(f"Entered `parent_node` a total of {counters['parent']} times")
        subgraph_state = subgraph.invoke(state)
        return subgraph_state

    builder = StateGraph(CounterState)
    builder.add_node("parent_node", parent_node)
    builder.add_edge(START, "parent_node")
    checkpointer = MemorySaver()
    return builder.compile(checkpointer=checkpointer)


def test_subgraph_called_as_a_function(capsys: pytest.CaptureFixture[str]) -> None:
    """The documented printout, line for line (the Interrupt repr is streamhil's)."""
    graph = subgraph_as_function_example()
    config = new_thread()
    for chunk in graph.stream({"state_counter": 1}, config):
        print(chunk)
    print("--- Resuming ---")
    for chunk in graph.stream(Command(resume="35"), config):
        print(chunk)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "Entered `parent_node` a total of 1 times",
        "Entered `node_in_subgraph` a total of 1 times",
        "Entered human_node in sub-graph a total of 1 times",
    ]
    assert lines[3].startswith("{'__interrupt__': (Interrupt(value='what is your name?', id='")
    assert lines[4:] == [
        "--- Resuming ---",
        "Entered `parent_node` a total of 2 times",
        "Entered human_node in sub-graph a total of 2 times",
        "Got an answer of 35",
        "{'parent_node': {'state_counter': 1}}",
    ]


# -- Using multiple interrupts: the documented pitfall --------------------------------------------------


class NameAgeState(TypedDict):
    """The graph state."""

    age: Optional[str]
    name: Optional[str]


def multiple_interrupts_graph() -> Any:
    def human_node(state: NameAgeState) -> dict[str, Any]:
        if not state.get("name"):
            name = interrupt("what is your name?")
        else:
            name = "N/A"
        if not state.get("age"):
            age = interrupt("what is your age?")
        else:
            age = "N/A"
        print(f"Name: {name}. Age: {age}")
        return {"age": age, "name": name}

    builder = StateGraph(NameAgeState)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "human_node")
    return builder.compile(checkpointer=MemorySaver())


def test_multiple_interrupts_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    """Index-based matching: after the update skips the name question, "John" answers the age."""
    graph = multiple_interrupts_graph()
    config = new_thread()
    [chunk] = list(graph.stream({"age": None, "name": None}, config))
    assert [i.value for i in chunk["__interrupt__"]] == ["what is your name?"]
    chunks = list(graph.stream(Command(resume="John", update={"name": "foo"}), config))
    assert chunks == [{"human_node": {"age": "John", "name": "N/A"}}]
    assert capsys.readouterr().out == "Name: N/A. Age: John\n"
