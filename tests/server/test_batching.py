"""Frames batched into one WebSocket message (docs/protocol.md section 1.1): only for a client
that asked in ``hello``, never the welcome, in order, nothing lost, bounded."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any, TypedDict

import orjson
import pytest
from streamhil_server import ServerSettings
from streamhil_server.connection import BATCH_MAX_CHARS, BATCH_MAX_FRAMES


from streamhil import START, StateGraph, interrupt
from streamhil.graph.compiled import CompiledStateGraph

from .wire import Wire, check_seqs

ROUNDS = 5


class Asked(TypedDict, total=False):
    answers: int


def ask_forever() -> CompiledStateGraph:
    """One node that asks, counts the answer, and asks again (as bench/ws_bench.py)."""

    def ask(state: Asked) -> Asked:
        interrupt({"question": "next?", "n": state.get("answers", 0)})
        return {"answers": state.get("answers", 0) + 1}

    graph = StateGraph(Asked)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", "ask")
    return graph.compile()


def graphs() -> dict[str, CompiledStateGraph]:
    return {"ask": ask_forever()}


@contextmanager
def session(client: Any, *, batch: bool | None) -> Iterator[Wire]:
    """An open connection whose hello asks for batching (True), declines it (False) or leaves
    the field out (None)."""
    with client.websocket_connect("ws://localhost/ws") as ws:
        wire = Wire(ws)
        welcome = wire.hello("alice-token", **({} if batch is None else {"batch": batch}))
        assert welcome["type"] == "welcome", welcome
        yield wire


def hitl_rounds(wire: Wire) -> list[dict[str, Any]]:
    """Start ``ask_forever`` and answer it ROUNDS times; every event of the thread."""
    started = wire.request("start_run", graph="ask", input={}, stream_modes=["updates"])
    thread_id = started["thread_id"]
    assert wire.run_end(thread_id)["event"] == "run_interrupted"
    for _ in range(ROUNDS):
        wire.request("resume", thread_id=thread_id, value="yes", stream_modes=["updates"])
        assert wire.run_end(thread_id)["event"] == "run_interrupted"
    return wire.thread_events(thread_id)


def end_of_round(events: list[dict[str, Any]]) -> list[list[str]]:
    """The kinds of each run's events, run by run."""
    runs: list[list[str]] = []
    for event in events:
        if event["event"] == "run_started":
            runs.append([])
        runs[-1].append(event["event"])
    return runs


@pytest.mark.parametrize("asks", [None, False])
def test_a_client_that_does_not_ask_gets_one_frame_per_message(make_client: Any, asks: bool | None) -> None:
    with make_client(graphs()) as client, session(client, batch=asks) as wire:
        assert "batch" not in wire.welcome  # type: ignore[operator]
        events = hitl_rounds(wire)
        assert set(wire.messages) == {1}  # (an array would have failed Wire.recv)
        check_seqs(events)


def test_a_client_that_asks_gets_ready_frames_batched_in_order_with_nothing_lost(make_client: Any) -> None:
    with make_client(graphs()) as client:
        with session(client, batch=False) as wire:
            unbatched = hitl_rounds(wire)
        with session(client, batch=True) as wire:
            assert wire.welcome is not None and wire.welcome["batch"] is True
            batched = hitl_rounds(wire)
            connection = next(iter(client.app.state.runtime.connections.values()))  # type: ignore[attr-defined]
            assert connection.frames_sent == len(wire.frames)  # every frame counted once, the welcome too
            assert connection.messages_sent == len(wire.messages) + 1
    # the same frames in the same order as without batching
    assert end_of_round(batched) == end_of_round(unbatched)
    assert [e["seq"] for e in batched] == list(range(1, len(batched) + 1))
    # the events a run ends with are produced together: they leave together
    assert max(wire.messages) > 1 and len(wire.messages) < len(wire.frames) - 1


def test_the_server_can_turn_batching_off(make_client: Any) -> None:
    with make_client(graphs(), settings=ServerSettings(batch_frames=False)) as client:
        with session(client, batch=True) as wire:
            assert "batch" not in wire.welcome  # type: ignore[operator]
            hitl_rounds(wire)
            assert set(wire.messages) == {1}


def test_a_client_array_is_refused_even_when_batching(make_client: Any) -> None:
    with make_client(graphs()) as client, session(client, batch=True) as wire:
        wire.send_raw(orjson.dumps([{"type": "ping", "id": "1"}, {"type": "ping", "id": "2"}]).decode())
        error = wire.recv()
        assert error["type"] == "error" and error["code"] == "bad_frame" and error["id"] is None
        assert wire.request("ping", payload=1) == {"payload": 1}  # the connection goes on


@pytest.mark.parametrize(("frames", "size", "expected"), [
    (250, 10, [BATCH_MAX_FRAMES, BATCH_MAX_FRAMES, 50]),  # at most BATCH_MAX_FRAMES a message
    (5, 30_000, [2, 2, 1]),  # at most BATCH_MAX_CHARS a message
    (3, BATCH_MAX_CHARS, [1, 1, 1]),  # a frame larger than the bound goes alone
    (1, 10, [1]),  # a lone frame is no array
])
def test_batch_bounds(frames: int, size: int, expected: list[int]) -> None:
    from streamhil._channel import Channel
    from streamhil_server.connection import Connection

    connection = Connection.__new__(Connection)  # just the send queue and the batch bound
    connection._outgoing = Channel()
    connection._batch_chars = BATCH_MAX_CHARS
    texts = [orjson.dumps({"i": i, "pad": "x" * (size - 20)}).decode() for i in range(frames)]
    for text in texts:
        connection._outgoing.put_nowait(text)
    counts, received = [], []
    while connection._outgoing:
        message, count, length = connection._batch(connection._outgoing.get_nowait())
        assert len(message) <= BATCH_MAX_CHARS or count == 1
        parsed = orjson.loads(message)
        parsed = parsed if count > 1 else [parsed]
        assert len(parsed) == count and length == sum(len(orjson.dumps(p)) for p in parsed)
        counts.append(count)
        received.extend(parsed)
    assert counts == expected
    assert received == [orjson.loads(t) for t in texts]


@pytest.mark.parametrize("in_flight", [0, 1, 7])
def test_the_slow_consumer_bound_counts_a_batch_being_written(in_flight: int) -> None:
    """4008 comes after as many unsent frames as without batching: the frames of the message
    being written beyond its first still count against ``max_send_queue``."""
    import logging
    from types import SimpleNamespace

    from streamhil._channel import Channel
    from streamhil.protocol import ServerSession
    from streamhil_server.connection import Connection

    limit = 10
    connection = Connection.__new__(Connection)
    connection.settings = ServerSettings(max_send_queue=limit)
    connection.runtime = SimpleNamespace(slow_consumers=0)
    connection._log = logging.LoggerAdapter(logging.getLogger("test"), {})
    connection._outgoing = Channel(limit)
    connection._queued_bytes = 0
    connection._sending = in_flight  # the writer took these out of the queue and writes them
    connection.subscriptions = {}
    connection._tg = None
    connection.slow = False
    connection.session = ServerSession()
    connection.session.receive_text(orjson.dumps({"type": "hello", "protocol_version": 1}).decode())
    connection.session.send_welcome(epoch="e")
    connection.session.data_to_send()
    queued = 0
    while not connection.slow:
        connection.session.send_event_frame(orjson.dumps({"type": "event", "n": queued}).decode())
        connection._flush()
        queued += not connection.slow
    # unsent at the close: the queue's limit, plus the one frame being written (if any), as
    # when every frame is a message of its own
    assert queued + in_flight == limit + (1 if in_flight else 0)
