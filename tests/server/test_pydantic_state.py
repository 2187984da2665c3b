"""A graph whose state is a pydantic model holding another model, served: the model reaches the
wire as its JSON fields (not its repr) in events and in get_state."""

from __future__ import annotations

from typing import Any

import pytest

pydantic = pytest.importorskip("pydantic")

from streamhil.graph import START, StateGraph  # noqa: E402
from streamhil.types import interrupt  # noqa: E402

from .conftest import connect  # noqa: E402


class Address(pydantic.BaseModel):
    street: str
    city: str = "Paris"


class Order(pydantic.BaseModel):
    item: str = ""
    ship_to: Address | None = None


def order_graph() -> Any:
    def ask_address(state: Order) -> dict[str, Any]:
        street = interrupt({"question": f"Where should the {state.item} go?"})
        return {"ship_to": Address(street=street)}

    builder = StateGraph(Order)
    builder.add_node("ask_address", ask_address)
    builder.add_edge(START, "ask_address")
    return builder.compile()


def test_a_nested_model_in_the_state_reaches_the_wire_as_json(make_client: Any) -> None:
    with make_client({"order": order_graph()}) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="order", input={"item": "lamp"}, stream_modes=["values"])["thread_id"]
        assert wire.run_end(tid)["event"] == "run_interrupted"
        wire.request("resume", thread_id=tid, value="1 rue de Rivoli", stream_modes=["values"])
        assert wire.run_end(tid)["event"] == "run_done"
        values = [e["data"] for e in wire.thread_events(tid) if e.get("event") == "values"]
        assert values[-1] == {"item": "lamp", "ship_to": {"street": "1 rue de Rivoli", "city": "Paris"}}
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["values"]["ship_to"] == {"street": "1 rue de Rivoli", "city": "Paris"}
