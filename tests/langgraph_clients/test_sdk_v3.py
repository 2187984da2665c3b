"""LangGraph's v3 thread protocol driven by ``langgraph-sdk``'s own ``client.threads.stream(...)``
(unchanged) over SSE and WebSocket against a real ``streamhil-server``: run.start → interrupt →
run.respond → output, two parallel interrupts, and a socket cut mid-run through a proxy."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

pytest.importorskip("langgraph_sdk")
pytest.importorskip("websockets")
from langgraph_sdk import get_client  # noqa: E402

from .conftest import KEY_ALICE, KEY_BOB, LangGraphServer  # noqa: E402

pytestmark = pytest.mark.anyio
AUTH = {"x-api-key": KEY_ALICE}  # the WebSocket upgrade carries only these headers, not api_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # langgraph-sdk is built on asyncio


@pytest.fixture
async def client(lg_server: LangGraphServer) -> Any:
    client = get_client(url=lg_server.base_url, api_key=KEY_ALICE)
    yield client
    await client.aclose()


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_start_interrupt_respond_output(client: Any, transport: str) -> None:
    async with client.threads.stream(assistant_id="approve", transport=transport, headers=AUTH) as thread:
        await thread.run.start(input={"request": "order 7"})
        seen = [values async for values in thread.values]
        # The client yields the stored state (empty if the run has not saved its input yet),
        # then the run's snapshots, and ends when its separate lifecycle connection reports the
        # interrupt, which may overtake the last snapshot on the shared stream for a run this
        # fast (docs/langgraph-clients.md): what it saw are states of this run, and the thread's
        # state has the step's result.
        assert seen and all(set(v) <= {"request", "proposal"} and v.get("request", "order 7") == "order 7" for v in seen)
        assert all("__interrupt__" not in v for v in seen)
        assert thread.interrupted
        paused = await client.threads.get_state(thread.thread_id)
        assert paused["values"]["proposal"] == "Refund the customer for: order 7"
        assert paused["next"] == ["human_approval"]
        [asked] = thread.interrupts
        assert asked["value"]["question"] == "Approve this action?" and asked["namespace"] == []
        await thread.run.respond("approve")
        output = await thread.output.with_timeout(10)
    assert output["outcome"] == "done: Refund the customer for: order 7"
    state = await client.threads.get_state(thread.thread_id)
    assert state["values"] == output and state["next"] == []
    # the same thread, as the classic API and every other watcher sees it
    assert (await client.threads.get(thread.thread_id))["metadata"]["graph_id"] == "approve"


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_parallel_interrupts_answered_one_by_one(client: Any, transport: str) -> None:
    async with client.threads.stream(assistant_id="parallel", transport=transport, headers=AUTH) as thread:
        await thread.run.start(input={})
        async for _ in thread.values:
            pass  # ends when the first interrupt is announced
        pending = (await client.threads.get(thread.thread_id))["interrupts"]
        asked = {i["value"]["reviewer"]: i["id"] for group in pending.values() for i in group}
        assert set(asked) == {"legal", "finance"}
        assert thread.interrupts[0]["interrupt_id"] == asked["legal"]  # announced in order
        await thread.run.respond("signed", interrupt_id=asked["legal"])
        # the run that delivered the answer pauses again on finance, which keeps its id
        [run] = [r for r in await client.runs.list(thread.thread_id) if r["status"] in ("pending", "running")] or [
            (await client.runs.list(thread.thread_id))[0]]
        await client.runs.join(thread.thread_id, run["run_id"])
        still = (await client.threads.get(thread.thread_id))["interrupts"]
        assert [i["id"] for group in still.values() for i in group] == [asked["finance"]]
        assert asked["finance"] in [i["interrupt_id"] for i in thread.interrupts]
        await thread.run.respond("5k", interrupt_id=asked["finance"])
        output = await thread.output.with_timeout(10)
    state = await client.threads.get_state(thread.thread_id)
    assert state["next"] == [] and state["values"] == output


async def test_sse_subscribes_to_a_thread_made_before_its_first_run(client: Any, lg_server: LangGraphServer) -> None:
    """An SSE subscription to a thread made with ``POST /threads`` that has not run yet is
    accepted, as on the WebSocket (it used to be a 404 until the first run), and sees that run."""
    from langgraph_sdk.stream.transport import ProtocolSseTransport

    tid = (await client.threads.create())["thread_id"]
    early = ProtocolSseTransport(client=client.http.client, thread_id=tid, headers=AUTH)
    try:
        watcher = early.open_event_stream({"channels": ["lifecycle"]})
        await asyncio.wait_for(watcher.ready, 10)  # the server answered 200, before any run
        async with client.threads.stream(tid, assistant_id="approve", transport="sse", headers=AUTH) as thread:
            await thread.run.start(input={"request": "order 8"})
            async for _ in thread.values:
                pass
            assert thread.interrupted
            await thread.run.respond("approve")
            output = await thread.output.with_timeout(10)
        assert output["outcome"] == "done: Refund the customer for: order 8"
        lifecycle = []
        async for event in watcher.events:
            lifecycle.append(event["params"]["data"]["event"])
            if lifecycle[-1] == "completed":
                break
        assert lifecycle == ["running", "interrupted", "running", "completed"]
    finally:
        await early.close()
    # an id nobody holds yet is accepted too (its first run.start will create it); someone
    # else's thread is not
    unborn = ProtocolSseTransport(client=client.http.client, thread_id="sse-unborn-thread", headers=AUTH)
    try:
        await asyncio.wait_for(unborn.open_event_stream({"channels": ["lifecycle"]}).ready, 10)
    finally:
        await unborn.close()
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers={"x-api-key": KEY_BOB}) as bob:
        bobs = (await bob.post("/threads", json={})).json()["thread_id"]
    refused = await client.http.client.post(f"/threads/{bobs}/stream/events", json={"channels": ["lifecycle"]}, headers=AUTH)
    assert refused.status_code == 404


async def test_stale_answer_is_refused_with_a_protocol_error(lg_server: LangGraphServer) -> None:
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=AUTH) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        start = {"id": 1, "method": "run.start", "params": {"assistant_id": "approve", "input": {"request": "x"}}}
        started = (await raw.post(f"/threads/{tid}/commands", json=start)).json()
        assert started["type"] == "success" and started["result"]["run_id"]
        assert isinstance(started["meta"]["applied_through_seq"], int)
        await raw.get(f"/threads/{tid}/runs/{started['result']['run_id']}/join")
        iid = (await raw.get(f"/threads/{tid}/state")).json()["interrupts"][0]["id"]
        respond = {"id": 2, "method": "input.respond", "params": {"interrupt_id": iid, "namespace": [], "response": "approve"}}
        assert (await raw.post(f"/threads/{tid}/commands", json=respond)).json()["type"] == "success"
        again = (await raw.post(f"/threads/{tid}/commands", json={**respond, "id": 3})).json()
        assert again["type"] == "error" and again["id"] == 3 and "already answered" in again["message"]
        unknown = (await raw.post(f"/threads/{tid}/commands", json={"id": 4, "method": "state.fork", "params": {}})).json()
        assert unknown["error"] == "unknown_command"
        bogus = (await raw.post(f"/threads/{tid}/commands", json={"id": 5, "method": "input.respond", "params": {"interrupt_id": "nope", "response": 1}})).json()
        assert bogus["error"] == "no_such_interrupt"
        without_id = (await raw.post(f"/threads/{tid}/commands", json={"id": 6, "method": "input.respond", "params": {"response": 1}})).json()
        assert without_id["error"] == "invalid_argument" and "interrupt_id" in without_id["message"] and "None" not in without_id["message"]


async def test_a_command_without_an_unsigned_integer_id_is_refused_and_not_run(lg_server: LangGraphServer) -> None:
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=AUTH) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        start = {"method": "run.start", "params": {"assistant_id": "approve", "input": {"request": "x"}}}
        for bad in ({}, {"id": "a"}, {"id": -1}, {"id": True}, {"id": 1.5}, {"id": None}):
            reply = (await raw.post(f"/threads/{tid}/commands", json={**start, **bad})).json()
            assert reply["type"] == "error" and reply["id"] is None and reply["error"] == "invalid_argument", bad
            assert "id" in reply["message"]
        assert (await raw.get(f"/threads/{tid}/runs")).json() == []  # none of them ran
        assert (await raw.post(f"/threads/{tid}/commands", json={**start, "id": 0})).json()["type"] == "success"


async def test_integers_wider_than_64_bits_are_refused_on_the_socket_and_over_http(lg_server: LangGraphServer) -> None:
    from websockets.asyncio.client import connect

    wide = "123456789012345678901234567890"
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=AUTH) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        command = '{"id": 7, "method": "run.start", "params": {"assistant_id": "approve", "input": {"request": %s}}}' % wide
        url = lg_server.base_url.replace("http://", "ws://") + f"/threads/{tid}/stream/events?token={KEY_ALICE}"
        async with connect(url) as ws:
            await ws.send(command)
            reply = orjson.loads(await ws.recv())
            assert reply["type"] == "error" and reply["id"] == 7 and reply["error"] == "invalid_argument"
            assert "params.input.request" in reply["message"] and "64 bits" in reply["message"]
            await ws.send(command.replace(wide, "1e30"))  # a float literal that large is a float
            assert orjson.loads(await ws.recv())["type"] == "success"
        tid2 = (await raw.post("/threads", json={})).json()["thread_id"]
        over_http = await raw.post(f"/threads/{tid2}/commands", content=command.encode(), headers={"content-type": "application/json"})
        assert "64 bits" in over_http.text
        assert (await raw.get(f"/threads/{tid2}/runs")).json() == []  # nothing ran


async def test_websocket_refuses_a_missing_key_with_4401(lg_server: LangGraphServer) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    url = lg_server.base_url.replace("http://", "ws://") + "/threads/any/stream/events"
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    tid = "bobs-thread"
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers={"x-api-key": KEY_BOB}) as bob:
        made = await bob.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approve", "input": {}, "if_not_exists": "create"})
        assert made.status_code == 200
    own = url.replace("/threads/any/", "/threads/unborn-thread/")
    async with connect(own + f"?token={KEY_ALICE}") as ws:  # a token where headers cannot go
        await ws.send('{"id": 1, "method": "subscription.subscribe", "params": {"channels": ["lifecycle"]}}')
        reply = orjson.loads(await ws.recv())
        assert reply["type"] == "success" and reply["id"] == 1  # a thread its run.start will create
    other = url.replace("/threads/any/", f"/threads/{tid}/")
    async with connect(other + f"?token={KEY_ALICE}") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404  # someone else's thread


class CuttingProxy:
    """A TCP proxy that aborts every WebSocket passing through it (both sides, no close frame)
    the first time a client sends bytes containing ``cut_when_sent`` — before forwarding them.

    (WebSocket frames are compressed, so the cut is keyed on the plain HTTP command instead.)
    """

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cut_when_sent: bytes | None = None
        self.cuts = 0
        self.sockets: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.handlers: set[asyncio.Task[None]] = set()
        self.server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> CuttingProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.handlers):
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        await self.server.wait_closed()

    def _cut(self) -> None:
        self.cuts += len(self.sockets)
        for client_side, server_side in self.sockets:
            client_side.transport.abort()
            server_side.transport.abort()
        self.sockets.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            await self._proxy(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()  # the proxy is closing
        finally:
            self.handlers.discard(task)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool) -> None:
            first = True
            try:
                while data := await src.read(65536):
                    if upstream and first and b"upgrade: websocket" in data.lower():
                        self.sockets.append((writer, up_writer))
                    first = False
                    if upstream and self.cut_when_sent is not None and self.cut_when_sent in data:
                        self.cut_when_sent = None
                        self._cut()
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()
                up_writer.transport.abort()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


async def test_a_socket_cut_mid_run_loses_and_repeats_nothing(lg_server: LangGraphServer) -> None:
    async with CuttingProxy(lg_server.base_url) as proxy, get_client(url=proxy.url, api_key=KEY_ALICE) as client:
        async with client.threads.stream(assistant_id="approve", transport="websocket", headers=AUTH) as thread:
            await thread.run.start(input={"request": "order 9"})
            before = []
            async for event in thread.subscribe(["values", "updates"]):
                before.append(event)  # ends when the run pauses; the shared event socket now carries both channels
            assert thread.interrupted
            # cut the event sockets just as the answer (an HTTP command) reaches the server:
            # the resumed run's events are published while the client has no socket
            proxy.cut_when_sent = b'"method":"input.respond"'
            events = thread.subscribe(["values", "updates"])
            await thread.run.respond("approve")
            got = []
            async for event in events:
                got.append(event)
                if event["method"] == "values" and "outcome" in event["params"]["data"]:
                    break
            output = await thread.output.with_timeout(10)
        assert proxy.cuts == 2  # the shared event stream and the lifecycle watcher
    # The first subscription ends when the client learns the run paused, which may come before
    # it yielded the run's events (a fast run): the second one then starts with them. Together
    # they hold every event once.
    seen = before + got
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(set(seqs)) and len({e["event_id"] for e in seen}) == len(seen)  # nothing repeated
    assert [(e["method"], e["params"].get("node")) for e in seen if e["method"] == "updates"] == [
        ("updates", "propose"), ("updates", "human_approval"), ("updates", "execute"),
    ]  # nothing lost, the update that was cut included
    assert got[-1]["params"]["data"] == output and output["outcome"].startswith("done")
    # the run's full log (replayed over SSE from the same cursor) has exactly these events
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=AUTH) as raw:
        first = got[0]["seq"] - 1
        async with raw.stream("POST", f"/threads/{thread.thread_id}/stream/events",
                              json={"channels": ["values", "updates"], "since": first}) as response:
            replay = []
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    replay.append(orjson.loads(line[6:]))
                    if len(replay) == len(got):
                        break
    assert [(e["seq"], e["method"]) for e in replay] == [(e["seq"], e["method"]) for e in got]


async def _read_events(raw: httpx.AsyncClient, tid: str, body: dict[str, Any], until: str) -> list[dict[str, Any]]:
    events = []
    async with raw.stream("POST", f"/threads/{tid}/stream/events", json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(orjson.loads(line[6:]))
                if events[-1]["method"] == "lifecycle" and events[-1]["params"]["data"]["event"] == until:
                    return events
    return events


async def test_since_resumes_between_two_events_of_one_log_entry(lg_server: LangGraphServer) -> None:
    """Two interrupts announced by one log entry are two v3 events with their own seq: a cursor
    between them replays exactly the second. Without ``since``: the latest run from its start."""
    async with httpx.AsyncClient(base_url=lg_server.base_url, headers=AUTH) as raw:
        tid = (await raw.post("/threads", json={})).json()["thread_id"]
        start = {"id": 1, "method": "run.start", "params": {"assistant_id": "parallel", "input": {}}}
        applied = (await raw.post(f"/threads/{tid}/commands", json=start)).json()["meta"]["applied_through_seq"]
        everything = await _read_events(raw, tid, {"channels": ["lifecycle", "input"], "since": applied}, "interrupted")
        asked = [e for e in everything if e["method"] == "input.requested"]
        assert len(asked) == 2 and asked[1]["seq"] == asked[0]["seq"] + 1
        assert len({e["event_id"] for e in everything}) == len(everything)
        rest = await _read_events(raw, tid, {"channels": ["lifecycle", "input"], "since": asked[0]["seq"]}, "interrupted")
        assert [e["event_id"] for e in rest] == [e["event_id"] for e in everything[everything.index(asked[1]):]]
        latest = await _read_events(raw, tid, {"channels": ["lifecycle", "input"]}, "interrupted")
        assert [e["event_id"] for e in latest] == [e["event_id"] for e in everything]
        with_values = await _read_events(raw, tid, {"channels": ["values", "lifecycle"], "since": applied}, "interrupted")
        assert all("__interrupt__" not in e["params"]["data"] for e in with_values if e["method"] == "values")
        bad = await raw.post(f"/threads/{tid}/stream/events", json={"channels": ["nope"]})
        assert bad.status_code == 422
