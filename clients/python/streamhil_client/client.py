"""The asyncio client: one WebSocket, one reader, automatic reconnect with replay.

This SDK runs on asyncio only (it is built on ``websockets.asyncio``). Everything it starts
lives in the task group owned by :func:`open_client`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamhil.protocol import (
    UNSET,
    BaseEvent,
    Cancel,
    CloseCode,
    Command,
    ErrorReply,
    GetHistory,
    GetHistoryResult,
    GetState,
    GraphInfo,
    InterruptEvent,
    InterruptInfo,
    ListGraphs,
    ListThreads,
    MessageType,
    Ping,
    Reply,
    Resume,
    ResumeResult,
    SessionState,
    StartRun,
    StartRunResult,
    StateView,
    Subscribe,
    SubscribeResult,
    ThreadInfo,
    Unsubscribe,
    UnwatchThreads,
    UpdateState,
    UpdateStateResult,
    WatchThreads,
    WatchThreadsResult,
    is_recoverable,
)
from streamhil.protocol.messages import DEFAULT_STREAM_MODES

from .backoff import backoff_delays
from .connection import Connection, open_connection
from .cursor import ThreadCursor, Verdict
from .errors import (
    AuthError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    ConnectionLostError,
    StreamhilClientError,
    error_from_reply,
)
from .events import NOTICE_TYPES, ResyncEvent, ThreadsSnapshot
from .handles import Failure, Run, ThreadsWatch, ThreadWatch
from .window import WindowClosed

__all__ = ["Client", "ClientStatistics", "open_client"]


@dataclass(frozen=True, slots=True)
class ClientStatistics:
    """Counters of one client (read them instead of private fields)."""

    connected: bool
    epoch: str | None
    reconnects: int
    in_flight: int
    """Commands sent on the current connection and not answered yet."""
    queued: int
    """Commands waiting for room in the in-flight window."""
    events_delivered: int
    duplicates_dropped: int
    gaps: int
    resyncs: int
    threads: int


@dataclass(eq=False)
class _Waiter:
    command: Command
    on_reply: Callable[[Connection, Any], Any] | None = None
    holds_room: bool = False
    """Whether this command took room in the connection's in-flight window."""
    done: anyio.Event = field(default_factory=anyio.Event)
    value: Any = None
    error: BaseException | None = None

    def resolve(self, value: Any) -> None:
        self.value = value
        self.done.set()

    def reject(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


_Listener = tuple[ObjectSendStream[Any], ObjectReceiveStream[Any]]


@dataclass(eq=False)
class _Thread:
    cursor: ThreadCursor
    subscribed: bool = False
    listeners: list[_Listener] = field(default_factory=list)
    pending: dict[str, InterruptInfo] = field(default_factory=dict)
    status: str = "running"


def _is_terminal_failure(exc: BaseException) -> bool:
    """Errors that reconnecting cannot fix."""
    return isinstance(exc, (AuthError, BadRequestError, ClientClosedError, InvalidURI))


class Client:
    """A streamhil connection that survives drops: use :func:`open_client` to make one."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        client_info: Mapping[str, str] | None = None,
        reconnect: bool = True,
        backoff: Callable[[], Iterator[float]] = backoff_delays,
        open_timeout: float = 10.0,
        heartbeat: bool = True,
        connect_kwargs: Mapping[str, Any] | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"max_in_flight must be a positive int or None, got {max_in_flight!r}")
        self.url = url
        self._max_in_flight = max_in_flight
        self._token = token
        self._headers = headers
        self._client_info = client_info or {"name": "streamhil-python"}
        self.reconnect = reconnect
        self._backoff = backoff
        self._open_timeout = open_timeout
        self._heartbeat = heartbeat
        self._connect_kwargs = dict(connect_kwargs or {})
        self._conn: Connection | None = None
        self._connected = anyio.Event()
        self._send_lock = anyio.Lock()
        self._threads: dict[str, _Thread] = {}
        self._stream_modes: dict[str, tuple[str, ...]] = {}  # thread id -> modes of its last run
        self._notice_listeners: list[_Listener] = []
        self._watching_threads = False
        self._closed_error: StreamhilClientError | None = None
        self._closing = False
        self._reconnects = 0
        self._delivered = 0
        self._duplicates = 0
        self._gaps = 0
        self._resyncs = 0

    # --- public API --------------------------------------------------------------------------

    @property
    def epoch(self) -> str | None:
        """The server epoch of the current connection."""
        return None if self._conn is None else self._conn.epoch

    @property
    def identity(self) -> str | None:
        return None if self._conn is None else self._conn.welcome.identity

    def statistics(self) -> ClientStatistics:
        return ClientStatistics(
            connected=self._conn is not None,
            epoch=self.epoch,
            reconnects=self._reconnects,
            in_flight=0 if self._conn is None else self._conn.window.in_flight,
            queued=0 if self._conn is None else self._conn.window.queued,
            events_delivered=self._delivered,
            duplicates_dropped=self._duplicates,
            gaps=self._gaps,
            resyncs=self._resyncs,
            threads=len(self._threads),
        )

    def pending_interrupts(self, thread_id: str) -> tuple[InterruptInfo, ...]:
        """Interrupts pending on a thread this client follows, as last seen."""
        thread = self._threads.get(thread_id)
        return () if thread is None else tuple(thread.pending.values())

    async def start_run(
        self,
        graph: str,
        input: Any = None,
        *,
        thread_id: str | None = None,
        stream_modes: tuple[str, ...] | list[str] = DEFAULT_STREAM_MODES,
        config: Mapping[str, Any] | None = None,
        interrupt_before: list[str] | tuple[str, ...] | str | None = None,
        interrupt_after: list[str] | tuple[str, ...] | str | None = None,
        checkpoint_id: str | None = None,
        if_busy: str = "reject",
        subgraphs: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> Run:
        """Start a run; iterate the returned :class:`Run` for its events."""
        command = StartRun(
            graph=graph,
            input=input,
            thread_id=thread_id,
            stream_modes=tuple(stream_modes),
            config=None if config is None else dict(config),
            interrupt_before=_breakpoints(interrupt_before),
            interrupt_after=_breakpoints(interrupt_after),
            checkpoint_id=checkpoint_id,
            if_busy=if_busy,  # type: ignore[arg-type]
            subgraphs=subgraphs,
            metadata=None if metadata is None else dict(metadata),
        )
        run: Run = await self._request(command, self._on_run_accepted)
        run.stream_modes = command.stream_modes
        self._stream_modes[run.thread_id] = command.stream_modes
        return run

    async def resume(
        self,
        thread_id: str,
        value: Any = UNSET,
        /,
        *,
        answers: Mapping[Any, Any] | None = None,
        interrupt_id: str | InterruptInfo | None = None,
        update: Any = None,
        goto: str | list[str] | tuple[str, ...] | None = None,
        stream_modes: tuple[str, ...] | list[str] | None = None,
        if_busy: str = "reject",
    ) -> Run:
        """Answer pending interrupts of a thread; iterate the returned :class:`Run`.

        ``interrupt_id`` (and the keys of ``answers``) may be the interrupt objects themselves
        (:class:`InterruptInfo`, e.g. from ``run.interrupts``). ``stream_modes`` defaults to the
        modes of the thread's last run started or resumed by this client.
        """
        if stream_modes is None:
            stream_modes = self._stream_modes.get(thread_id)
        command = self._resume_command(thread_id, value, answers, interrupt_id, update, goto, stream_modes, if_busy)
        run: Run = await self._request(command, self._on_run_accepted)
        run.stream_modes = command.stream_modes
        self._stream_modes[thread_id] = command.stream_modes
        return run

    async def cancel(self, thread_id: str, run_id: str | None = None) -> None:
        """Cancel the thread's active run (or the queued run ``run_id``)."""
        await self._request(Cancel(thread_id=thread_id, run_id=run_id))

    async def subscribe(self, thread_id: str, *, after: int | None = None) -> ThreadWatch:
        """Watch a thread: the events after ``after`` (replayed), then live ones.

        If this client already follows the thread, the watch starts at the current event and
        ``after`` must not be older than that (the client keeps no event history).
        """
        thread = self._threads.get(thread_id)
        if thread is not None and thread.subscribed:
            if after is not None and after < thread.cursor.seq:
                raise ValueError(
                    f"this client already follows thread {thread_id!r} at seq {thread.cursor.seq}; "
                    f"events after {after} were delivered to its other listeners and are not kept"
                )
            listener = self._add_listener(thread_id, thread)
            result = SubscribeResult(
                thread_id=thread_id,
                epoch=thread.cursor.epoch,
                head_seq=thread.cursor.seq,
                status=thread.status,  # type: ignore[arg-type]
            )
            return ThreadWatch(self, thread_id=thread_id, result=result, listener=listener)
        command = Subscribe(thread_id=thread_id, after=after)
        watch: ThreadWatch = await self._request(command, self._on_subscribed)
        return watch

    async def unsubscribe(self, thread_id: str) -> None:
        """Stop the server sending this thread's events; its listeners end."""
        await self._request(Unsubscribe(thread_id=thread_id))
        thread = self._threads.pop(thread_id, None)
        if thread is not None:
            _close_all(thread)

    async def get_state(self, thread_id: str, *, checkpoint_id: str | None = None) -> StateView:
        result = await self._request(GetState(thread_id=thread_id, checkpoint_id=checkpoint_id))
        state: StateView = result.state
        return state

    async def get_history(self, thread_id: str, *, limit: int = 20, before: str | None = None) -> tuple[StateView, ...]:
        """The thread's checkpoints, newest first (one page: see :meth:`get_history_page`)."""
        return (await self.get_history_page(thread_id, limit=limit, before=before)).history

    async def get_history_page(
        self, thread_id: str, *, limit: int = 20, before: str | None = None
    ) -> GetHistoryResult:
        """One page of checkpoints; pass its ``next_before`` as ``before`` for the next page
        (the server also cuts pages at its ``max_reply_bytes``)."""
        result: GetHistoryResult = await self._request(GetHistory(thread_id=thread_id, limit=limit, before=before))
        return result

    async def update_state(
        self, thread_id: str, values: Any, *, as_node: str | None = None, checkpoint_id: str | None = None
    ) -> UpdateStateResult:
        command = UpdateState(thread_id=thread_id, values=values, as_node=as_node, checkpoint_id=checkpoint_id)
        result: UpdateStateResult = await self._request(command)
        return result

    async def list_threads(
        self,
        *,
        status: str | list[str] | tuple[str, ...] | None = None,
        graph: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[ThreadInfo, ...]:
        statuses = (status,) if isinstance(status, str) else None if status is None else tuple(status)
        result = await self._request(ListThreads(status=statuses, graph=graph, limit=limit, offset=offset))
        threads: tuple[ThreadInfo, ...] = result.threads
        return threads

    async def watch_threads(self) -> ThreadsWatch:
        """Follow this identity's threads as a whole (``watch_threads``): the returned
        :class:`ThreadsWatch` holds the threads and counters as of now, and yields a notice for
        each thread created, each status change and new counters. After a reconnect the client
        watches again and yields a :class:`ThreadsSnapshot` to start over from."""
        listener = anyio.create_memory_object_stream[Any](math.inf)
        self._notice_listeners.append(listener)
        try:
            if self._watching_threads:  # a fresh snapshot for the new listener
                self._watching_threads = False
                try:
                    await self._request(UnwatchThreads())
                except ConflictError:
                    pass  # not watching on this connection (it was replaced meanwhile)
            result: WatchThreadsResult = await self._request(WatchThreads())
            self._watching_threads = True
        except BaseException:
            self._remove_notice_listener(listener[0])
            raise
        return ThreadsWatch(self, result, listener)

    def _remove_notice_listener(self, send: ObjectSendStream[Any]) -> None:
        self._notice_listeners = [pair for pair in self._notice_listeners if pair[0] is not send]
        send.close()

    def _deliver_notice(self, item: Any) -> None:
        for pair in list(self._notice_listeners):
            try:
                pair[0].send_nowait(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._notice_listeners.remove(pair)

    async def _unwatch_threads_if_idle(self) -> None:
        """The last :class:`ThreadsWatch` closed: stop the server's notices."""
        if self._notice_listeners or not self._watching_threads:
            return
        self._watching_threads = False
        try:
            await self._request(UnwatchThreads())
        except (ConflictError, ConnectionLostError, ClientClosedError):
            pass

    async def list_graphs(self) -> tuple[GraphInfo, ...]:
        result = await self._request(ListGraphs())
        graphs: tuple[GraphInfo, ...] = result.graphs
        return graphs

    async def ping(self, payload: Any = None) -> Any:
        """Round trip to the server; returns the echoed payload."""
        result = await self._request(Ping(payload=payload))
        return result.payload

    # --- commands ------------------------------------------------------------------------

    def _resume_command(
        self,
        thread_id: str,
        value: Any,
        answers: Mapping[Any, Any] | None,
        interrupt_id: str | InterruptInfo | None,
        update: Any,
        goto: str | list[str] | tuple[str, ...] | None,
        stream_modes: tuple[str, ...] | list[str] | None,
        if_busy: str,
    ) -> Resume:
        interrupt_id = _interrupt_id(interrupt_id, "interrupt_id")
        if answers is not None:
            answers = {_interrupt_id(key, "answers"): answer for key, answer in answers.items()}
        if answers is None and interrupt_id is None and isinstance(value, Mapping) and value:
            pending = self._threads.get(thread_id)
            keys = {k.id if isinstance(k, InterruptInfo) else k for k in value}
            if pending is not None and keys <= set(pending.pending):
                answers, value = {_interrupt_id(k, "answers"): v for k, v in value.items()}, UNSET
        if answers is not None and value is not UNSET:
            raise ValueError("give either a value or answers, not both")
        if answers is None and value is UNSET:
            raise ValueError("give the answer: resume(value), resume(value, interrupt_id=...) or resume(answers={...})")
        return Resume(
            thread_id=thread_id,
            value=value,
            interrupt_id=interrupt_id,
            answers=None if answers is None else dict(answers),
            update=update,
            goto=goto if goto is None or isinstance(goto, str) else tuple(goto),
            stream_modes=DEFAULT_STREAM_MODES if stream_modes is None else tuple(stream_modes),
            if_busy=if_busy,  # type: ignore[arg-type]
        )

    async def _send_resume(self, thread_id: str, value: Any, **kwargs: Any) -> ResumeResult:
        if kwargs["stream_modes"] is None:
            kwargs["stream_modes"] = self._stream_modes.get(thread_id)
        command = self._resume_command(
            thread_id,
            value,
            kwargs["answers"],
            kwargs["interrupt_id"],
            kwargs["update"],
            kwargs["goto"],
            kwargs["stream_modes"],
            kwargs["if_busy"],
        )
        result: ResumeResult = await self._request(command, self._on_resumed)
        self._stream_modes[thread_id] = command.stream_modes
        return result

    async def _request(self, command: Command, on_reply: Callable[[Connection, Any], Any] | None = None) -> Any:
        """Send ``command`` once a connection is up and wait for its answer."""
        while True:
            if self._closed_error is not None:
                raise self._closed_error
            conn = self._conn
            if conn is None:
                await self._connected.wait()
                continue
            if conn.broken or conn.session.state is not SessionState.OPEN:
                await conn.closed.wait()  # nothing was sent: wait for the next connection
                continue
            try:
                return await self._request_on(conn, command, on_reply)
            except _NotSent:
                await conn.closed.wait()
            except ConnectionLostError:
                if command.type not in _SAFE_TO_RETRY or not self.reconnect:
                    raise
                await conn.closed.wait()

    async def _request_on(
        self,
        conn: Connection,
        command: Command,
        on_reply: Callable[[Connection, Any], Any] | None = None,
        *,
        bypass: bool = False,
    ) -> Any:
        waiter = await self._send_on(conn, command, on_reply, bypass=bypass)
        return await _answer(waiter)

    async def _send_on(
        self,
        conn: Connection,
        command: Command,
        on_reply: Callable[[Connection, Any], Any] | None = None,
        *,
        priority: bool = False,
        bypass: bool = False,
    ) -> _Waiter:
        """Wait for room in the window (unless ``bypass``), send ``command``, return its waiter."""
        waiter = _Waiter(command, on_reply, holds_room=not bypass)
        if not bypass:
            try:
                await conn.window.acquire(priority=priority)
            except WindowClosed:
                raise _NotSent(f"the connection closed before {command.type.value} was sent") from None
        try:
            async with self._send_lock:
                if conn.session.state is not SessionState.OPEN or conn.broken or conn.closed.is_set():
                    raise _NotSent(f"the connection closed before {command.type.value} was sent")
                id = conn.session.send(command)
                conn.waiters[id] = waiter
                try:
                    for text in conn.session.data_to_send():
                        await conn.ws.send(text)
                    conn.last_sent = anyio.current_time()
                except ConnectionClosed:
                    pass  # the reader fails the waiter when it sees the close
        except BaseException:
            if waiter.holds_room and not conn.closed.is_set() and waiter not in conn.waiters.values():
                conn.window.release()  # not sent: give the room back
            raise
        return waiter

    # --- reply handlers (run in the reader, before any later frame is handled) ----------

    def _follow(self, conn: Connection, thread_id: str, seq: int) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            thread = self._threads[thread_id] = _Thread(ThreadCursor(conn.epoch, seq))
        elif not thread.subscribed:
            thread.cursor.reset(conn.epoch, max(seq, thread.cursor.seq if thread.cursor.epoch == conn.epoch else 0))
        thread.subscribed = True
        return thread

    def _on_run_accepted(self, conn: Connection, result: StartRunResult | ResumeResult) -> Run:
        thread = self._follow(conn, result.thread_id, result.seq)
        self._forget_answered(thread, result)
        listener = self._add_listener(result.thread_id, thread)
        return Run(
            self,
            thread_id=result.thread_id,
            run_id=result.run_id,
            seq=result.seq,
            queued=result.queued,
            listener=listener,
        )

    def _on_resumed(self, conn: Connection, result: ResumeResult) -> ResumeResult:
        thread = self._follow(conn, result.thread_id, result.seq)
        self._forget_answered(thread, result)
        return result

    @staticmethod
    def _forget_answered(thread: _Thread, result: StartRunResult | ResumeResult) -> None:
        if isinstance(result, ResumeResult):
            for id in result.answered:
                thread.pending.pop(id, None)

    def _on_subscribed(self, conn: Connection, result: SubscribeResult) -> ThreadWatch:
        thread = self._threads.get(result.thread_id)
        fresh = thread is None or not thread.subscribed
        if thread is None:
            thread = self._threads[result.thread_id] = _Thread(ThreadCursor(result.epoch, result.head_seq))
        listener = self._add_listener(result.thread_id, thread)
        self._apply_subscribe_result(thread, result, fresh=fresh)
        return ThreadWatch(self, thread_id=result.thread_id, result=result, listener=listener)

    def _apply_subscribe_result(self, thread: _Thread, result: SubscribeResult, *, fresh: bool) -> None:
        thread.subscribed = True
        thread.status = result.status
        if result.resync:
            self._resyncs += 1
            thread.cursor.reset(result.epoch, result.head_seq)
            thread.pending = {i.id: i for i in result.interrupts}
            self._deliver(
                thread,
                ResyncEvent(
                    thread_id=result.thread_id,
                    epoch=result.epoch,
                    head_seq=result.head_seq,
                    status=result.status,
                    reason=result.reason,
                    state=result.state,
                    interrupts=result.interrupts,
                ),
            )
        elif fresh:
            thread.cursor.reset(result.epoch, result.head_seq - result.replayed)
        else:
            thread.cursor.epoch = result.epoch

    # --- listeners ----------------------------------------------------------------------

    def _add_listener(self, thread_id: str, thread: _Thread) -> _Listener:
        listener = anyio.create_memory_object_stream[Any](math.inf)
        thread.listeners.append(listener)
        return listener

    def _remove_listener(self, thread_id: str, send: ObjectSendStream[Any]) -> None:
        thread = self._threads.get(thread_id)
        if thread is not None:
            thread.listeners = [pair for pair in thread.listeners if pair[0] is not send]
        send.close()

    def _deliver(self, thread: _Thread, item: Any) -> None:
        for pair in list(thread.listeners):
            try:
                pair[0].send_nowait(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                thread.listeners.remove(pair)

    def _fail_listeners(self, error: BaseException) -> None:
        """Make every iterator raise ``error`` once it has read what was delivered before."""
        self._deliver_notice(Failure(error))
        for send, _ in self._notice_listeners:
            send.close()
        self._notice_listeners.clear()
        for thread in self._threads.values():
            self._deliver(thread, Failure(error))
            for send, _ in thread.listeners:
                send.close()
            thread.listeners.clear()

    # --- the reader ---------------------------------------------------------------------

    def _dispatch(self, conn: Connection, message: Any) -> None:
        if isinstance(message, Reply):
            waiter = self._answered(conn, message.id)
            if waiter is None:
                return
            try:
                value = message.result if waiter.on_reply is None else waiter.on_reply(conn, message.result)
            except Exception as exc:  # a handler bug must reach the caller, not kill the reader
                waiter.reject(exc)
            else:
                waiter.resolve(value)
        elif isinstance(message, ErrorReply):
            if message.id is None:
                conn.last_error = message  # the server says why it is about to close
                return
            waiter = self._answered(conn, message.id)
            if waiter is not None:
                waiter.reject(error_from_reply(message))
        elif isinstance(message, BaseEvent):
            self._on_event(conn, message)
        elif isinstance(message, NOTICE_TYPES):
            self._deliver_notice(message)

    @staticmethod
    def _answered(conn: Connection, id: str) -> _Waiter | None:
        """Take the waiter of an answered command off the connection; free its room."""
        waiter: _Waiter | None = conn.waiters.pop(id, None)
        if waiter is not None and waiter.holds_room:
            conn.window.release()
        return waiter

    def _on_event(self, conn: Connection, event: BaseEvent) -> None:
        thread = self._threads.get(event.thread_id)
        if thread is None or not thread.subscribed:
            return
        verdict = thread.cursor.accept(conn.epoch, event.seq)
        if verdict is Verdict.DUPLICATE:
            self._duplicates += 1
            return
        if verdict is Verdict.GAP:
            self._gaps += 1
            conn.broken = f"gap in thread {event.thread_id}: seq {event.seq} after {thread.cursor.seq}"
            return
        if isinstance(event, InterruptEvent):
            thread.pending = {i.id: i for i in event.interrupts}
        thread.status = _STATUS_AFTER.get(event.event, thread.status)
        self._delivered += 1
        self._deliver(thread, event)

    async def _read(self, conn: Connection) -> None:
        session = conn.session
        try:
            async for frame in conn.ws:
                if isinstance(frame, bytes):
                    session.receive_bytes(frame)
                else:
                    session.receive_text(frame)
                for message in session.events_received():
                    self._dispatch(conn, message)
                if session.state is SessionState.CLOSED:
                    conn.broken = f"protocol error: {session.protocol_error}"
                    await conn.ws.close(CloseCode.PROTOCOL_ERROR, session.close_reason)
                    return
                if conn.broken:
                    await conn.ws.close(CloseCode.NORMAL, conn.broken[:120])
                    return
        except ConnectionClosed:
            return

    async def _resubscribe(self, conn: Connection) -> None:
        """Re-subscribe every followed thread, pipelined through the window ahead of anything
        the caller queued; then open the window to the caller's commands."""
        sent: list[tuple[_Thread, _Waiter]] = []
        try:
            for thread_id, thread in list(self._threads.items()):
                if not thread.subscribed:
                    continue
                command = Subscribe(thread_id=thread_id, after=thread.cursor.seq, epoch=thread.cursor.epoch)

                def apply(c: Connection, result: SubscribeResult, thread: _Thread = thread) -> SubscribeResult:
                    self._apply_subscribe_result(thread, result, fresh=False)
                    return result

                try:
                    sent.append((thread, await self._send_on(conn, command, apply, priority=True)))
                except ConnectionLostError:
                    return
            if self._watching_threads:

                def snapshot(c: Connection, result: WatchThreadsResult) -> WatchThreadsResult:
                    self._deliver_notice(ThreadsSnapshot(threads=result.threads, counters=result.counters, reconnected=True))
                    return result

                try:
                    await self._send_on(conn, WatchThreads(), snapshot, priority=True)
                except ConnectionLostError:
                    return
        finally:
            conn.window.open()
        for thread, waiter in sent:
            try:
                await _answer(waiter)
            except ConnectionLostError:
                return
            except StreamhilClientError as exc:
                thread.subscribed = False
                self._deliver(thread, Failure(exc))
        conn.healthy = True

    async def _keep_alive(self, conn: Connection) -> None:
        interval = conn.welcome.limits.heartbeat_interval_ms / 1000
        while True:
            await anyio.sleep(max(0.0, conn.last_sent + interval - anyio.current_time()))
            if anyio.current_time() - conn.last_sent < interval:
                continue
            with anyio.move_on_after(interval) as scope:
                try:  # past the window: a full window must not look like a dead server
                    await self._request_on(conn, Ping(payload="heartbeat"), bypass=True)
                except StreamhilClientError:
                    return
            if scope.cancelled_caught:
                conn.broken = "heartbeat: no answer to ping"
                await conn.ws.close(CloseCode.NORMAL, "heartbeat timeout")
                return

    async def _serve(self, conn: Connection) -> None:
        async with anyio.create_task_group() as tg:
            self._conn = conn
            self._connected.set()
            tg.start_soon(self._resubscribe, conn)
            if self._heartbeat:
                tg.start_soon(self._keep_alive, conn)
            await self._read(conn)
            tg.cancel_scope.cancel()

    def _drop(self, conn: Connection) -> int | None:
        """Forget a closed connection; fail what waited on it. Returns the close code."""
        if self._conn is conn:
            self._conn = None
            self._connected = anyio.Event()
        reason = conn.broken or (conn.last_error.message if conn.last_error else "by the server")
        error = ConnectionLostError(f"the connection closed ({reason})")
        for waiter in conn.waiters.values():
            waiter.reject(error)
        conn.waiters.clear()
        conn.closed.set()
        conn.window.close()  # commands waiting for room were not sent: they go on the next connection
        if conn.broken:
            return None  # the client dropped it on purpose: reconnect
        return conn.ws.close_code

    async def _maintain(self, conn: Connection) -> None:
        """Serve connections until closed: read, and after a recoverable drop reconnect.

        One backoff series runs across consecutive drops and starts over only after a connection
        got every re-subscribe answered, so a server that closes each new connection (e.g. 4008
        while replaying) sees growing delays, not a reconnect storm.
        """
        delays: Iterator[float] | None = None
        while True:
            await self._serve(conn)
            code = self._drop(conn)
            if self._closing:
                return
            if not self.reconnect or not is_recoverable(code):
                self._terminate(
                    ClientClosedError(
                        f"the server closed the connection with code {code} ({conn.ws.close_reason or 'no reason'})",
                        close_code=code,
                    )
                )
                return
            if delays is None or conn.healthy:
                delays = self._backoff()
            next_conn = await self._reconnect(delays)
            if next_conn is None:
                return
            conn = next_conn

    async def _reconnect(self, delays: Iterator[float]) -> Connection | None:
        """Wait the next delay of ``delays`` before each attempt; give up when they run out."""
        last: BaseException | None = None
        for delay in delays:
            await anyio.sleep(delay)
            try:
                conn = await self._open()
            except Exception as exc:
                if _is_terminal_failure(exc):
                    self._terminate(exc if isinstance(exc, StreamhilClientError) else ClientClosedError(str(exc)))
                    return None
                if not isinstance(exc, (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ConnectionLostError)):
                    raise
                last = exc
                continue
            self._reconnects += 1
            return conn
        self._terminate(ClientClosedError(f"could not reconnect: {last!r}"))
        return None

    async def _open(self) -> Connection:
        return await open_connection(
            self.url,
            token=self._token,
            headers=self._headers,
            client_info=self._client_info,
            open_timeout=self._open_timeout,
            connect_kwargs=self._connect_kwargs,
            max_in_flight=self._max_in_flight,
        )

    def _terminate(self, error: StreamhilClientError) -> None:
        self._closed_error = error
        self._connected.set()  # wake requests waiting for a connection; they raise the error
        self._fail_listeners(error)

    async def _shutdown(self) -> None:
        self._closing = True
        conn = self._conn
        if conn is not None:
            with anyio.move_on_after(self._open_timeout, shield=True):
                await conn.ws.close()
        if self._closed_error is None:
            self._closed_error = ClientClosedError("the client is closed")
        self._connected.set()
        for thread in self._threads.values():
            _close_all(thread)


async def _answer(waiter: _Waiter) -> Any:
    """Wait for a sent command's answer: its value, or raise its error."""
    await waiter.done.wait()
    if waiter.error is not None:
        raise waiter.error
    return waiter.value


class _NotSent(ConnectionLostError):
    """The connection was given up before the command left: safe to send on the next one."""


_SAFE_TO_RETRY = frozenset(
    {
        MessageType.PING,
        MessageType.GET_STATE,
        MessageType.GET_HISTORY,
        MessageType.LIST_THREADS,
        MessageType.LIST_GRAPHS,
        MessageType.SUBSCRIBE,
    }
)
"""Commands sent again on the next connection when the answer was lost: reads change nothing,
and a subscription dies with its connection. Runs, resumes, cancels and state updates are not
repeated: the caller gets :class:`ConnectionLostError` and decides."""

_STATUS_AFTER = {
    "run_started": "running",
    "run_interrupted": "interrupted",
    "run_done": "idle",
    "run_error": "error",
    "run_cancelled": "idle",
}
"""A thread's status after each lifecycle event (a queued run may start right after)."""


def _close_all(thread: _Thread) -> None:
    """End every listener of a thread: iterators stop, buffered events are dropped."""
    for send, receive in thread.listeners:
        send.close()
        receive.close()
    thread.listeners.clear()


def _interrupt_id(value: Any, what: str) -> Any:
    """An interrupt id, from the id itself or from the interrupt object that carries it."""
    if isinstance(value, InterruptInfo):
        return value.id
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{what}: expected an interrupt id (str) or an InterruptInfo, got {type(value).__name__}")


def _breakpoints(value: list[str] | tuple[str, ...] | str | None) -> tuple[str, ...] | Any:
    if value is None or value == "*":
        return value
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@asynccontextmanager
async def open_client(
    url: str,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    client_info: Mapping[str, str] | None = None,
    reconnect: bool = True,
    backoff: Callable[[], Iterator[float]] = backoff_delays,
    open_timeout: float = 10.0,
    heartbeat: bool = True,
    max_in_flight: int | None = None,
    **connect_kwargs: Any,
) -> AsyncIterator[Client]:
    """Connect to a streamhil server and keep the connection up until the block exits.

    The first connection must succeed (errors raise here). Later drops with a recoverable close
    code reconnect with ``backoff`` and resubscribe every followed thread from its last ``seq``,
    so iterators see neither gaps nor duplicates. ``connect_kwargs`` go to
    ``websockets.asyncio.client.connect`` (e.g. ``proxy=None``, ``ping_interval``).
    At most ``max_in_flight`` commands are unanswered at once (default: 1/16 of the server's
    ``limits.max_send_queue``, at most 64), so a burst (say 1,500 subscribes) cannot overflow the
    server's send queue; later commands wait their turn. asyncio only.
    """
    client = Client(
        url,
        token=token,
        headers=headers,
        client_info=client_info,
        reconnect=reconnect,
        backoff=backoff,
        open_timeout=open_timeout,
        heartbeat=heartbeat,
        connect_kwargs=connect_kwargs,
        max_in_flight=max_in_flight,
    )
    conn = await client._open()
    client._conn = conn
    client._connected.set()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client._maintain, conn)
            try:
                yield client
            finally:
                await client._shutdown()
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:  # show the caller the real error, not a group of one
            raise group.exceptions[0] from None
        raise
