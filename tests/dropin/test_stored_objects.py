"""Objects that go through a checkpoint, side by side with LangGraph 1.2.22: pydantic models in
state fields, ``Send`` arguments and task results, LangChain messages as task results and custom
channel values come back as the same class after an interrupt and resume; a pydantic state with a
field of LangChain messages gives its nodes LangChain messages through interrupt, update_state,
resume and ``as_node``."""

from __future__ import annotations

import importlib
import operator
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("pydantic")
lc = pytest.importorskip("langchain_core.messages")
from pydantic import BaseModel, Field  # noqa: E402

from streamhil.graph.message import add_messages as sh_add_messages  # noqa: E402

HAS_LANGGRAPH = importlib.util.find_spec("langgraph") is not None


def mod(lib: str, name: str) -> ModuleType:
    return importlib.import_module(f"{lib}.{name}")


def saver(lib: str) -> Any:
    return mod(lib, "checkpoint.memory").InMemorySaver()


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def side_by_side(program: Callable[[str], Any]) -> Any:
    """``program("streamhil")``, asserted equal to ``program("langgraph")``."""
    got = program("streamhil")
    if HAS_LANGGRAPH:
        assert got == program("langgraph")
    return got


def interrupts(result: dict[str, Any]) -> list[Any]:
    return [i.value for i in result.get("__interrupt__", ())]


class Inner(BaseModel):
    a: int = 1
    tags: list[str] = []


class WithInner(BaseModel):
    x: int = 0
    log: Annotated[list[str], operator.add] = Field(default_factory=list)
    inner: Inner = Field(default_factory=Inner)
    many: list[Inner] = []


class Work(BaseModel):
    item: int


class Fan(BaseModel):
    items: list[int] = []
    out: Annotated[list[int], operator.add] = []


class Sub(BaseModel):
    out: Annotated[list[int], operator.add] = []
    flag: bool = False


class Plan(BaseModel):
    steps: list[str]


def test_a_nested_model_in_the_state_survives_interrupt_and_resume() -> None:
    def program(lib: str) -> Any:
        g, types = mod(lib, "graph"), mod(lib, "types")
        seen: list[Any] = []

        def ask(s: WithInner) -> dict[str, Any]:
            answer = types.interrupt("x?")
            return {"x": answer, "log": ["ask"], "inner": Inner(a=5, tags=["t"]), "many": [Inner(a=2)]}

        def after(s: WithInner) -> dict[str, Any]:
            seen.append((type(s.inner).__name__, s.inner.a, [type(m).__name__ for m in s.many]))
            types.interrupt("again?")
            return {"log": ["after"]}

        builder = g.StateGraph(WithInner)
        builder.add_node("ask", ask)
        builder.add_node("after", after)
        builder.add_edge(g.START, "ask")
        builder.add_edge("ask", "after")
        graph = builder.compile(checkpointer=saver(lib))
        config = thread()
        first = interrupts(graph.invoke({"x": 1}, config))
        second = interrupts(graph.invoke(types.Command(resume=7), config))
        final = graph.invoke(types.Command(resume="ok"), config)
        return first, second, seen, final, type(final["inner"]).__name__

    first, second, seen, final, inner_type = side_by_side(program)
    assert (first, second) == (["x?"], ["again?"])
    assert seen == [("Inner", 5, ["Inner"])] * 2  # the second run of "after" read it from the checkpoint
    assert final["inner"] == Inner(a=5, tags=["t"]) and inner_type == "Inner"


def test_a_send_with_a_model_argument_and_a_pydantic_subgraph() -> None:
    def program(lib: str) -> Any:
        g, types = mod(lib, "graph"), mod(lib, "types")
        got: list[Any] = []

        def fan(s: Fan) -> list[Any]:
            return [types.Send("work", Work(item=i)) for i in s.items]

        def work(w: Work) -> dict[str, Any]:
            got.append(type(w).__name__)
            return {"out": [w.item * 2]}

        def sub_node(s: Sub) -> dict[str, Any]:
            got.append(("sub", s.out))
            return {"out": [types.interrupt("sub?")], "flag": True}

        sub = g.StateGraph(Sub)
        sub.add_node("sub_node", sub_node)
        sub.add_edge(g.START, "sub_node")
        builder = g.StateGraph(Fan)
        builder.add_node("work", work)
        builder.add_node("sub", sub.compile())
        builder.add_conditional_edges(g.START, fan, ["work"])
        builder.add_edge("work", "sub")
        graph = builder.compile(checkpointer=saver(lib))
        config = thread()
        first = graph.invoke({"items": [1, 2]}, config)
        final = graph.invoke(types.Command(resume=7), config)
        return interrupts(first), first["out"], final, got

    asked, out, final, got = side_by_side(program)
    assert asked == ["sub?"] and out == [2, 4]
    assert final == {"items": [1, 2], "out": [2, 4, 2, 4, 7]}
    assert got == ["Work", "Work", ("sub", [2, 4]), ("sub", [2, 4])]


