"""add_human_in_the_loop(schema="hitl_middleware"): the request in LangChain's HITL-middleware
shape (what Agent Chat UI renders) and every ``{"decisions": [...]}`` answer, including bad ones."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from streamhil import Command, InMemorySaver
from streamhil.prebuilt import ScriptedChatModel, add_human_in_the_loop, create_react_agent
from streamhil.prebuilt.human_review import REJECTED_TOOL_MESSAGE

pytestmark = pytest.mark.anyio

USER = {"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}


def make_agent(interrupt_config: dict[str, bool] | None = None) -> tuple[Any, list[tuple[str, int]], dict[str, Any]]:
    booked: list[tuple[str, int]] = []

    def book_hotel(hotel_name: str, nights: int = 1) -> str:
        """Book a hotel"""
        booked.append((hotel_name, nights))
        return f"Successfully booked a stay at {hotel_name}."

    script = [{"content": "", "tool_calls": [{"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}}]}, "Done."]
    agent = create_react_agent(
        model=ScriptedChatModel(script),
        tools=[add_human_in_the_loop(book_hotel, interrupt_config=interrupt_config, schema="hitl_middleware")],
        checkpointer=InMemorySaver(),
    )
    return agent, booked, {"configurable": {"thread_id": str(uuid.uuid4())}}


async def run(agent: Any, config: dict[str, Any], value: Any) -> dict[str, Any]:
    with anyio.fail_after(5):
        out: dict[str, Any] = await agent.ainvoke(value, config)
    return out


def tool_message(out: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in out["messages"] if m["role"] == "tool")


async def test_the_request_has_the_hitl_middleware_shape() -> None:
    agent, booked, config = make_agent()
    (pending,) = (await run(agent, config, USER))["__interrupt__"]
    call_id = (await agent.aget_state(config)).values["messages"][1]["tool_calls"][0]["id"]
    assert pending.value == {
        "action_requests": [{"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}, "description": "Please review the tool call"}],
        "review_configs": [{"action_name": "book_hotel", "allowed_decisions": ["approve", "edit", "reject"]}],
        "asked_by": "add_human_in_the_loop",
        "tool_call_id": call_id,
    }
    assert booked == []


async def test_approve_edit_and_reject() -> None:
    agent, booked, config = make_agent()
    await run(agent, config, USER)
    out = await run(agent, config, Command(resume={"decisions": [{"type": "approve"}]}))
    assert booked == [("McKittrick hotel", 1)] and tool_message(out)["content"].startswith("Successfully")

    agent, booked, config = make_agent()
    await run(agent, config, USER)
    edit = {"type": "edit", "edited_action": {"name": "book_hotel", "args": {"hotel_name": "Ritz", "nights": 2}}}
    await run(agent, config, Command(resume={"decisions": [edit]}))
    assert booked == [("Ritz", 2)]

    agent, booked, config = make_agent()
    await run(agent, config, USER)
    out = await run(agent, config, Command(resume={"decisions": [{"type": "reject", "message": "Too expensive, pick another"}]}))
    assert booked == [] and tool_message(out)["content"] == "Too expensive, pick another"

    agent, booked, config = make_agent()
    await run(agent, config, USER)
    out = await run(agent, config, Command(resume={"decisions": [{"type": "reject"}]}))
    message = tool_message(out)
    assert booked == [] and message["content"] == REJECTED_TOOL_MESSAGE and message["status"] == "error"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"decisions": []}, "one decision"),
        ({"decisions": [{"type": "approve"}, {"type": "approve"}]}, "one decision"),
        ({"decisions": [{"type": "maybe"}]}, "unknown decision type 'maybe'"),
        ({"decisions": [{"type": "edit", "edited_action": {"name": "book_hotel", "args": {"nights": 2}}}]}, "do not fit"),
        ({"decisions": [{"type": "edit", "edited_action": {"name": "cancel_hotel", "args": {"hotel_name": "x"}}}]}, "not the tool"),
        ({"decisions": [{"type": "edit"}]}, "edited_action"),
        ({"decisions": [{"type": "reject", "message": "  "}]}, "non-empty"),
        ({"decisions": "approve"}, "one decision"),
    ],
)
async def test_a_bad_decision_asks_again_with_the_error(answer: Any, problem: str) -> None:
    agent, booked, config = make_agent()
    await run(agent, config, USER)
    (again,) = (await run(agent, config, Command(resume=answer)))["__interrupt__"]
    assert problem in again.value["error"] and again.value["action_requests"][0]["name"] == "book_hotel"
    await run(agent, config, Command(resume={"decisions": [{"type": "approve"}]}))
    assert booked == [("McKittrick hotel", 1)]


async def test_decisions_follow_the_allow_flags() -> None:
    agent, booked, config = make_agent({"allow_accept": True})
    (pending,) = (await run(agent, config, USER))["__interrupt__"]
    assert pending.value["review_configs"][0]["allowed_decisions"] == ["approve"]
    (again,) = (await run(agent, config, Command(resume={"decisions": [{"type": "reject"}]})))["__interrupt__"]
    assert "does not allow 'reject'" in again.value["error"]
    # the Agent Inbox answer shape is understood too
    await run(agent, config, Command(resume=[{"type": "accept"}]))
    assert booked == [("McKittrick hotel", 1)]


def test_unknown_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        add_human_in_the_loop(lambda hotel_name: hotel_name, schema="inbox")  # type: ignore[arg-type]
