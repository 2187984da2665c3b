"""LangGraph's v3 thread protocol (``client.threads.stream(...)`` in langgraph-sdk 0.4, the
``@langchain/react`` ``useStream``): commands at ``POST /threads/{id}/commands``, events at
``POST /threads/{id}/stream/events`` (SSE) or a WebSocket at the same path.

Events are the thread's hub log translated per subscriber: ``run_started`` → ``lifecycle
running``, the terminal events → ``lifecycle completed|interrupted|failed``, each pending
interrupt → ``input.requested {interrupt_id, payload, value}``, ``values`` (without
``__interrupt__``), ``updates`` (one event per node), ``custom``, ``tasks``, ``checkpoints``.
One hub event may become several v3 events (one ``updates`` per node, one ``input.requested``
per interrupt), so each v3 event's ``seq`` is ``hub_seq * 1000 + k`` (``k`` = 1, 2, ...): unique
and increasing, so ``since`` (which excludes ``seq <= since``) can resume between two events of one
hub event. ``event_id`` is ``epoch:seq``, unique across restarts. ``applied_through_seq`` in
command replies is on the same scale. A subscription without ``since`` replays from the start of
the thread's latest run.
"""

from __future__ import annotations

from dataclasses import dataclass

import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from streamhil.protocol import ErrorCode, EventKind
from streamhil.protocol.codec import loads_body, nesting_problem, wide_integer_problem

from ..errors import CommandError, not_found, storage_unavailable
from ..hub import CursorError, Subscription
from ..runtime import Runtime
from .http_access import HTTP_BUSY_HINT, identify, invalid, json_response, read_json
from .langgraph_runs import LangGraphRuns, nothing_to_resume
from .langgraph_views import for_surface, lc_values

__all__ = ["LangGraphV3", "translate", "EventFilter"]

_LIFECYCLE = {EventKind.RUN_DONE: "completed", EventKind.RUN_INTERRUPTED: "interrupted", EventKind.RUN_ERROR: "failed", EventKind.RUN_CANCELLED: "failed"}
_PASS_THROUGH = {"values", "custom", "tasks", "checkpoints"}
_CHANNELS = frozenset({"values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks", "custom"})
_INTERRUPT_ID = re.compile(r"^[0-9a-f]{32}$")
_HEARTBEAT = 5.0
_MAX_QUEUE = 10_000
_WS_CLOSE_CODES = {ErrorCode.UNAUTHENTICATED: 4401, ErrorCode.TOO_MANY_REQUESTS: 4429}
"""Refusals of the WebSocket's upgrade (after accept): ``4000 + HTTP status``; others 4404."""
SEQ_SCALE = 1000
"""v3 ``seq`` = hub ``seq`` * SEQ_SCALE + the event's position among those of its hub event."""


# --- translation -------------------------------------------------------------------------------


def translate(frame: Mapping[str, Any], epoch: str) -> Iterator[dict[str, Any]]:
    """The v3 events of one hub event (a decoded ``/ws`` event frame)."""
    kind, seq, data = frame.get("event"), frame.get("seq"), frame.get("data")
    ns = list(frame.get("ns") or [])
    stamp = int(time.time() * 1000)
    count = 0

    def event(method: str, payload: Any, namespace: list[str], node: str | None = None) -> dict[str, Any]:
        nonlocal count
        params: dict[str, Any] = {"namespace": namespace, "timestamp": stamp, "data": payload}
        if node is not None:
            params["node"] = node
        count += 1
        v3_seq = int(seq or 0) * SEQ_SCALE + min(count, SEQ_SCALE - 1)
        return {"type": "event", "event_id": f"{epoch}:{v3_seq}", "seq": v3_seq, "method": method, "params": params}

    if kind == EventKind.RUN_STARTED:
        yield event("lifecycle", {"event": "running", "graph_name": (data or {}).get("graph")}, [])
    elif kind == EventKind.RUN_CANCELLED and isinstance(data, dict) and data.get("continued_by"):
        return  # cut by a restart and continued: to a LangGraph client the run goes on (as its server retries it)
    elif kind in _LIFECYCLE:
        payload: dict[str, Any] = {"event": _LIFECYCLE[kind]}
        if kind == EventKind.RUN_ERROR and isinstance(data, dict):
            error = data.get("error")
            payload["error"] = error.get("message") if isinstance(error, dict) else str(error)
        elif kind == EventKind.RUN_CANCELLED:
            payload["error"] = f"run cancelled ({(data or {}).get('reason', 'cancelled')})"
        yield event("lifecycle", payload, [])
    elif kind == EventKind.INTERRUPT and isinstance(data, dict):
        for item in data.get("interrupts") or ():
            body = {"interrupt_id": item["id"], "payload": item.get("value"), "value": item.get("value"),
                    "node": item.get("node"), "task_id": item.get("task_id")}
            yield event("input.requested", body, list(item.get("ns") or []))
    elif kind == "updates" and isinstance(data, dict):
        for node, update in data.items():
            if node != "__interrupt__":
                yield event("updates", lc_values(update), ns, node)
    elif kind == "values" and isinstance(data, dict):
        yield event("values", lc_values({k: v for k, v in data.items() if k != "__interrupt__"}), ns)
    elif kind in _PASS_THROUGH:
        yield event(str(kind), {"payload": data} if kind == "custom" else data, ns)


