"""streamhil.prebuilt.human_review: seed 004's add_human_in_the_loop, every response type, re-asks."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from streamhil import Command, InMemorySaver
from streamhil.prebuilt import (
    HumanResponseError,
    ScriptedChatModel,
    add_human_in_the_loop,
    create_react_agent,
    create_tool,
)
from streamhil.prebuilt.human_review import IGNORED_TOOL_MESSAGE, parse_human_response

pytestmark = pytest.mark.anyio

USER = {"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


class Bookings:
    """A book_hotel tool that records what it actually booked."""

    def __init__(self) -> None:
        self.booked: list[tuple[str, int]] = []

    def book_hotel(self, hotel_name: str, nights: int = 1) -> str:
        self.booked.append((hotel_name, nights))
        return f"Successfully booked a stay at {hotel_name}."


def make_agent(
    *calls: dict[str, Any], interrupt_config: dict[str, bool] | None = None
) -> tuple[Any, Bookings]:
    bookings = Bookings()

    def book_hotel(hotel_name: str, nights: int = 1) -> str:
        """Book a hotel"""
        return bookings.book_hotel(hotel_name, nights)

    script = [
        {"content": "", "tool_calls": list(calls or [{"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}}])},
        "Done.",
    ]
    agent = create_react_agent(
        model=ScriptedChatModel(script),
        tools=[add_human_in_the_loop(book_hotel, interrupt_config=interrupt_config)],
        checkpointer=InMemorySaver(),
    )
    return agent, bookings


async def start(agent: Any, config: dict[str, Any]) -> list[Any]:
    with anyio.fail_after(5):
        out = await agent.ainvoke(USER, config)
    return out["__interrupt__"]


async def resume(agent: Any, config: dict[str, Any], answer: Any) -> dict[str, Any]:
    with anyio.fail_after(5):
        out: dict[str, Any] = await agent.ainvoke(Command(resume=answer), config)
    return out


async def test_request_has_the_agent_inbox_shape() -> None:
    agent, bookings = make_agent()
    config = thread()
    (pending,) = await start(agent, config)
    call_id = (await agent.aget_state(config)).values["messages"][1]["tool_calls"][0]["id"]
    assert pending.value == [
        {
            "action_request": {"action": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}},
            "config": {"allow_ignore": False, "allow_respond": True, "allow_edit": True, "allow_accept": True},
            "description": "Please review the tool call",
            "asked_by": "add_human_in_the_loop",
            "tool_call_id": call_id,
        }
    ]
    assert bookings.booked == [], "nothing runs before the review"


async def test_seed_accept() -> None:
    agent, bookings = make_agent()
    config = thread()
    await start(agent, config)
    out = await resume(agent, config, [{"type": "accept"}])
    assert out["messages"][2]["content"] == "Successfully booked a stay at McKittrick hotel."
    assert out["messages"][-1]["content"] == "Done."
    assert bookings.booked == [("McKittrick hotel", 1)]


async def test_seed_edit() -> None:
    agent, bookings = make_agent()
    config = thread()
    await start(agent, config)
    out = await resume(agent, config, [{"type": "edit", "args": {"args": {"hotel_name": "McKittrick Hotel"}}}])
    assert out["messages"][2]["content"] == "Successfully booked a stay at McKittrick Hotel."
    assert bookings.booked == [("McKittrick Hotel", 1)]


@pytest.mark.parametrize(
    "answer",
    [
        {"type": "edit", "args": {"action": "book_hotel", "args": {"hotel_name": "Ritz", "nights": 2}}},
        [{"type": "edit", "args": {"hotel_name": "Ritz", "nights": 2}}],
    ],
    ids=["action-request-form", "flat-form"],
)
async def test_other_edit_forms(answer: Any) -> None:
    agent, bookings = make_agent()
    config = thread()
    await start(agent, config)
    await resume(agent, config, answer)
    assert bookings.booked == [("Ritz", 2)]


async def test_response_skips_the_tool_and_hands_text_to_the_model() -> None:
    agent, bookings = make_agent()
    config = thread()
    await start(agent, config)
    out = await resume(agent, config, [{"type": "response", "args": "Book the Ritz instead."}])
    tool_msg = out["messages"][2]
    assert (tool_msg["role"], tool_msg["content"], tool_msg["status"]) == ("tool", "Book the Ritz instead.", "success")
    assert bookings.booked == []


async def test_ignore_skips_the_tool_when_allowed() -> None:
    agent, bookings = make_agent(interrupt_config={"allow_ignore": True, "allow_accept": True})
    config = thread()
    (pending,) = await start(agent, config)
    assert pending.value[0]["config"] == {
        "allow_ignore": True, "allow_respond": False, "allow_edit": False, "allow_accept": True
    }
    out = await resume(agent, config, {"type": "ignore"})
    assert (out["messages"][2]["content"], out["messages"][2]["status"]) == (IGNORED_TOOL_MESSAGE, "error")
    assert bookings.booked == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"type": "approve"}, "unknown response type 'approve'; answer with one of: accept, edit, response"),
        ({"type": "ignore"}, "this review does not allow 'ignore'"),
        ({"type": "edit", "args": {"args": {"hotel_name": 7}}}, "args.hotel_name: expected string, got integer 7"),
        ({"type": "edit", "args": {"args": {"hotel": "Ritz"}}}, "args.hotel_name: required but missing"),
        ({"type": "edit", "args": {"action": "cancel_hotel", "args": {"hotel_name": "X"}}}, "not the tool"),
        ({"type": "edit"}, "needs the new arguments"),
        ({"type": "response", "args": ""}, "needs the text"),
        ([{"type": "accept"}, {"type": "accept"}], "expected one response, got a list of 2"),
        ("yes", "expected a response like"),
    ],
)
async def test_bad_answers_re_ask_with_an_explanation(answer: Any, error: str) -> None:
    agent, bookings = make_agent()
    config = thread()
    (first,) = await start(agent, config)
    out = await resume(agent, config, answer)
    (again,) = out["__interrupt__"]
    assert again.id != first.id
    request = again.value[0]
    assert error in request["error"]
    assert request["action_request"] == first.value[0]["action_request"]
    assert request["tool_call_id"] == first.value[0]["tool_call_id"]
    assert bookings.booked == []
    # the second answer is read by the same review, and the run completes
    done = await resume(agent, config, [{"type": "accept"}])
    assert "__interrupt__" not in done
    assert bookings.booked == [("McKittrick hotel", 1)]


async def test_two_parallel_reviews_are_answered_separately() -> None:
    agent, bookings = make_agent(
        {"name": "book_hotel", "args": {"hotel_name": "Ritz"}},
        {"name": "book_hotel", "args": {"hotel_name": "Savoy", "nights": 3}},
    )
    config = thread()
    pending = await start(agent, config)
    assert len(pending) == 2
    calls = (await agent.aget_state(config)).values["messages"][1]["tool_calls"]
    by_call = {i.value[0]["tool_call_id"]: i for i in pending}
    assert set(by_call) == {c["id"] for c in calls}, "each review names its own tool call"
    ritz, savoy = by_call[calls[0]["id"]], by_call[calls[1]["id"]]
    assert savoy.value[0]["action_request"]["args"] == {"hotel_name": "Savoy", "nights": 3}

    out = await resume(agent, config, {savoy.id: [{"type": "edit", "args": {"args": {"hotel_name": "Savoy", "nights": 1}}}]})
    assert [i.id for i in out["__interrupt__"]] == [ritz.id], "the other review is still waiting, unchanged"
    assert bookings.booked == [("Savoy", 1)]
    assert (await agent.aget_state(config)).next == ("tools",)

    out = await resume(agent, config, {ritz.id: [{"type": "accept"}]})
    assert "__interrupt__" not in out
    assert bookings.booked == [("Savoy", 1), ("Ritz", 1)], "answering the second review did not re-run the first"
    tool_msgs = [m for m in out["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == [calls[0]["id"], calls[1]["id"]]
    assert out["messages"][-1]["content"] == "Done."


async def test_model_arguments_that_do_not_fit_are_refused_before_review() -> None:
    agent, bookings = make_agent({"name": "book_hotel", "args": {"hotel_name": 5}})
    config = thread()
    with anyio.fail_after(5):
        out = await agent.ainvoke(USER, config)
    assert "__interrupt__" not in out, "a malformed call never reaches the human"
    assert out["messages"][2]["status"] == "error"


def test_wrapper_keeps_name_description_and_schema() -> None:
    def book_hotel(hotel_name: str) -> str:
        """Book a hotel"""
        return hotel_name

    inner = create_tool(book_hotel)
    wrapped = add_human_in_the_loop(book_hotel)
    assert (wrapped.name, wrapped.description, wrapped.parameters) == (inner.name, inner.description, inner.parameters)
    assert wrapped.is_async


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"allow_everything": True}, ValueError),
        ({"allow_accept": "yes"}, TypeError),
        ({"allow_accept": False}, ValueError),
        ("accept", TypeError),
    ],
)
def test_bad_interrupt_config(config: Any, error: type[Exception]) -> None:
    def noop() -> None:
        """Nothing."""

    with pytest.raises(error):
        add_human_in_the_loop(noop, interrupt_config=config)


def test_parse_human_response_directly() -> None:
    def book_hotel(hotel_name: str) -> str:
        """Book."""
        return hotel_name

    t = create_tool(book_hotel)
    config = {"allow_accept": True, "allow_edit": True, "allow_respond": False, "allow_ignore": False}
    assert parse_human_response([{"type": "accept"}], config, t).type == "accept"
    assert parse_human_response({"type": "edit", "args": {"args": {"hotel_name": "X"}}}, config, t).args == {"hotel_name": "X"}
    with pytest.raises(HumanResponseError, match="does not allow 'response'"):
        parse_human_response({"type": "response", "args": "no"}, config, t)


def test_seed_wrapper_example_with_the_sync_api() -> None:
    """Seed 004's second example, as written there (sync ``stream``), with streamhil imports."""
    checkpointer = InMemorySaver()

    def book_hotel(hotel_name: str):  # type: ignore[no-untyped-def]
        """Book a hotel"""
        return f"Successfully booked a stay at {hotel_name}."

    model = ScriptedChatModel(
        [{"content": "", "tool_calls": [{"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}}]}, "Booked."]
    )
    agent = create_react_agent(model=model, tools=[add_human_in_the_loop(book_hotel)], checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "1"}}
    chunks = list(agent.stream({"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config))
    assert "__interrupt__" in chunks[-1]
    chunks = list(agent.stream(Command(resume=[{"type": "edit", "args": {"args": {"hotel_name": "McKittrick Hotel"}}}]), config))
    assert chunks[0]["tools"]["messages"][0]["content"] == "Successfully booked a stay at McKittrick Hotel."
    assert chunks[-1]["agent"]["messages"][0]["content"] == "Booked."


async def test_parallel_reviews_survive_a_restart_on_sqlite(tmp_path: Any) -> None:
    from streamhil.checkpoint.sqlite import SqliteSaver

    booked: list[str] = []

    def book_hotel(hotel_name: str) -> str:
        """Book a hotel"""
        booked.append(hotel_name)
        return f"Successfully booked a stay at {hotel_name}."

    def build(saver: Any) -> Any:
        script = [{"content": "", "tool_calls": [
            {"name": "book_hotel", "args": {"hotel_name": "Ritz"}},
            {"name": "book_hotel", "args": {"hotel_name": "Savoy"}},
        ]}, "Done."]
        return create_react_agent(ScriptedChatModel(script), [add_human_in_the_loop(book_hotel)], checkpointer=saver)

    path = tmp_path / "agent.sqlite"
    config = thread()
    with anyio.fail_after(10):
        async with SqliteSaver.from_path(path) as saver:
            pending = await start(build(saver), config)
        assert len(pending) == 2
        async with SqliteSaver.from_path(path) as saver:  # a new process would see the same
            agent = build(saver)
            snapshot = await agent.aget_state(config)
            assert sorted(i.id for i in snapshot.interrupts) == sorted(i.id for i in pending)
            savoy = next(i for i in snapshot.interrupts if i.value[0]["action_request"]["args"]["hotel_name"] == "Savoy")
            out = await resume(agent, config, {savoy.id: [{"type": "response", "args": "No Savoy, thanks."}]})
            (ritz,) = out["__interrupt__"]
        async with SqliteSaver.from_path(path) as saver:
            out = await resume(build(saver), config, {ritz.id: [{"type": "accept"}]})
    assert booked == ["Ritz"]
    assert [m["content"] for m in out["messages"] if m["role"] == "tool"] == [
        "Successfully booked a stay at Ritz.",
        "No Savoy, thanks.",
    ]
    assert out["messages"][-1]["content"] == "Done."
