"""Review tool calls before they run: LangGraph's seed-004 examples written with streamhil imports.

1. The tool itself calls ``interrupt()``; the reviewer accepts, or edits the arguments.
2. ``add_human_in_the_loop(book_hotel)`` adds the review to any tool, with the request and
   response shapes Agent Inbox and Agent Chat UI use; two parallel calls are reviewed
   separately, and a bad answer is asked again with an explanation.

Run it with the scripted model (no network)::

    python examples/tool_review.py

or against any OpenAI-compatible endpoint (the model then decides what to call)::

    OPENAI_BASE_URL=... OPENAI_API_KEY=... OPENAI_MODEL=... python examples/tool_review.py --openai
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import anyio

from streamhil import Command, InMemorySaver, interrupt
from streamhil.prebuilt import ChatModel, OpenAIChatModel, ScriptedChatModel, add_human_in_the_loop, create_react_agent


# -- 1. interrupt() inside the tool -------------------------------------------------------------
def book_hotel_with_review(hotel_name: str) -> str:
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


book_hotel_with_review.__name__ = "book_hotel"


# -- 2. the same tool without review, wrapped --------------------------------------------------
def book_hotel(hotel_name: str, nights: int = 1) -> str:
    """Book a hotel

    Args:
        hotel_name: The hotel's name.
        nights: How many nights to stay.
    """
    return f"Successfully booked {nights} night(s) at {hotel_name}."


def scripted(*calls: dict[str, Any]) -> ScriptedChatModel:
    """A model that asks for ``calls`` and then confirms."""
    return ScriptedChatModel([{"content": "", "tool_calls": list(calls)}, "All set, enjoy your stay!"], stream=True)


def new_thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


async def run(agent: Any, value: Any, config: dict[str, Any], log: list[str]) -> list[Any]:
    """Stream one run, print what happens, and return the interrupts it stopped on."""
    pending: list[Any] = []
    async for mode, chunk in agent.astream(value, config, stream_mode=["updates", "messages"]):
        if mode == "messages":
            token = chunk[0].get("content")
            if token:
                print(token, end="", flush=True)
            continue
        if "__metadata__" in chunk:
            continue  # a task that finished before this run (LangGraph's "cached" update): shown already
        for node, update in chunk.items():
            if node == "__interrupt__":
                pending.extend(update)
                for item in update:
                    line = f"[interrupt {item.id[:8]}] {item.value}"
                    log.append(line)
                    print(line)
                continue
            for message in (update or {}).get("messages", []):
                if message["role"] == "tool":
                    line = f"[tool {message['name']}] {message['content']}"
                elif message.get("tool_calls"):
                    line = "[agent asks] " + ", ".join(f"{c['name']}({c['args']})" for c in message["tool_calls"])
                else:
                    line = f"[agent] {message['content']}"
                    print()
                log.append(line)
                print(line)
    return pending


async def interrupt_in_tool(model: ChatModel, answer: dict[str, Any], log: list[str]) -> None:
    agent = create_react_agent(model=model, tools=[book_hotel_with_review], checkpointer=InMemorySaver())
    config = new_thread()
    request = {"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}
    while await run(agent, request, config, log):
        request = Command(resume=answer)


async def wrapped_tool_parallel(model: ChatModel, log: list[str]) -> None:
    agent = create_react_agent(
        model=model,
        tools=[add_human_in_the_loop(book_hotel)],
        checkpointer=InMemorySaver(),
    )
    config = new_thread()
    request = {"messages": [{"role": "user", "content": "book the Ritz and the Savoy"}]}
    await run(agent, request, config, log)
    # Answer one review at a time, by interrupt id; the others stay parked meanwhile.
    while pending := (await agent.aget_state(config)).interrupts:
        first = pending[0]
        await run(agent, Command(resume={first.id: [reviewer(first.value[0])]}), config, log)


def reviewer(request: dict[str, Any]) -> dict[str, Any]:
    """A scripted human: fixes the Ritz booking (fumbling it once), accepts the rest."""
    args = request["action_request"]["args"]
    if args["hotel_name"] != "Ritz":
        return {"type": "accept"}
    if "error" not in request:
        return {"type": "edit", "args": {"args": {"hotel_name": "Ritz", "nights": "two"}}}  # re-asked
    return {"type": "edit", "args": {"args": {"hotel_name": "Ritz", "nights": 2}}}


async def main(use_openai: bool = False) -> list[str]:
    """Run every scenario; return the printed lines (used by the tests)."""
    log: list[str] = []

    def model(*calls: dict[str, Any]) -> ChatModel:
        return OpenAIChatModel() if use_openai else scripted(*calls)

    mckittrick = {"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}}
    print("== interrupt() inside the tool, accepted ==")
    await interrupt_in_tool(model(mckittrick), {"type": "accept"}, log)
    print("== interrupt() inside the tool, edited ==")
    await interrupt_in_tool(model(mckittrick), {"type": "edit", "args": {"hotel_name": "McKittrick Hotel"}}, log)
    print("== add_human_in_the_loop, two parallel calls reviewed one at a time ==")
    await wrapped_tool_parallel(
        model(
            {"name": "book_hotel", "args": {"hotel_name": "Ritz"}},
            {"name": "book_hotel", "args": {"hotel_name": "Savoy", "nights": 3}},
        ),
        log,
    )
    return log


if __name__ == "__main__":
    anyio.run(main, "--openai" in sys.argv[1:])