class EventFilter:
    """A subscription's ``{channels, namespaces?, depth?}``."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            raise invalid("channels must be a non-empty list of channel names", "channels")
        for channel in channels:
            if channel not in _CHANNELS and not channel.startswith("custom:"):
                raise invalid(f"unknown channel {channel!r}", "channels")
        namespaces = params.get("namespaces")
        if namespaces is not None and not (
            isinstance(namespaces, list) and all(isinstance(n, list) and all(isinstance(s, str) for s in n) for n in namespaces)
        ):
            raise invalid("namespaces must be a list of namespaces (lists of strings)", "namespaces")
        depth = params.get("depth")
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
            raise invalid("depth must be an integer >= 0", "depth")
        self.channels = set(channels)
        self.namespaces: list[list[str]] | None = namespaces
        self.depth: int | None = depth

    def matches(self, event: Mapping[str, Any]) -> bool:
        method = event["method"]
        channel = "input" if method == "input.requested" else method
        if channel not in self.channels:
            return False
        if not self.namespaces:
            return True
        namespace = event["params"]["namespace"]
        for prefix in self.namespaces:
            if _prefix_match(namespace, prefix) and (self.depth is None or len(namespace) - len(prefix) <= self.depth):
                return True
        return False


def _prefix_match(namespace: list[str], prefix: list[str]) -> bool:
    if len(prefix) > len(namespace):
        return False
    for want, have in zip(prefix, namespace):
        if want != have and (":" in want or have.split(":", 1)[0] != want):
            return False
    return True


# --- one subscriber ----------------------------------------------------------------------------


class V3Subscriber:
    """A hub watcher that turns the thread's events into v3 events passing ``filter``; its sink
    never blocks (past ``_MAX_QUEUE`` waiting events it stops and reports an overflow)."""

    def __init__(
        self, epoch: str, event_filter: EventFilter, wake: Callable[[], None], allowed: Callable[[], bool],
        since: int = -1,
    ) -> None:
        self.epoch = epoch
        self.since = since
        self.filter = event_filter
        self.allowed = allowed
        self.queue: deque[dict[str, Any]] = deque()
        self.overflowed = False
        self.subscription: Subscription | None = None
        self._wake = wake

    def sink(self, frame: str) -> None:
        if self.overflowed or not self.allowed():
            return
        for event in translate(orjson.loads(frame), self.epoch):
            if event["seq"] > self.since and self.filter.matches(event):
                self.queue.append(event)
        if len(self.queue) > _MAX_QUEUE:
            self.overflowed = True
            self.close()
        self._wake()

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()


def _reply(command_id: Any, result: Any, hub_seq: int | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "success", "id": command_id, "result": result}
    if hub_seq is not None:  # every event of that hub seq is applied
        reply["meta"] = {"applied_through_seq": hub_seq * SEQ_SCALE + SEQ_SCALE - 1}
    return reply


_V3_CODES = {
    ErrorCode.UNAUTHENTICATED: "permission_denied",
    ErrorCode.FORBIDDEN: "permission_denied",
    ErrorCode.STORAGE_UNAVAILABLE: "unknown_error",  # (streamhil_code says which)
}


@dataclass
class _SocketState:
    """What a v3 WebSocket's reader and writer share."""

    wake: anyio.Event
    next_id: int = 1


