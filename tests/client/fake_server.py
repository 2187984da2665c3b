"""A tiny streamhil server for SDK tests: websockets.asyncio.server + ServerSession.

Graphs are scripts: a list of steps, each ``("update", {node: data})`` or
``("ask", [(interrupt_id, node, question), ...])`` (several = parallel interrupts). Runs happen
at once inside the command handler, so every event is published before the next frame is read.
Test hooks: :meth:`drop_all` (abort TCP, no close frame), :meth:`close_all` (a close code),
:meth:`new_epoch`, :meth:`trim`, and faults (``replay_overlap``, ``skip_next_seq``).
Backpressure hooks: ``hold`` keeps commands unanswered until :meth:`release` (counting the most
ever unanswered on one connection, and closing with 4008 like the real server when the frames it
owes exceed ``max_send_queue``); ``slow_consumer_on_subscribe`` closes that many connections with
4008 as soon as they subscribe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from streamhil_client import backoff_delays

from streamhil.protocol import (
    Cancel,
    CloseCode,
    ErrorCode,
    GetHistory,
    GetHistoryResult,
    GetState,
    GetStateResult,
    GraphInfo,
    EdgeInfo,
    Hello,
    InterruptInfo,
    Limits,
    ListGraphs,
    ListGraphsResult,
    ListThreads,
    ListThreadsResult,
    Ping,
    PingResult,
    Resume,
    ResumeResult,
    ServerSession,
    SessionState,
    StartRun,
    StartRunResult,
    StateView,
    Subscribe,
    SubscribeResult,
    ThreadInfo,
    Unsubscribe,
    UnsubscribeResult,
    UpdateState,
    UpdateStateResult,
    encode_event,
)

TOKENS = {"alice-token": "alice", "bob-token": "bob"}

FAST = {"backoff": lambda: backoff_delays(initial=0.01, maximum=0.05, max_attempts=40), "proxy": None}
"""``open_client`` options for tests: reconnect at once, no proxy."""

GRAPHS: dict[str, list[tuple[str, Any]]] = {
    "publish": [
        ("update", {"draft": {"text": "Otters hold hands."}}),
        ("ask", [("i-a", "review", {"question": "Approve the draft?"})]),
        ("ask", [("i-b", "post", {"question": "Which channel?"})]),
        ("update", {"post": {"posted": True}}),
    ],
    "fanout": [
        ("ask", [("i-L", "legal", "Legal: sign?"), ("i-F", "finance", "Finance: budget?")]),
        ("update", {"merge": {"merged": True}}),
    ],
    "fanout_review": [  # parallel interrupts whose values are dicts (unhashable)
        ("ask", [("i-L", "legal", {"question": "Sign?"}), ("i-F", "finance", {"question": "Budget?"})]),
        ("update", {"merge": {"merged": True}}),
    ],
}


@dataclass(eq=False)
class FakeConn:
    ws: ServerConnection
    session: ServerSession
    identity: str | None = None
    subscriptions: set[str] = field(default_factory=set)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    commands: list[tuple[str, str | None]] = field(default_factory=list)  # (type, thread_id) received
    held: list[Any] = field(default_factory=list)  # commands received and not answered yet
    owed: int = 0  # frames the held commands will produce (replies + replayed events)

    async def flush(self) -> None:
        async with self.lock:
            for text in self.session.data_to_send():
                try:
                    await self.ws.send(text)
                except ConnectionClosed:
                    return


@dataclass(eq=False)
class FakeThread:
    thread_id: str
    graph: str
    owner: str
    log: list[str] = field(default_factory=list)  # log[i] is the frame of seq first_seq + i
    first_seq: int = 1
    seq: int = 0
    step: int = 0
    status: str = "idle"
    pending: dict[str, InterruptInfo] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)


class FakeServer:
    def __init__(self) -> None:
        self.epoch = "e-1"
        self.threads: dict[str, FakeThread] = {}
        self.conns: set[FakeConn] = set()
        self.runs = 0
        self.replay_overlap = 0
        self.skip_next_seq = False
        self.hellos = 0
        self.connected = anyio.Event()
        self.url = ""
        self.heartbeat_ms = 20_000
        self.ignore_pings = False
        self.drop_on: str | None = None
        self._hello_seen = anyio.Event()
        self.max_send_queue = 1000
        self.max_frame_bytes = 1_048_576  # what the server refuses (frame_too_large)
        self.announced_max_frame_bytes: int | None = None  # what its welcome says (None: the same)
        self.hold = False
        self.max_unanswered = 0
        self.overflows = 0
        self.slow_consumer_on_subscribe = 0
        self.sessions: list[FakeConn] = []  # every welcomed connection, in order
        self.received: list[Any] = []  # every command received, in order
        self._held_changed = anyio.Event()

    async def wait_held(self, count: int) -> None:
        """Wait until some connection holds ``count`` unanswered commands."""
        while not any(len(conn.held) >= count for conn in self.conns):
            await self._held_changed.wait()
            self._held_changed = anyio.Event()

    async def wait_overflow(self) -> None:
        """Wait until a connection was closed for overflowing its send queue."""
        while not self.overflows:
            await self._held_changed.wait()
            self._held_changed = anyio.Event()

    async def release(self) -> int:
        """Answer every held command, in order; returns how many."""
        answered = 0
        for conn in list(self.conns):
            held, conn.held, conn.owed = conn.held, [], 0
            for message in held:
                await getattr(self, f"on_{message.type.value}")(conn, message)
                answered += 1
            await conn.flush()
        return answered

    async def seed(self, thread_id: str, owner: str = "alice") -> FakeThread:
        """A ``publish`` thread paused at its first interrupt (4 events), made without a client."""
        thread = self.threads[thread_id] = FakeThread(thread_id, "publish", owner)
        await self.advance(thread, f"r-{thread_id}", "start", {})
        return thread

    async def wait_hellos(self, count: int) -> None:
        """Wait until ``count`` hellos have arrived in total."""
        while self.hellos < count:
            await self._hello_seen.wait()
            self._hello_seen = anyio.Event()

    # --- hooks ----------------------------------------------------------------------------

    def drop_all(self) -> None:
        """Cut every connection without a close frame (the client sees 1006)."""
        for conn in list(self.conns):
            conn.ws.transport.abort()
        self.conns.clear()
        self.connected = anyio.Event()

    async def close_all(self, code: CloseCode) -> None:
        for conn in list(self.conns):
            conn.session.fail(code)
            await conn.flush()
            await conn.ws.close(code, conn.session.close_reason)
        self.conns.clear()
        self.connected = anyio.Event()

    def new_epoch(self) -> None:
        """As after a restart with a lost event log: seqs of the old epoch mean nothing."""
        self.epoch = f"e-{int(self.epoch[2:]) + 1}"
        for thread in self.threads.values():
            thread.first_seq = thread.seq + 1
            thread.log.clear()

    def trim(self, thread_id: str, keep: int) -> None:
        thread = self.threads[thread_id]
        drop = max(0, len(thread.log) - keep)
        del thread.log[:drop]
        thread.first_seq += drop

    # --- connection -----------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        conn = FakeConn(ws, ServerSession(max_frame_bytes=self.max_frame_bytes))
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    conn.session.receive_bytes(frame)
                else:
                    conn.session.receive_text(frame)
                for message in conn.session.events_received():
                    await self.handle(conn, message)
                await conn.flush()
                if conn.session.state is SessionState.CLOSED:
                    await ws.close(conn.session.close_code or 1000, conn.session.close_reason)
                    return
        except ConnectionClosed:
            pass
        finally:
            self.conns.discard(conn)

    async def handle(self, conn: FakeConn, message: Any) -> None:
        if isinstance(message, Hello):
            self.hellos += 1
            self._hello_seen.set()
            identity = TOKENS.get(message.token or "")
            if identity is None:
                conn.session.fail(CloseCode.UNAUTHENTICATED, "bad token")
                return
            conn.identity = identity
            conn.session.send_welcome(
                session_id=f"s-{self.hellos}",
                epoch=self.epoch,
                identity=identity,
                limits=Limits(
                    max_frame_bytes=self.announced_max_frame_bytes or self.max_frame_bytes,
                    heartbeat_interval_ms=self.heartbeat_ms,
                    max_send_queue=self.max_send_queue,
                ),
            )
            self.conns.add(conn)
            self.sessions.append(conn)
            self.connected.set()
            return
        conn.commands.append((message.type.value, getattr(message, "thread_id", None)))
        self.received.append(message)
        if message.type.value == self.drop_on:  # lose the connection instead of answering
            self.drop_on = None
            self.drop_all()
            return
        if isinstance(message, Subscribe) and self.slow_consumer_on_subscribe:
            self.slow_consumer_on_subscribe -= 1
            self.overflows += 1
            conn.session.fail(CloseCode.SLOW_CONSUMER, "send queue overflow")
            self._held_changed.set()
            return
        if self.hold:
            self.hold_command(conn, message)
            return
        handler = getattr(self, f"on_{message.type.value}")
        await handler(conn, message)

    def hold_command(self, conn: FakeConn, message: Any) -> None:
        """Keep ``message`` unanswered; past ``max_send_queue`` owed frames, close with 4008."""
        conn.held.append(message)
        self.max_unanswered = max(self.max_unanswered, len(conn.held))
        conn.owed += 1
        thread = self.threads.get(getattr(message, "thread_id", None) or "")
        if isinstance(message, Subscribe) and message.after is not None and thread is not None:
            conn.owed += max(0, thread.seq - message.after)
        if conn.owed > self.max_send_queue:
            self.overflows += 1
            conn.held.clear()
            conn.session.fail(CloseCode.SLOW_CONSUMER, "send queue overflow")
        self._held_changed.set()

    def thread_for(self, conn: FakeConn, id: str, thread_id: str) -> FakeThread | None:
        thread = self.threads.get(thread_id)
        if thread is None or thread.owner != conn.identity:
            conn.session.send_error(
                id, ErrorCode.NOT_FOUND, f"no thread {thread_id}", path="thread_id", details={"resource": "thread"}
            )
            return None
        return thread

    # --- events ---------------------------------------------------------------------------

    async def publish(self, thread: FakeThread, event: str, run_id: str | None, data: Any) -> None:
        if self.skip_next_seq:  # log an event that is never sent live: watchers see a gap
            self.skip_next_seq = False
            thread.seq += 1
            thread.log.append(
                encode_event("custom", thread_id=thread.thread_id, run_id=run_id, seq=thread.seq, data="missed")
            )
        thread.seq += 1
        text = encode_event(event, thread_id=thread.thread_id, run_id=run_id, seq=thread.seq, data=data)
        thread.log.append(text)
        for conn in list(self.conns):
            if thread.thread_id in conn.subscriptions and conn.session.state is SessionState.OPEN:
                conn.session.send_event_frame(text)
                await conn.flush()

    async def advance(self, thread: FakeThread, run_id: str, kind: str, answers: dict[str, Any]) -> None:
        await self.publish(thread, "run_started", run_id, {"graph": thread.graph, "kind": kind, "checkpoint_id": None})
        thread.status = "running"
        script = GRAPHS[thread.graph]
        for interrupt_id, value in answers.items():
            info = thread.pending.pop(interrupt_id)
            thread.answered.add(interrupt_id)
            thread.values[info.node or "?"] = value
            await self.publish(thread, "updates", run_id, {info.node: {"answer": value}})
        if thread.pending:  # partial resume: the others re-raise with the same ids
            await self.pause(thread, run_id)
            return
        while thread.step < len(script):
            kind_, payload = script[thread.step]
            thread.step += 1
            if kind_ == "update":
                thread.values.update(payload)
                await self.publish(thread, "updates", run_id, payload)
            else:
                for interrupt_id, node, question in payload:
                    thread.pending[interrupt_id] = InterruptInfo(id=interrupt_id, value=question, node=node, task_id=f"k-{node}")
                await self.pause(thread, run_id)
                return
        thread.status = "idle"
        await self.publish(thread, "run_done", run_id, {"checkpoint_id": f"c-{thread.seq}"})

    async def pause(self, thread: FakeThread, run_id: str) -> None:
        thread.status = "interrupted"
        interrupts = [i.to_wire() for i in thread.pending.values()]
        await self.publish(thread, "interrupt", run_id, {"interrupts": interrupts})
        await self.publish(
            thread, "run_interrupted", run_id, {"interrupt_ids": list(thread.pending), "next": [i.node for i in thread.pending.values()]}
        )

    def state(self, thread: FakeThread) -> StateView:
        return StateView(
            values=dict(thread.values),
            next=tuple(i.node or "" for i in thread.pending.values()),
            checkpoint_id=f"c-{thread.seq}",
            interrupts=tuple(thread.pending.values()),
        )

    # --- commands -------------------------------------------------------------------------

    async def on_start_run(self, conn: FakeConn, command: StartRun) -> None:
        if command.graph not in GRAPHS:
            conn.session.send_error(command.id, ErrorCode.NOT_FOUND, f"no graph {command.graph}", path="graph", details={"resource": "graph"})
            return
        thread_id = command.thread_id or f"t-{len(self.threads) + 1}"
        thread = self.threads.get(thread_id)
        if thread is None:
            thread = self.threads[thread_id] = FakeThread(thread_id, command.graph, conn.identity or "")
        elif thread.pending:
            conn.session.send_error(
                command.id,
                ErrorCode.INTERRUPT_PENDING,
                f"thread {thread_id} has pending interrupts; resume them instead",
                details={"interrupt_ids": list(thread.pending)},
            )
            return
        self.runs += 1
        run_id = f"r-{self.runs}"
        conn.subscriptions.add(thread_id)
        conn.session.send_reply(command.id, StartRunResult(run_id=run_id, thread_id=thread_id, seq=thread.seq))
        await conn.flush()
        await self.advance(thread, run_id, "start", {})

    async def on_resume(self, conn: FakeConn, command: Resume) -> None:
        thread = self.thread_for(conn, command.id, command.thread_id)
        if thread is None:
            return
        answers = command.resume_value() if command.form != "value" else None
        if answers is None:
            if not thread.pending:
                conn.session.send_error(command.id, ErrorCode.NOTHING_PENDING, "nothing to resume")
                return
            if len(thread.pending) > 1:
                conn.session.send_error(
                    command.id, ErrorCode.AMBIGUOUS_RESUME, "several pending", path="value", details={"interrupt_ids": list(thread.pending)}
                )
                return
            answers = {next(iter(thread.pending)): command.value}
        stale = [i for i in answers if i in thread.answered]
        if stale:
            conn.session.send_error(
                command.id, ErrorCode.ALREADY_ANSWERED, f"interrupt {stale[0]} was already answered", details={"interrupt_ids": stale}
            )
            return
        unknown = [i for i in answers if i not in thread.pending]
        if unknown:
            conn.session.send_error(command.id, ErrorCode.NOT_FOUND, f"no interrupt {unknown[0]}", details={"resource": "interrupt"})
            return
        self.runs += 1
        run_id = f"r-{self.runs}"
        conn.subscriptions.add(thread.thread_id)
        conn.session.send_reply(
            command.id, ResumeResult(run_id=run_id, thread_id=thread.thread_id, seq=thread.seq, answered=tuple(answers))
        )
        await conn.flush()
        await self.advance(thread, run_id, "resume", answers)

    async def on_subscribe(self, conn: FakeConn, command: Subscribe) -> None:
        thread = self.thread_for(conn, command.id, command.thread_id)
        if thread is None:
            return
        if thread.thread_id in conn.subscriptions:
            conn.session.send_error(command.id, ErrorCode.ALREADY_SUBSCRIBED, "already subscribed")
            return
        common = {"thread_id": thread.thread_id, "epoch": self.epoch, "head_seq": thread.seq, "status": thread.status}
        after = command.after
        reason = None
        if after is not None:
            if command.epoch is not None and command.epoch != self.epoch:
                reason = "epoch_changed"
            elif after > thread.seq:
                reason = "cursor_ahead"
            elif after + 1 < thread.first_seq:
                reason = "cursor_too_old"
        if reason is not None:
            result = SubscribeResult(
                **common, resync=True, reason=reason, state=self.state(thread), interrupts=tuple(thread.pending.values())
            )
            replay: list[str] = []
        else:
            start = thread.seq if after is None else max(after - self.replay_overlap, thread.first_seq - 1)
            replay = thread.log[start - (thread.first_seq - 1) :]
            result = SubscribeResult(**common, replayed=len(replay))
        conn.session.send_reply(command.id, result)
        for text in replay:
            conn.session.send_event_frame(text)
        conn.subscriptions.add(thread.thread_id)

    async def on_unsubscribe(self, conn: FakeConn, command: Unsubscribe) -> None:
        if command.thread_id not in conn.subscriptions:
            conn.session.send_error(command.id, ErrorCode.NOT_SUBSCRIBED, "not subscribed")
            return
        conn.subscriptions.discard(command.thread_id)
        conn.session.send_reply(command.id, UnsubscribeResult(thread_id=command.thread_id))

    async def on_cancel(self, conn: FakeConn, command: Cancel) -> None:
        if self.thread_for(conn, command.id, command.thread_id) is not None:
            conn.session.send_error(command.id, ErrorCode.NO_ACTIVE_RUN, "nothing runs on this thread")

    async def on_get_state(self, conn: FakeConn, command: GetState) -> None:
        thread = self.thread_for(conn, command.id, command.thread_id)
        if thread is not None:
            conn.session.send_reply(command.id, GetStateResult(state=self.state(thread)))

    async def on_get_history(self, conn: FakeConn, command: GetHistory) -> None:
        thread = self.thread_for(conn, command.id, command.thread_id)
        if thread is not None:
            conn.session.send_reply(command.id, GetHistoryResult(history=(self.state(thread),)))

    async def on_update_state(self, conn: FakeConn, command: UpdateState) -> None:
        thread = self.thread_for(conn, command.id, command.thread_id)
        if thread is None:
            return
        thread.values.update(command.values or {})
        checkpoint = f"c-u{thread.seq}"
        await self.publish(thread, "state_updated", None, {"checkpoint_id": checkpoint, "as_node": command.as_node})
        conn.session.send_reply(
            command.id, UpdateStateResult(thread_id=thread.thread_id, checkpoint_id=checkpoint, seq=thread.seq)
        )

    async def on_list_threads(self, conn: FakeConn, command: ListThreads) -> None:
        threads = [
            ThreadInfo(thread_id=t.thread_id, graph=t.graph, status=t.status, head_seq=t.seq, interrupts=tuple(t.pending.values()))  # type: ignore[arg-type]
            for t in self.threads.values()
            if t.owner == conn.identity and (command.status is None or t.status in command.status)
        ]
        conn.session.send_reply(command.id, ListThreadsResult(threads=tuple(threads)))

    async def on_list_graphs(self, conn: FakeConn, command: ListGraphs) -> None:
        graphs = tuple(
            GraphInfo(name=name, nodes=("__start__", "__end__"), edges=(EdgeInfo(source="__start__", target="__end__"),))
            for name in GRAPHS
        )
        conn.session.send_reply(command.id, ListGraphsResult(graphs=graphs))

    async def on_ping(self, conn: FakeConn, command: Ping) -> None:
        if self.ignore_pings:
            return  # a hung server: the command stays unanswered
        conn.session.send_reply(command.id, PingResult(payload=command.payload))


@asynccontextmanager
async def run_fake_server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"ws://127.0.0.1:{port}/ws"
        yield fake
