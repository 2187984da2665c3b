"""Fairness limits (issue 8, item 5): one client or identity cannot starve the others. Each limit
answers with a documented error code (or slows the reader), never a half-applied command."""

from __future__ import annotations

from typing import Any

import pytest
from streamhil_server import ServerSettings
from streamhil_server.limits import FailedAttempts, FrameRate, RunShares
from streamhil_server.runs import RunManager

from .conftest import LOCAL_WS, connect
from .graphs import Gate, gated
from .wire import Closed, Wire

# --- the pure state machines -------------------------------------------------------------


def test_frame_rate_is_a_token_bucket() -> None:
    rate = FrameRate(rate=10, burst=3)
    assert [rate.delay(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rate.delay(0.0) == pytest.approx(0.1)  # the 4th frame waits for one token
    assert rate.delay(0.0) == pytest.approx(0.2)
    rate.delay(10.0)  # refilled to the burst, not beyond
    assert rate.tokens == pytest.approx(2.0)


def test_failed_attempts_lock_an_address_then_refill() -> None:
    attempts = FailedAttempts(burst=3, per_minute=6)  # one attempt back every 10 s
    for _ in range(3):
        assert not attempts.locked("1.2.3.4", 0.0)
        attempts.failed("1.2.3.4", 0.0)
    assert attempts.locked("1.2.3.4", 0.0)
    assert not attempts.locked("5.6.7.8", 0.0)  # other addresses are not touched
    assert attempts.locked("1.2.3.4", 9.0)
    assert not attempts.locked("1.2.3.4", 10.0)


def test_failed_attempts_remember_a_bounded_number_of_addresses() -> None:
    attempts = FailedAttempts(burst=1, per_minute=1, max_addresses=2)
    for address in ("a", "b", "c"):
        attempts.failed(address, 0.0)
    assert not attempts.locked("a", 0.0)  # forgotten: the least recently failing
    assert attempts.locked("b", 0.0) and attempts.locked("c", 0.0)


def test_run_shares_count_and_release() -> None:
    shares = RunShares(max_runs=2, max_concurrent=1)
    shares.add("alice")
    assert not shares.full("alice")
    shares.add("alice")
    assert shares.full("alice") and not shares.full("bob")
    slot = shares.slot("alice")
    assert shares.slot("alice") is slot
    shares.remove("alice")
    shares.remove("alice")
    assert shares.count("alice") == 0 and shares.slot("alice") is not slot  # dropped when idle


# --- over the wire -------------------------------------------------------------------------


def test_commands_beyond_the_in_flight_limit_are_refused(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate()
    real = RunManager.get_state

    async def slow_get_state(self: RunManager, *args: Any) -> Any:
        await gate.wait()
        return await real(self, *args)

    monkeypatch.setattr(RunManager, "get_state", slow_get_state)
    settings = ServerSettings(max_commands_in_flight=4)
    with make_client({"gated": gated(Gate())}, settings=settings) as client, connect(client) as wire:
        assert wire.welcome["limits"]["max_commands_in_flight"] == 4
        tid = wire.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])["thread_id"]
        wire.until(lambda f: f.get("event") == "custom")
        ids = [wire.send("get_state", thread_id=tid) for _ in range(6)]  # one lane: they wait in turn
        refused = [wire.answer(i) for i in ids[4:]]
        for err in refused:
            assert err["type"] == "error" and err["code"] == "too_many_requests"
            assert err["details"] == {"max_commands_in_flight": 4}
        wire.call(gate.open)
        assert all(wire.answer(i)["type"] == "reply" for i in ids[:4])
        wire.request("ping")  # the connection goes on


def test_runs_beyond_the_identity_limit_are_refused_and_create_nothing(make_client: Any) -> None:
    gate = Gate()
    settings = ServerSettings(max_runs_per_identity=2)
    with make_client({"gated": gated(gate)}, settings=settings) as client:
        with connect(client) as alice, connect(client, "bob-token") as bob:
            tids = [alice.request("start_run", graph="gated", input={"n": 0})["thread_id"] for _ in range(2)]
            refused = alice.error("start_run", graph="gated", thread_id="t-refused", input={"n": 0})
            assert refused["code"] == "too_many_runs" and refused["details"] == {"max_runs_per_identity": 2}
            assert alice.error("get_state", thread_id="t-refused")["code"] == "not_found"  # nothing created
            assert len(alice.request("list_threads")["threads"]) == 2
            # another identity is not held back by alice's runs
            other = bob.request("start_run", graph="gated", input={"n": 0})["thread_id"]
            alice.call(gate.open)
            for tid in tids:
                assert alice.run_end(tid)["event"] == "run_interrupted"
            assert bob.run_end(other)["event"] == "run_interrupted"
            # the runs ended: alice may start and resume again
            alice.request("resume", thread_id=tids[0], value="yes")
            again = alice.request("start_run", graph="gated", input={"n": 0})["thread_id"]
            assert alice.run_end(again)["event"] == "run_interrupted"


def test_each_identity_gets_a_fair_share_of_run_workers(make_client: Any) -> None:
    gate = Gate()
    settings = ServerSettings(max_concurrent_runs_per_identity=1)
    with make_client({"gated": gated(gate)}, settings=settings) as client:
        with connect(client) as alice, connect(client, "bob-token") as bob:
            first = alice.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
            alice.until(lambda f: f.get("event") == "custom")
            second = alice.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
            bobs = bob.request("start_run", graph="gated", input={"n": 0}, stream_modes=["custom"])
            bob.until(lambda f: f.get("event") == "custom")  # bob's run executes at once...
            alice.request("ping")
            # ...while alice's second run waits for her slot: it has not even started
            assert not [e for e in alice.events if e["run_id"] == second["run_id"]]
            alice.call(gate.open)
            assert alice.run_end(first["thread_id"])["event"] == "run_interrupted"
            assert alice.run_end(second["thread_id"])["event"] == "run_interrupted"
            assert bob.run_end(bobs["thread_id"])["event"] == "run_interrupted"


def test_failed_authentications_lock_the_address_out(make_client: Any) -> None:
    settings = ServerSettings(auth_failures_burst=3, auth_failures_per_minute=1)

    def attempt(client: Any, token: str) -> int | None:
        with client.websocket_connect(LOCAL_WS) as ws:
            wire = Wire(ws)
            wire.send_json({"type": "hello", "protocol_version": 1, "token": token})
            with pytest.raises(Closed) as closed:
                while True:
                    wire.recv()
            return closed.value.code

    with make_client({"gated": gated(Gate())}, settings=settings) as client:
        assert [attempt(client, "wrong") for _ in range(3)] == [4401, 4401, 4401]
        assert attempt(client, "wrong") == 4429
        assert attempt(client, "alice-token") == 4429  # refused before any token is compared


def test_history_pages_are_cut_at_the_reply_limit(make_client: Any) -> None:
    from streamhil_server.demo_graphs import demo_graphs

    settings = ServerSettings(max_reply_bytes=1)  # every page holds one checkpoint
    with make_client(demo_graphs(), settings=settings) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        seen: list[str] = []
        before = None
        while True:
            page = wire.request("get_history", thread_id=tid, limit=50, **({"before": before} if before else {}))
            assert len(page["history"]) == 1
            seen.append(page["history"][0]["checkpoint_id"])
            before = page["next_before"]
            if before is None:
                break
        everything = wire.request("get_history", thread_id=tid, limit=50)
        assert len(seen) > 2 and len(set(seen)) == len(seen)
    with make_client(demo_graphs()) as client, connect(client) as wire:
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        everything = wire.request("get_history", thread_id=tid, limit=50)
        assert everything["next_before"] is None and len(everything["history"]) == len(seen)
        first = wire.request("get_history", thread_id=tid, limit=2)
        assert len(first["history"]) == 2 and first["next_before"] == first["history"][-1]["checkpoint_id"]