def _error(command_id: Any, exc: CommandError) -> dict[str, Any]:
    exc = for_surface(exc, HTTP_BUSY_HINT)
    code = _V3_CODES.get(exc.code, "invalid_argument")
    if exc.code == ErrorCode.NOT_FOUND:
        resource = str((exc.details or {}).get("resource"))
        code = {"interrupt": "no_such_interrupt", "run": "no_such_run", "checkpoint": "no_such_checkpoint"}.get(resource, "invalid_argument")
    return {"type": "error", "id": command_id, "error": code, "message": exc.message, "streamhil_code": exc.code.value}


# --- the surface -------------------------------------------------------------------------------


class LangGraphV3:
    """The v3 endpoints: commands over HTTP or in band on a socket; events over SSE or WebSocket."""

    def __init__(self, runtime: Runtime, runs: LangGraphRuns) -> None:
        self.runtime = runtime
        self.runs = runs

    # --- commands ------------------------------------------------------------------------------

    async def execute(self, identity: str, thread_id: str, command: Any) -> dict[str, Any]:
        """Run one command envelope ``{id, method, params}``; the reply envelope."""
        if not isinstance(command, dict) or not isinstance(command.get("method"), str):
            return {"type": "error", "id": None, "error": "invalid_argument", "message": "a command is {id, method, params}"}
        command_id, method = command.get("id"), command["method"]
        if not isinstance(command_id, int) or isinstance(command_id, bool) or command_id < 0:
            return {"type": "error", "id": None, "error": "invalid_argument",
                    "message": f"a command's id must be a non-negative integer, got {command_id!r}; nothing was done"}
        params = command.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise invalid("params must be an object", "params")
            if method == "run.start":
                return await self._run_start(identity, thread_id, command_id, params)
            if method == "input.respond":
                return await self._respond(identity, thread_id, command_id, params)
            if method in ("subscription.subscribe", "subscription.unsubscribe", "subscription.reconnect"):
                return {"type": "error", "id": command_id, "error": "not_supported",
                        "message": f"{method} is sent on the WebSocket at /threads/{{id}}/stream/events"}
            return {"type": "error", "id": command_id, "error": "unknown_command", "message": f"unknown command {method!r}"}
        except CommandError as exc:
            return _error(command_id, exc)
        except Exception as exc:
            unavailable = storage_unavailable(exc)
            if unavailable is None:
                raise
            return _error(command_id, unavailable)

    async def _run_start(self, identity: str, thread_id: str, command_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        body = {
            "assistant_id": params.get("assistant_id"),
            "input": params.get("input"),
            "config": params.get("config"),
            "metadata": params.get("metadata"),
            "multitask_strategy": params.get("multitask_strategy") or params.get("multitaskStrategy") or "reject",
            "stream_mode": ["values", "updates", "custom"],
            "if_not_exists": "create",
        }
        launch = await self.runs.launch(identity, thread_id, body, feed=False)
        return _reply(command_id, {"run_id": launch.accepted.run_id}, launch.accepted.seq)

    async def _respond(self, identity: str, thread_id: str, command_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("responses") if "responses" in params else [params]
        if not isinstance(items, list) or not items:
            raise invalid("responses must be a non-empty list", "responses")
        answers: dict[str, Any] = {}
        for i, item in enumerate(items):
            interrupt_id = item.get("interrupt_id") if isinstance(item, dict) else None
            where = "interrupt_id" if "responses" not in params else f"responses[{i}].interrupt_id"
            if interrupt_id is None:
                raise invalid("input.respond needs the interrupt_id of the interrupt it answers", where)
            if not isinstance(interrupt_id, str) or not _INTERRUPT_ID.match(interrupt_id):
                raise CommandError(ErrorCode.NOT_FOUND, f"no interrupt {interrupt_id!r}", path=f"responses[{i}].interrupt_id",
                                   details={"resource": "interrupt"})
            answers[interrupt_id] = item.get("response")
        if self.runs.thread_graph(identity, thread_id, {}) is None:  # made with POST /threads, never run
            raise nothing_to_resume(thread_id, answers)
        thread = self.runtime.runs.visible(identity, thread_id)
        command: dict[str, Any] = {"resume": answers}
        for key in ("update", "goto"):
            if params.get(key) is not None:
                command[key] = params[key]
        body = {"assistant_id": thread.record.graph, "command": command, "stream_mode": ["values", "updates", "custom"]}
        launch = await self.runs.launch(identity, thread_id, body, feed=False)
        return _reply(command_id, {}, launch.accepted.seq)

    async def commands(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/commands``."""
        body = await read_json(request)
        return json_response(await self.execute(identity, request.path_params["thread_id"], body))

    # --- subscribing ---------------------------------------------------------------------------

    def _start_seq(self, thread_id: str, since: Any) -> int:
        """The hub seq to replay after."""
        if since is not None:
            if not isinstance(since, int) or isinstance(since, bool) or since < 0:
                raise invalid("since must be a seq number", "since")
            # the last hub event all of whose v3 events are <= since
            return max(0, min((since - SEQ_SCALE + 1) // SEQ_SCALE, self.runtime.hub.head(thread_id)))
        latest = self.runtime.run_records.of_thread(thread_id)
        return latest[0].first_seq if latest else self.runtime.hub.head(thread_id)

    async def _owned_or_unborn(self, identity: str, thread_id: str) -> bool:
        """The caller's thread, or an id nobody holds yet (nor made with ``POST /threads``, which
        another process may have done: its row is read again on a shared database)."""
        thread = self.runtime.runs.threads.get(thread_id)
        if thread is not None:
            return thread.record.owner == identity
        made = await self.runtime.thread_metadata.refresh(thread_id)
        return made is None or made.owner == identity

    async def _subscribe(self, identity: str, thread_id: str, params: Mapping[str, Any], wake: Callable[[], None]) -> V3Subscriber:
        """Watch the thread — one that does not exist yet too (a WebSocket client subscribes
        before its in-band ``run.start`` creates it); events reach it only while the thread is
        the caller's."""
        if not await self._owned_or_unborn(identity, thread_id):
            raise not_found("thread", thread_id)
        runs = self.runtime.runs
        since = params.get("since")
        subscriber = V3Subscriber(
            self.runtime.store.epoch, EventFilter(params), wake,
            lambda: (t := runs.threads.get(thread_id)) is not None and t.record.owner == identity,
            since if isinstance(since, int) and not isinstance(since, bool) else -1,
        )
        try:
            subscriber.subscription, _ = await self.runtime.hub.subscribe(thread_id, subscriber.sink, self._start_seq(thread_id, params.get("since")))
        except CursorError as exc:
            raise invalid(f"cannot replay: {exc}", "since") from None
        return subscriber

    async def stream_events(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/stream/events {channels, namespaces?, depth?, since?}``: SSE.

        Accepted for the caller's thread whether or not it has run yet (made with ``POST
        /threads``, or an id its first ``run.start`` will create), as on the WebSocket."""
        thread_id = request.path_params["thread_id"]
        params = await read_json(request)
        state = {"wake": anyio.Event()}
        subscriber = await self._subscribe(identity, thread_id, params, lambda: state["wake"].set())
        assert subscriber.subscription is not None
        subscription = subscriber.subscription

        async def body() -> Any:
            try:
                await subscription.go_live(anyio.lowlevel.checkpoint, max_buffer=_MAX_QUEUE, overflow=subscriber.close)
                while not subscriber.overflowed:
                    if subscriber.queue:  # what is waiting goes out in one write
                        chunk = []
                        while subscriber.queue:
                            event = subscriber.queue.popleft()
                            data = orjson.dumps(event, default=repr)
                            chunk.append(f"event: {event['method']}\nid: {event['seq']}\n".encode() + b"data: " + data + b"\n\n")
                        yield b"".join(chunk)
                    state["wake"] = anyio.Event()
                    with anyio.move_on_after(_HEARTBEAT) as scope:
                        await state["wake"].wait()
                    if scope.cancelled_caught:
                        yield b": heartbeat\n\n"
                yield b"event: error\ndata: " + orjson.dumps({"type": "error", "id": None, "error": "unknown_error", "message": "slow consumer: resubscribe with since"}) + b"\n\n"
            finally:
                subscriber.close()

        return StreamingResponse(body(), media_type="text/event-stream", headers={"cache-control": "no-store"})

    async def websocket(self, websocket: WebSocket) -> None:
        """``ws://…/threads/{thread_id}/stream/events``: commands in, replies and events out.

        Auth as on HTTP, plus ``?token=`` (neither browsers nor langgraph-sdk put ``x-api-key``
        on the upgrade). Refusals after the upgrade close with ``4000 + HTTP status``.
        """
        thread_id = websocket.path_params["thread_id"]
        if not self.runtime.origin_allowed(websocket):
            await websocket.close(code=4403)
            return
        await websocket.accept()
        try:
            identity = self._ws_identity(websocket)
            if not await self._owned_or_unborn(identity, thread_id):
                raise not_found("thread", thread_id)
        except CommandError as exc:
            await websocket.close(code=_WS_CLOSE_CODES.get(exc.code, 4404), reason=exc.message[:120])
            return
        outbox: deque[bytes | str] = deque()
        subscribers: dict[str, V3Subscriber] = {}
        state = _SocketState(wake=anyio.Event())

        def notify() -> None:
            state.wake.set()

        def send(message: dict[str, Any]) -> None:
            outbox.append(orjson.dumps(message, default=repr).decode())
            notify()

        async def writer() -> None:
            while True:
                # Every subscription's events in the thread's order (by seq), not one subscription
                # after another: a client rotating subscriptions (langgraph-sdk opens a wider one
                # before it drops the old) must not see a later event on one before an earlier
                # event on the other.
                ready: list[dict[str, Any]] = []
                for sub in list(subscribers.values()):
                    ready.extend(sub.queue)
                    sub.queue.clear()
                    if sub.overflowed:
                        await websocket.close(code=4008, reason="slow consumer: resubscribe with since")
                        return
                ready.sort(key=lambda event: event["seq"])
                outbox.extend(orjson.dumps(event, default=repr).decode() for event in ready)
                while outbox:
                    await websocket.send_text(outbox.popleft())  # type: ignore[arg-type]
                if any(s.queue for s in subscribers.values()):
                    continue
                state.wake = anyio.Event()
                await state.wake.wait()

        async def reader() -> None:
            while True:
                raw = await websocket.receive_text()
                try:
                    command = loads_body(raw)
                except orjson.JSONDecodeError:
                    send({"type": "error", "id": None, "error": "invalid_argument", "message": "a command must be JSON"})
                    continue
                # nested too deep (orjson could not store it), or an integer it would make a float
                wide = nesting_problem(command) or wide_integer_problem(raw, command)
                if wide is not None:
                    wide_id = command.get("id") if isinstance(command, dict) else None
                    send({"type": "error", "id": wide_id if isinstance(wide_id, int) else None,
                          "error": "invalid_argument", "message": f"{wide[1]}; nothing was done"})
                    continue
                method = command.get("method") if isinstance(command, dict) else None
                command_id = command.get("id") if isinstance(command, dict) else None
                if method == "subscription.subscribe":
                    try:
                        sub = await self._subscribe(identity, thread_id, command.get("params") or {}, notify)
                    except CommandError as exc:
                        send(_error(command_id, exc))
                        continue
                    sub_id = f"sub-{state.next_id}"
                    state.next_id += 1
                    subscribers[sub_id] = sub
                    assert sub.subscription is not None
                    backlog = len(sub.subscription.backlog)
                    send(_reply(command_id, {"subscription_id": sub_id, "replayed_events": backlog}))
                    await sub.subscription.go_live(anyio.lowlevel.checkpoint, max_buffer=_MAX_QUEUE, overflow=sub.close)
                elif method == "subscription.unsubscribe":
                    named = (command.get("params") or {}).get("subscription_id")
                    found = subscribers.pop(named, None) if isinstance(named, str) else None
                    if found is None:
                        send({"type": "error", "id": command_id, "error": "no_such_subscription", "message": f"no subscription {named!r}"})
                    else:
                        found.close()
                        send(_reply(command_id, {}))
                else:
                    send(await self.execute(identity, thread_id, command))

        try:
            async with anyio.create_task_group() as tg:

                async def run_then_stop(part: Callable[[], Any]) -> None:
                    try:
                        await part()
                    except (WebSocketDisconnect, RuntimeError):
                        pass  # the client left (or the socket is already closed)
                    finally:
                        tg.cancel_scope.cancel()

                tg.start_soon(run_then_stop, reader)
                tg.start_soon(run_then_stop, writer)
        finally:
            for sub in subscribers.values():
                sub.close()

    def _ws_identity(self, websocket: WebSocket) -> str:
        token = websocket.query_params.get("token") or websocket.query_params.get("api_key")
        return identify(self.runtime, websocket, token or None)
