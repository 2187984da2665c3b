"""ToolNode's ``handle_tool_errors``, side by side with LangGraph 1.2.22 (langgraph-prebuilt
1.1.3): by default only bad arguments are answered with an error tool message and any other
exception fails the run; every other setting (``True``, a string, an exception type or tuple, a
handler function, ``False``) answers what LangGraph's answers, with the same text. LangChain tools
that handle their own errors, return an artifact, or return structured values give the same
tool messages too."""

from __future__ import annotations

import importlib
import threading
from typing import Any, Union

import pytest

pytest.importorskip("langgraph.prebuilt", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import ToolException
from langchain_core.tools import tool as lc_tool

LIBRARIES = ["langgraph", "streamhil"]


@lc_tool
def boom(x: str) -> str:
    """Raises ValueError."""
    raise ValueError("kaboom")


@lc_tool
def missing(x: str) -> str:
    """Raises KeyError."""
    raise KeyError(x)


@lc_tool
def refuse(x: str) -> str:
    """Raises ToolException."""
    raise ToolException("tool says no")


@lc_tool
def add(a: int, b: int) -> int:
    """Adds."""
    return a + b


@lc_tool
def handles_its_own(x: str) -> str:
    """Raises a ToolException its own handle_tool_error answers."""
    raise ToolException("handled by the tool")


handles_its_own.handle_tool_error = True


@lc_tool
def structured(x: str) -> dict[str, Any]:
    """Returns a dict."""
    return {"a": 1, "b": [1, 2], "é": "ü"}


@lc_tool(response_format="content_and_artifact")
def with_artifact(x: str) -> tuple[str, dict[str, int]]:
    """Returns content and an artifact."""
    return "content", {"raw": 1}


def on_value_error(e: ValueError) -> str:
    return f"value handler: {e}"


def on_either(e: Union[ValueError, KeyError]) -> str:  # noqa: UP007 (the form LangGraph documents)
    return f"either: {e!r}"


# The annotation as an object, as in a module without ``from __future__ import annotations``:
# LangGraph reads a union from the raw annotation, and fails on this module's strings (streamhil
# reads both; tests/prebuilt/test_tool_node.py covers the string form).
on_either.__annotations__ = {"e": Union[ValueError, KeyError], "return": str}  # noqa: UP007


def on_anything(e):  # type: ignore[no-untyped-def]
    return f"anything: {type(e).__name__}"


def on_not_an_exception(e: int) -> str:
    return "never"


SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "True": {"handle_tool_errors": True},
    "False": {"handle_tool_errors": False},
    "a string": {"handle_tool_errors": "try again"},
    "an empty string": {"handle_tool_errors": ""},
    "a type": {"handle_tool_errors": ValueError},
    "a tuple": {"handle_tool_errors": (KeyError,)},
    "a tuple of two": {"handle_tool_errors": (ValueError, KeyError)},
    "an empty tuple": {"handle_tool_errors": ()},
    "an annotated function": {"handle_tool_errors": on_value_error},
    "a union-annotated function": {"handle_tool_errors": on_either},
    "an unannotated function": {"handle_tool_errors": on_anything},
    "a lambda": {"handle_tool_errors": lambda e: f"lambda {e}"},
    "a function annotated with int": {"handle_tool_errors": on_not_an_exception},
}

CALLS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "ValueError": [("boom", {"x": "y"})],
    "KeyError": [("missing", {"x": "k"})],
    "ToolException": [("refuse", {"x": "y"})],
    "a tool handling its own error": [("handles_its_own", {"x": "y"})],
    "a wrong argument type": [("add", {"a": "x", "b": 2})],
    "a missing argument": [("add", {"a": 1})],
    "an unknown tool": [("nope", {})],
    "one fine, one failing": [("add", {"a": 1, "b": 2}), ("boom", {"x": "y"})],
}

TOOLS = [boom, missing, refuse, add, handles_its_own, structured, with_artifact]


def lib(name: str, module: str) -> Any:
    return importlib.import_module(f"{name}.{module}")


def field(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, dict) else getattr(message, key, None)


def run_tool_node(name: str, calls: list[tuple[str, dict[str, Any]]], **settings: Any) -> Any:
    """The tool messages a one-node graph answers ``calls`` with, or the error it raises."""
    graph = lib(name, "graph")
    builder = graph.StateGraph(graph.MessagesState)
    builder.add_node("tools", lib(name, "prebuilt").ToolNode(TOOLS, **settings))
    builder.add_edge(graph.START, "tools")
    asked = AIMessage(
        content="", id="a1", tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(calls)]
    )
    try:
        out = builder.compile().invoke({"messages": [HumanMessage("hi", id="h1"), asked]})
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return [
        (field(m, "content"), field(m, "status"), field(m, "artifact"), field(m, "tool_call_id"))
        for m in out["messages"][2:]
    ]