@pytest.mark.parametrize("kind", ["model", "message"])
def test_a_task_result_keeps_its_type_across_a_resume(kind: str) -> None:
    def program(lib: str) -> Any:
        func, types = mod(lib, "func"), mod(lib, "types")
        seen: list[str] = []

        @func.task
        def make(q: str) -> Any:
            return Plan(steps=[q, q + "!"]) if kind == "model" else lc.AIMessage(content="draft " + q, id="m1")

        @func.entrypoint(checkpointer=saver(lib))
        def flow(q: str) -> Any:
            made = make(q).result()
            seen.append(type(made).__name__)
            ok = types.interrupt("approve?")
            return (made.steps if kind == "model" else made.content, ok)

        config = thread()
        first = flow.invoke("x", config)
        return interrupts(first), flow.invoke(types.Command(resume="yes"), config), seen

    asked, final, seen = side_by_side(program)
    assert asked == ["approve?"]
    if kind == "model":
        assert final == (["x", "x!"], "yes") and seen == ["Plan", "Plan"]
    else:
        assert final == ("draft x", "yes") and seen == ["AIMessage", "AIMessage"]


class LastReply(TypedDict):
    reply: lc.AIMessage
    step: int


def test_a_message_in_a_plain_channel_keeps_its_type() -> None:
    """A channel without the ``add_messages`` reducer holds what the node wrote, in both."""

    def program(lib: str) -> Any:
        g, types = mod(lib, "graph"), mod(lib, "types")

        def answer(s: LastReply) -> dict[str, Any]:
            return {"reply": lc.AIMessage(content="hi", id="a1"), "step": 1}

        def confirm(s: LastReply) -> dict[str, Any]:
            types.interrupt("ok?")
            return {"step": 2}

        builder = g.StateGraph(LastReply)
        builder.add_node("answer", answer)
        builder.add_node("confirm", confirm)
        builder.add_edge(g.START, "answer")
        builder.add_edge("answer", "confirm")
        graph = builder.compile(checkpointer=saver(lib))
        config = thread()
        graph.invoke({"step": 0}, config)
        stored = graph.get_state(config).values["reply"]
        final = graph.invoke(types.Command(resume=True), config)
        return type(stored).__name__, stored.content, type(final["reply"]).__name__, final["step"]

    assert side_by_side(program) == ("AIMessage", "hi", "AIMessage", 2)


class Chat(BaseModel):
    messages: Annotated[list[lc.AnyMessage], sh_add_messages] = []
    count: int = 0


if HAS_LANGGRAPH:
    from langgraph.graph.message import add_messages as lg_add_messages

    class LgChat(BaseModel):
        messages: Annotated[list[lc.AnyMessage], lg_add_messages] = []
        count: int = 0


def chat_state(lib: str) -> type[BaseModel]:
    """The same state under each library, with that library's ``add_messages``."""
    return Chat if lib == "streamhil" else LgChat


def contents(messages: list[Any]) -> list[str]:
    """The texts of LangGraph's message objects and streamhil's message dicts alike."""
    return [m["content"] if isinstance(m, dict) else m.content for m in messages]


def test_a_pydantic_state_of_langchain_messages() -> None:
    def program(lib: str) -> Any:
        g, types = mod(lib, "graph"), mod(lib, "types")
        ChatState = chat_state(lib)
        seen: list[Any] = []

        def chat(s: Any) -> dict[str, Any]:
            seen.append([type(m).__name__ for m in s.messages])
            reply = lc.AIMessage(content=f"reply {len(s.messages)}", id=f"ai{len(s.messages)}")
            return {"messages": [reply], "count": s.count + 1}

        def route(s: Any) -> str:
            seen.append(type(s.messages[-1]).__name__)
            return "ask" if s.count < 2 else g.END

        def ask(s: Any) -> dict[str, Any]:
            answer = types.interrupt(s.messages[-1].content)
            return {"messages": [lc.HumanMessage(answer, id=f"h{s.count}")]}

        builder = g.StateGraph(ChatState)
        builder.add_node("chat", chat)
        builder.add_node("ask", ask)
        builder.add_edge(g.START, "chat")
        builder.add_conditional_edges("chat", route, ["ask", g.END])
        builder.add_edge("ask", "chat")
        graph = builder.compile(checkpointer=saver(lib))
        config = thread()
        asked = interrupts(graph.invoke({"messages": [lc.HumanMessage("hi", id="h0")]}, config))
        graph.update_state(config, {"messages": [lc.HumanMessage("edited", id="h0")]})
        edited = contents(graph.get_state(config).values["messages"])
        final = graph.invoke(types.Command(resume="again"), config)
        graph.update_state(config, {"count": 10}, as_node="chat")
        after = graph.get_state(config)
        v2 = graph.invoke({"messages": [lc.HumanMessage("new", id="n1")]}, thread(), version="v2")
        v2_types = [type(m).__name__ for m in v2.value.messages]
        return asked, edited, contents(final["messages"]), final["count"], after.next, seen, v2_types

    asked, edited, final, count, next_nodes, seen, v2_types = side_by_side(program)
    assert asked == ["reply 1"] and edited == ["edited", "reply 1"]
    assert final == ["edited", "reply 1", "again", "reply 3"] and count == 2 and next_nodes == ()
    assert seen[0] == ["HumanMessage"] and ["HumanMessage", "AIMessage", "HumanMessage"] in seen
    assert {x for x in seen if isinstance(x, str)} == {"AIMessage"}  # the router's last message
    assert v2_types == ["HumanMessage", "AIMessage"]


def test_other_fields_are_still_validated() -> None:
    import pydantic

    g = mod("streamhil", "graph")
    builder = g.StateGraph(chat_state("streamhil"))
    builder.add_node("n", lambda s: {})
    builder.add_edge(g.START, "n")
    with pytest.raises(pydantic.ValidationError, match="count"):
        builder.compile().invoke({"messages": [("user", "hi")], "count": "not a number"})
