"""One WebSocket: pumps frames between Starlette's WebSocket and a sans-I/O ServerSession.

A reader feeds client frames to the session and dispatches commands; a writer drains the
connection's bounded send queue to the socket. Replies, errors and events all go through that
one queue, so they leave in the order they were produced. Commands on one thread run one after
the other (a *lane* per thread); commands on different threads run side by side, so a slow
command on one thread never holds up another. When the queue overflows, the connection is
closed with 4008 (``slow_consumer``) without ever blocking the run that produced the events.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from starlette.websockets import WebSocket, WebSocketDisconnect
from streamhil.protocol import (
    Cancel,
    CancelResult,
    CloseCode,
    ErrorCode,
    GetHistory,
    GetState,
    Hello,
    InvalidState,
    Limits,
    ListGraphs,
    ListThreads,
    Ping,
    Resume,
    ServerSession,
    SessionState,
    StartRun,
    Subscribe,
    Unsubscribe,
    UnwatchThreads,
    UpdateState,
    WatchThreads,
)
from streamhil._channel import Channel
from streamhil.protocol.session import ConnectionClosed

from .errors import CommandError, storage_unavailable
from .hub import CursorError, Subscription
from .limits import FrameRate
from .notices import ThreadWatcher
from .task_pool import TaskPool
from .transport import abort_connection
from .threads import Accepted

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["Connection"]

logger = logging.getLogger("streamhil_server.connection")

_SERVER_INFO = {"name": "streamhil", "version": "0.1.0"}
_IDLE_LANE_TASKS = 16
"""Tasks a connection keeps waiting for its next command's lane."""
BATCH_MAX_FRAMES = 100
"""Most frames in one batched message (docs/protocol.md section 1.1)."""
BATCH_MAX_CHARS = 64 * 1024
"""Longest batched message, in characters (and never more than ``max_frame_bytes`` bytes)."""


class _Overflow(Exception):
    pass