@pytest.mark.parametrize("setting", SETTINGS, ids=str)
def test_handle_tool_errors_answers_as_langgraphs(setting: str) -> None:
    seen = {
        name: {case: run_tool_node(name, calls, **SETTINGS[setting]) for case, calls in CALLS.items()}
        for name in LIBRARIES
    }
    assert seen["streamhil"] == seen["langgraph"]


def test_by_default_only_bad_arguments_are_answered() -> None:
    assert run_tool_node("streamhil", CALLS["ValueError"]) == ("raised", "ValueError", "kaboom")
    assert run_tool_node("streamhil", CALLS["a wrong argument type"]) == [(
        "Error invoking tool 'add' with kwargs {'a': 'x', 'b': 2} with error:\n"
        " a: Input should be a valid integer, unable to parse string as an integer\n"
        " Please fix the error and try again.",
        "error", None, "c0",
    )]


def test_langchain_tool_messages_are_langchains() -> None:
    calls = [("structured", {"x": "1"}), ("with_artifact", {"x": "1"})]
    seen = {name: run_tool_node(name, calls) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"] == [
        ('{"a": 1, "b": [1, 2], "é": "ü"}', "success", None, "c0"),
        ("content", "success", {"raw": 1}, "c1"),
    ]


class ToolCallingFake(FakeMessagesListChatModel):
    """LangChain's fake model, with the ``bind_tools`` LangGraph's create_react_agent needs."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def test_create_react_agent_fails_on_a_tool_error_as_langgraphs() -> None:
    def run(name: str) -> Any:
        added = threading.Event()  # the calls run at once: boom fails once add is done, in both

        @lc_tool("add")
        def add_first(a: int, b: int) -> int:
            """Adds."""
            added.set()
            return a + b

        @lc_tool("boom")
        def boom_after(x: str) -> str:
            """Raises ValueError once add is done."""
            added.wait(10)
            raise ValueError("kaboom")

        model = ToolCallingFake(responses=[
            AIMessage(content="", id="m1", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"},
                                                       {"name": "boom", "args": {"x": "y"}, "id": "c2"}]),
            AIMessage(content="done", id="m2"),
        ])
        agent = lib(name, "prebuilt").create_react_agent(
            model, [add_first, boom_after], checkpointer=lib(name, "checkpoint.memory").InMemorySaver()
        )
        config = {"configurable": {"thread_id": "t"}}
        try:
            agent.invoke({"messages": [HumanMessage("go", id="h1")]}, config)
        except Exception as exc:
            state = agent.get_state(config)
            return type(exc).__name__, str(exc), state.next, [repr(t.error) for t in state.tasks]
        return "finished"

    with pytest.warns(DeprecationWarning):  # LangGraph's create_react_agent is deprecated
        langgraph = run("langgraph")
    assert run("streamhil") == langgraph
    assert langgraph[:3] == ("ValueError", "kaboom", ("tools",))


def test_a_resume_that_does_not_fit_the_response_schema_is_never_answered() -> None:
    """A tool's ``interrupt(response_schema=...)`` given a bad answer fails the node even with
    ``handle_tool_errors=True`` (the model cannot fix it; the question stays pending)."""
    from pydantic import BaseModel

    class Approval(BaseModel):
        ok: bool

    def run(name: str) -> Any:
        types = lib(name, "types")

        @lc_tool
        def ask(x: str) -> str:
            """Asks a human."""
            return f"approved={types.interrupt('ok?', response_schema=Approval).ok}"

        graph = lib(name, "graph")
        builder = graph.StateGraph(graph.MessagesState)
        builder.add_node("tools", lib(name, "prebuilt").ToolNode([ask], handle_tool_errors=True))
        builder.add_edge(graph.START, "tools")
        compiled = builder.compile(checkpointer=lib(name, "checkpoint.memory").InMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        asked = AIMessage(content="", id="a1", tool_calls=[{"name": "ask", "args": {"x": "y"}, "id": "c1"}])
        compiled.invoke({"messages": [HumanMessage("hi", id="h1"), asked]}, config)
        try:
            compiled.invoke(types.Command(resume={"ok": "not a bool"}), config)
        except Exception as exc:
            failed = (type(exc).__name__, lib(name, "errors").is_invalid_resume(exc))
        else:
            failed = None
        done = compiled.invoke(types.Command(resume={"ok": True}), config)
        return failed, field(done["messages"][-1], "content")

    seen = {name: run(name) for name in LIBRARIES}
    assert seen["streamhil"] == seen["langgraph"] == (("ValidationError", True), "approved=True")
