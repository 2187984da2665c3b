"""Bring your own chat model: any ``(messages, tools) -> reply`` callable drives create_react_agent.

The model below is a few lines of rules instead of an LLM. It streams its answer word by word
with ``emit_chunk``, so the tokens show up in the ``messages`` stream mode.

    python examples/custom_chat_model.py
"""

from __future__ import annotations

from typing import Any

import anyio

from streamhil.prebuilt import create_react_agent, emit_chunk, tool


@tool
def convert(amount: float, currency: str = "EUR") -> str:
    """Convert US dollars to another currency.

    Args:
        amount: How many dollars.
        currency: The target currency code.
    """
    rates = {"EUR": 0.9, "GBP": 0.8}
    return f"{amount * rates[currency]:.2f} {currency}"


async def rule_model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    last = messages[-1]
    if last["role"] == "user":  # ask for the tool
        return {"role": "assistant", "content": "", "tool_calls": [{"name": "convert", "args": {"amount": 10}}]}
    answer = {"role": "assistant", "content": f"That is {last['content']}.", "id": f"reply-{len(messages)}"}
    for word in answer["content"].split(" "):
        emit_chunk({"id": answer["id"], "role": "assistant", "content": word + " "})
    return answer


async def main() -> list[str]:
    """Print the tool's schema, then stream one conversation; return the tokens (for the tests)."""
    print(convert.spec["function"]["parameters"])
    agent = create_react_agent(rule_model, [convert])
    tokens: list[str] = []
    async for chunk, metadata in agent.astream({"messages": ["10 dollars in euros?"]}, stream_mode="messages"):
        tokens.append(chunk["content"])
        print(chunk["content"], end="", flush=True)
    print()
    return tokens


if __name__ == "__main__":
    anyio.run(main)