class Connection:
    """Serves one client socket until it closes."""

    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.settings = runtime.settings
        self.id = uuid.uuid4().hex[:12]
        self.session = ServerSession(max_frame_bytes=self.settings.max_frame_bytes)
        self.identity: str | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.thread_watcher: ThreadWatcher | None = None
        self.frames_sent = 0
        self.messages_sent = 0  # WebSocket messages: fewer than frames when frames go out batched
        self.slow = False
        self._outgoing: Channel[str] = Channel(self.settings.max_send_queue)  # frames for the writer
        self._queued_bytes = 0  # UTF-8-ish size of the frames waiting in the send queue
        self._sending = 0  # frames in the message being written (taken out of the send queue)
        self._batch_chars = 0  # longest batched message; 0 until the welcome turned batching on
        self._batch_from = 0  # batch only frames after this many were written (the welcome goes alone)
        self._rate = FrameRate(rate=self.settings.max_frames_per_second, burst=self.settings.max_frames_per_second)
        self._lanes: dict[str, deque[Any]] = {}
        self._tg: TaskGroup | None = None
        self._lane_tasks: TaskPool | None = None  # lanes' tasks, kept for the next lane
        self._close: tuple[int, str] | None = None
        self._writer_done = anyio.Event()
        self._progress = anyio.Event()
        self._room_wanted = False  # someone waits for room in the send queue (a replay, the reader)
        self._commands = 0  # accepted and not answered yet
        self._answered_all = anyio.Event()
        self._receiving: anyio.CancelScope | None = None
        self._served = anyio.Event()
        self._log = logging.LoggerAdapter(logger, {"connection": self.id})

    # --- lifecycle -----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Accept the socket (or refuse it with 403), then run until either side closes."""
        if not self.runtime.origin_allowed(self.ws):
            await self.ws.close(code=1008)  # before accept: the server answers HTTP 403
            return
        upgrade_identity = self.runtime.auth.from_upgrade(self.ws)
        await self.ws.accept()
        self.runtime.connections[self.id] = self
        self.runtime.notifier.nudge()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self._lane_tasks = TaskPool(tg, max_idle=_IDLE_LANE_TASKS)
                tg.start_soon(self._write_loop)
                drain = await self._read_loop(upgrade_identity)
                self._lane_tasks.close()
                self._outgoing.close()  # the writer sends what is queued, then ends
                if drain:
                    with anyio.move_on_after(self.settings.close_timeout):
                        await self._writer_done.wait()
                tg.cancel_scope.cancel()
        finally:
            for sub in self.subscriptions.values():
                sub.close()
            self.subscriptions.clear()
            if self.thread_watcher is not None:
                self.thread_watcher.close()
            self.runtime.connections.pop(self.id, None)
            self.runtime.notifier.nudge()
            await self._close_socket()
            self._served.set()

    async def _close_socket(self) -> None:
        if self._close is None and not self.slow:
            return
        with anyio.move_on_after(self.settings.close_timeout, shield=True) as scope:
            try:
                if self.slow:
                    # best effort: the queue is full, so the error goes straight to the socket
                    await self.ws.send_text(
                        _error_frame(ErrorCode.SLOW_CONSUMER, "send queue overflowed; reconnect and replay from your last seq")
                    )
                    code, reason = int(CloseCode.SLOW_CONSUMER), "slow consumer"
                else:
                    assert self._close is not None
                    code, reason = self._close
                await self.ws.close(code=code, reason=reason)
            except (RuntimeError, OSError, WebSocketDisconnect):
                pass  # the client is gone already
        if scope.cancelled_caught:
            # The client reads nothing, so not even a close frame gets through, and a graceful
            # close would wait for it forever: drop the TCP connection (the client sees 1006).
            abort_connection(self.ws.scope)

    # --- reading -------------------------------------------------------------------------------

    async def _read_loop(self, upgrade_identity: str | None) -> bool:
        """Read until the client leaves (returns False) or the session closes (returns True)."""
        hb = self.settings.heartbeat_interval_ms / 1000 * 3
        while self.session.state is not SessionState.CLOSED:
            if not await self._room_to_read(hb):
                break
            timeout = self.settings.hello_timeout if self.session.hello is None else hb
            with anyio.move_on_after(timeout) as scope:
                self._receiving = scope
                message = await self.ws.receive()
            self._receiving = None
            if self.session.state is SessionState.CLOSED:
                break  # closed meanwhile (a drain at shutdown)
            if scope.cancelled_caught:
                if self.session.hello is None:
                    self.session.fail(CloseCode.HELLO_TIMEOUT, "no hello in time")
                else:
                    self.session.fail(CloseCode.HEARTBEAT_TIMEOUT, "nothing received for 3 heartbeat intervals")
                self._flush()
                break
            kind = message["type"]
            if kind == "websocket.disconnect":
                self.session.receive_close(message.get("code"), message.get("reason") or "")
                return False
            if message.get("text") is not None:
                self.session.receive_text(message["text"])
            elif message.get("bytes") is not None:
                self.session.receive_bytes(message["bytes"])
            for event in self.session.events_received():
                self._dispatch(event, upgrade_identity)
            self._flush()
            delay = self._rate.delay(anyio.current_time())
            if delay > 0:  # over its frame rate: read this socket more slowly (TCP slows the sender)
                await anyio.sleep(delay)
        if self.session.close_code is not None and self._close is None:
            self._close = (int(self.session.close_code), self.session.close_reason)
        return True

    async def _room_to_read(self, patience: float) -> bool:
        """Read no more commands while half the send queue waits for the socket (their answers
        would only pile up); a client that reads nothing for ``patience`` seconds is slow."""
        if not self._half_full():
            return True
        with anyio.move_on_after(patience):
            await self._wait_room()
            return not self.slow
        self._overflow()
        return False

    def _half_full(self) -> bool:
        return (
            self._frames_waiting() >= max(1, self.settings.max_send_queue // 2)
            or self._queued_bytes >= self.settings.max_send_queue_bytes // 2
        )

    def _frames_waiting(self) -> int:
        """Frames not written yet, not counting the first of the message being written: as
        many as without batching, where the one frame being written is out of the queue."""
        return len(self._outgoing) + (self._sending - 1 if self._sending > 1 else 0)

    def _dispatch(self, event: Any, upgrade_identity: str | None) -> None:
        if isinstance(event, Hello):
            self._welcome(event, upgrade_identity)
        elif isinstance(event, ConnectionClosed):
            return
        elif self.session.pending_count > self.settings.max_commands_in_flight:
            limit = self.settings.max_commands_in_flight
            self.session.send_error(
                event.id, ErrorCode.TOO_MANY_REQUESTS,
                f"{limit} commands of this connection are still unanswered; wait for their answers, then retry",
                details={"max_commands_in_flight": limit},
            )
        else:
            self._enqueue(event)

    @property
    def _address(self) -> str:
        client = self.ws.client
        return client.host if client is not None else "unknown"

    def _welcome(self, hello: Hello, upgrade_identity: str | None) -> None:
        auth = self.runtime.auth
        failures = self.runtime.failed_auth
        now = anyio.current_time()
        if not auth.open and failures.locked(self._address, now):
            self.session.fail(CloseCode.TOO_MANY_ATTEMPTS, "too many failed attempts; wait before trying again")
            return
        identity = auth.identify(hello.token) if hello.token else upgrade_identity
        if identity is None:
            failures.failed(self._address, now)
            reason = "token rejected" if hello.token else "no credentials: send a token in hello or authenticate the upgrade"
            self.session.fail(CloseCode.UNAUTHENTICATED, reason)
            return
        self.identity = identity
        self.session.send_welcome(
            session_id=self.id,
            epoch=self.runtime.store.epoch,
            identity=None if auth.open else identity,
            limits=Limits(
                max_frame_bytes=self.settings.max_frame_bytes,
                heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
                max_send_queue=self.settings.max_send_queue,
                max_commands_in_flight=self.settings.max_commands_in_flight,
            ),
            server=_SERVER_INFO,
            batch=self.settings.batch_frames,
        )
        if self.session.batched:
            self._flush()  # the welcome into the send queue: it goes out alone, batches come after it
            self._batch_from = self.frames_sent + self._sending + len(self._outgoing)
            self._batch_chars = min(BATCH_MAX_CHARS, self.settings.max_frame_bytes // 4)  # ≤ 4 UTF-8 bytes a character

    def _enqueue(self, command: Any) -> None:
        """Run ``command``: after earlier commands of its thread, beside those of other threads."""
        assert self._tg is not None
        if self.runtime.draining:
            self._answer_error(command.id, ErrorCode.SHUTTING_DOWN, "the server is shutting down; reconnect and retry")
            return
        self._commands += 1
        thread_id = getattr(command, "thread_id", None)
        if thread_id is None:
            self._tg.start_soon(self._handle, command)
            return
        lane = self._lanes.get(thread_id)
        if lane is not None:
            lane.append(command)
            return
        self._lanes[thread_id] = deque([command])
        assert self._lane_tasks is not None
        self._lane_tasks.start_soon(self._run_lane, thread_id)

    async def _run_lane(self, thread_id: str) -> None:
        lane = self._lanes[thread_id]
        try:
            while lane:
                await self._handle(lane[0])
                lane.popleft()
        finally:
            del self._lanes[thread_id]

    # --- writing -------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Move the session's frames into the send queue; overflow closes the connection."""
        if self.slow:
            self.session.data_to_send()
            return
        for frame in self.session.data_to_send():
            if self._queued_bytes + len(frame) > self.settings.max_send_queue_bytes:
                self._overflow()
                return
            if self._sending > 1 and self._frames_waiting() >= self.settings.max_send_queue:
                self._overflow()  # a batch being written still counts (the channel holds the rest)
                return
            try:
                self._outgoing.put_nowait(frame)
            except anyio.WouldBlock:
                self._overflow()
                return
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            self._queued_bytes += len(frame)

    def _overflow(self) -> None:
        if self.slow:
            return
        self.slow = True
        self.runtime.slow_consumers += 1
        self._log.info(
            "send queue overflowed (%d frames / %d bytes queued): closing with 4008",
            len(self._outgoing), self._queued_bytes,
        )
        self.session.close(CloseCode.SLOW_CONSUMER, "slow consumer")
        for sub in self.subscriptions.values():
            sub.close()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    def deliver(self, frame: str) -> None:
        """A thread event for this connection (called by the hub; never blocks)."""
        if self.session.state is not SessionState.OPEN or self.slow:
            return
        self.session.send_event_frame(frame)
        self._flush()

    def _gone(self) -> bool:
        """Whether nothing more can be sent to this client."""
        return self.session.state is not SessionState.OPEN or self.slow

    def deliver_notice(self, notice: Any) -> None:
        """A ``watch_threads`` notice for this connection (called by the notifier; never blocks)."""
        if self.session.state is not SessionState.OPEN or self.slow:
            return
        self.session.send_notice(notice)
        self._flush()

    async def _wait_room(self) -> None:
        """Wait until the send queue is at most half full (paces replays)."""
        while self._half_full():
            if self.slow or self.session.state is not SessionState.OPEN:
                return
            self._room_wanted = True
            await self._progress.wait()

    async def _write_loop(self) -> None:
        outgoing = self._outgoing
        try:
            while True:
                try:  # what is queued goes out without a trip through the event loop per frame
                    frame = await outgoing.get()
                except anyio.EndOfStream:
                    break
                if outgoing and self._batch_chars and self.frames_sent >= self._batch_from:
                    text, count, size = self._batch(frame)
                else:
                    text, count, size = frame, 1, len(frame)
                self._sending = count
                await self.ws.send_text(text)
                self._sending = 0
                self._queued_bytes -= size
                self.frames_sent += count
                self.messages_sent += 1
                if self._room_wanted:  # no event per frame unless someone waits for room
                    self._room_wanted = False
                    progress, self._progress = self._progress, anyio.Event()
                    progress.set()
        except (WebSocketDisconnect, OSError, RuntimeError):
            if self._tg is not None:  # the client is gone: stop reading too
                self._tg.cancel_scope.cancel()
        finally:
            self._outgoing.close_reader()  # frames queued later fail: nobody would send them
            self._writer_done.set()

    def _batch(self, first: str) -> tuple[str, int, int]:
        """``first`` and the frames already queued behind it, as one message: ``(text, frames,
        their length)``. Takes only what waits now (never waits for more), in order, up to
        :data:`BATCH_MAX_FRAMES` and ``_batch_chars``; the frames are JSON text already, so the
        message is them joined in an array. A frame alone stays a plain frame."""
        outgoing = self._outgoing
        frames = [first]
        size = len(first)
        room = self._batch_chars - 2 - size  # the brackets
        while outgoing and len(frames) < BATCH_MAX_FRAMES:
            frame = outgoing.peek_nowait()
            if len(frame) + 1 > room:  # with its comma
                break
            frames.append(outgoing.get_nowait())
            size += len(frame)
            room -= len(frame) + 1
        if len(frames) == 1:
            return first, 1, size
        return "[" + ",".join(frames) + "]", len(frames), size

    # --- commands ------------------------------------------------------------------------------

    async def _handle(self, command: Any) -> None:
        try:
            await self._execute(command)
        except CommandError as exc:
            self._answer_error(command.id, exc.code, exc.message, path=exc.path, details=exc.details)
        except Exception as exc:
            unavailable = storage_unavailable(exc)
            if unavailable is not None:  # the database is away: nothing was done, retry later
                self._answer_error(command.id, unavailable.code, unavailable.message)
            else:
                self._log.exception("command %s failed", command.type.value)
                self._answer_error(command.id, ErrorCode.INTERNAL_ERROR, f"the server failed handling {command.type.value}")
        finally:
            self._commands -= 1
            if not self._commands:
                self._answered_all.set()
                self._answered_all = anyio.Event()
        self._flush()

    async def drain(self) -> None:
        """At shutdown: answer every command already accepted (new ones get ``shutting_down``),
        then send ``shutting_down`` and close with 4000. Returns when the close is queued."""
        while self._commands and self.session.state is SessionState.OPEN:
            await self._answered_all.wait()
        if self.session.state is SessionState.OPEN:
            self.session.fail(CloseCode.RECONNECT, "server shutting down", message="the server is shutting down; reconnect and replay from your last seq")
            self._flush()
        if self._receiving is not None:
            self._receiving.cancel()  # the reader stops; the writer sends what is queued, then the close
        await self._served.wait()
    def _answer_error(self, id: str, code: ErrorCode, message: str, **kw: Any) -> None:
        if self.session.state is SessionState.OPEN and id in self.session.pending_ids:
            self.session.send_error(id, code, message, **kw)

    def _reply(self, id: str, result: Any) -> None:
        if self.session.state is SessionState.OPEN:
            try:
                self.session.send_reply(id, result)
            except InvalidState:
                return
            self._flush()

    async def _execute(self, command: Any) -> None:
        identity = self.identity
        assert identity is not None
        runs = self.runtime.runs
        # Whose run limits a run counts against: the identity, or on an open server (where
        # everyone is one identity) this connection.
        origin = f"connection:{self.id}" if self.runtime.auth.open else identity
        if isinstance(command, StartRun):
            await runs.start_run(
                identity, command, on_accepted=lambda acc: self._accepted(command.id, acc, None), origin=origin
            )
        elif isinstance(command, Resume):
            await runs.resume(
                identity, command, on_accepted=lambda acc: self._accepted(command.id, acc, acc.answered), origin=origin
            )
        elif isinstance(command, Cancel):
            run_id = await runs.cancel(identity, command.thread_id, command.run_id)
            self._reply(command.id, CancelResult(run_id=run_id, thread_id=command.thread_id))
        elif isinstance(command, Subscribe):
            await self._subscribe(command)
        elif isinstance(command, Unsubscribe):
            sub = self.subscriptions.pop(command.thread_id, None)
            if sub is None:
                raise CommandError(
                    ErrorCode.NOT_SUBSCRIBED, f"this connection does not watch thread {command.thread_id}", path="thread_id"
                )
            sub.close()
            self._reply(command.id, {"thread_id": command.thread_id})
        elif isinstance(command, GetState):
            state = await runs.get_state(identity, command.thread_id, command.checkpoint_id)
            self._reply(command.id, {"state": state})
        elif isinstance(command, GetHistory):
            history, next_before = await runs.get_history(
                identity, command.thread_id, command.limit, command.before, max_bytes=self.settings.max_reply_bytes
            )
            self._reply(command.id, {"history": history, "next_before": next_before})
        elif isinstance(command, UpdateState):
            checkpoint_id, seq = await runs.update_state(
                identity, command.thread_id, command.values, command.as_node, command.checkpoint_id
            )
            self._reply(command.id, {"thread_id": command.thread_id, "checkpoint_id": checkpoint_id, "seq": seq})
        elif isinstance(command, ListThreads):
            threads = await runs.list_threads(identity, command.status, command.graph, command.limit, command.offset)
            self._reply(command.id, {"threads": threads})
        elif isinstance(command, ListGraphs):
            graphs = [entry.info().to_wire() for entry in runs.registry.entries()]
            self._reply(command.id, {"graphs": graphs})
        elif isinstance(command, Ping):
            self._reply(command.id, {"payload": command.payload})
        elif isinstance(command, WatchThreads):
            await self._watch_threads(command)
        elif isinstance(command, UnwatchThreads):
            if self.thread_watcher is None:
                raise CommandError(ErrorCode.NOT_SUBSCRIBED, "this connection does not watch its threads (send watch_threads first)")
            self.thread_watcher.close()
            self.thread_watcher = None
            self._reply(command.id, {})
        else:  # pragma: no cover - the session only yields known commands
            raise CommandError(ErrorCode.UNKNOWN_TYPE, f"unknown command {command!r}")

    async def _watch_threads(self, command: WatchThreads) -> None:
        """Reply with the snapshot, then notices follow (no await in between: none can precede it)."""
        if self.thread_watcher is not None:
            raise CommandError(ErrorCode.ALREADY_SUBSCRIBED, "this connection already watches its threads")
        watched = await self.runtime.notifier.watch(self.identity or "", self.deliver_notice, gone=self._gone)
        if watched is None:
            return  # the client left while the snapshot was made
        watcher, result = watched
        if self.thread_watcher is not None:  # a second watch_threads raced this one
            watcher.close()
            raise CommandError(ErrorCode.ALREADY_SUBSCRIBED, "this connection already watches its threads")
        self.thread_watcher = watcher
        self._reply(command.id, result)

    def _accepted(self, id: str, acc: Accepted, answered: tuple[str, ...] | None) -> None:
        """Reply to a start_run/resume and watch its thread; runs before the run can emit."""
        if self.session.state is not SessionState.OPEN or self.slow:
            return  # the client left meanwhile; the run goes on
        sub = None
        if acc.thread_id not in self.subscriptions:
            sub = self.runtime.hub.subscribe_live(acc.thread_id, self.deliver, acc.seq + 1)
            self.subscriptions[acc.thread_id] = sub
        result: dict[str, Any] = {"run_id": acc.run_id, "thread_id": acc.thread_id, "seq": acc.seq, "queued": acc.queued}
        if answered is not None:
            result["answered"] = list(answered)
        self._reply(id, result)
        if sub is not None:
            sub.start_live()

    async def _subscribe(self, cmd: Subscribe) -> None:
        runs, hub = self.runtime.runs, self.runtime.hub
        thread = await runs.require_thread(self.identity or "", cmd.thread_id)
        if cmd.thread_id in self.subscriptions:
            raise CommandError(ErrorCode.ALREADY_SUBSCRIBED, f"this connection already watches thread {cmd.thread_id}", path="thread_id")
        epoch = self.runtime.store.epoch
        reason: str | None = None
        sub: Subscription | None = None
        replayed = 0
        if cmd.after is not None and cmd.epoch is not None and cmd.epoch != epoch:
            reason = "epoch_changed"
        else:
            try:
                sub, replayed = await hub.subscribe(cmd.thread_id, self.deliver, cmd.after)
            except CursorError as exc:
                reason = exc.reason
        result: dict[str, Any]
        if reason is not None:
            sub = hub.subscribe_live(cmd.thread_id, self.deliver, hub.head(cmd.thread_id) + 1)
            self.subscriptions[cmd.thread_id] = sub
            try:
                state = await runs.current_state(thread)
            except BaseException:
                sub.close()
                self.subscriptions.pop(cmd.thread_id, None)
                raise
            head = sub.next_seq - 1
            result = {
                "thread_id": cmd.thread_id, "epoch": epoch, "head_seq": head, "status": thread.status,
                "replayed": 0, "resync": True, "reason": reason, "state": state,
                "interrupts": list(thread.record.interrupts),
            }
        else:
            assert sub is not None
            self.subscriptions[cmd.thread_id] = sub
            head = (cmd.after + replayed) if cmd.after is not None else sub.next_seq - 1
            result = {
                "thread_id": cmd.thread_id, "epoch": epoch, "head_seq": head, "status": thread.status,
                "replayed": replayed, "resync": False,
            }
        if self.slow or self.session.state is not SessionState.OPEN:
            sub.close()
            return
        self._reply(cmd.id, result)
        await sub.go_live(self._wait_room, max_buffer=self.settings.max_send_queue, overflow=self._overflow)


def _error_frame(code: ErrorCode, message: str) -> str:
    from streamhil.protocol import encode_error

    return encode_error(None, code, message)

