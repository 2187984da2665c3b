"""The command API: what a program calls (:func:`open_client`, :class:`Client`).

This SDK runs on asyncio only (it is built on ``websockets.asyncio``). The client is three
parts: this command API; :mod:`.router`, the pure bookkeeping of followed threads and their
listeners; and :mod:`.supervisor`, which keeps a connection up (reading, heartbeats, reconnects)
and matches answers to commands (:mod:`.requests`). Everything it starts lives in the task group
owned by :func:`open_client`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from streamhil.protocol import (
    UNSET,
    Cancel,
    Command,
    GetHistory,
    GetHistoryResult,
    GetState,
    GraphInfo,
    InterruptInfo,
    ListGraphs,
    ListThreads,
    Ping,
    Resume,
    ResumeResult,
    StartRun,
    StartRunResult,
    StateView,
    Subscribe,
    SubscribeResult,
    ThreadInfo,
    ThreadStatus,
    Unsubscribe,
    UnwatchThreads,
    UpdateState,
    UpdateStateResult,
    WatchThreads,
    WatchThreadsResult,
)
from streamhil.protocol.messages import DEFAULT_STREAM_MODES

from .arguments import breakpoints
from .arguments import interrupt_id as as_interrupt_id
from .arguments import stream_modes as as_stream_modes
from .backoff import backoff_delays
from .connection import Connection, open_connection
from .errors import ClientClosedError, ConflictError, ConnectionLostError
from .handles import Run, ThreadsWatch, ThreadWatch
from .router import Listener, ThreadRouter
from .supervisor import Supervisor

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
        self._open_timeout = open_timeout
        self._connect_kwargs = dict(connect_kwargs or {})
        self._router = ThreadRouter()
        self._supervisor = Supervisor(
            self._open, self._router, reconnect=reconnect, backoff=backoff, heartbeat=heartbeat,
            close_timeout=open_timeout,
        )
        self._stream_modes: dict[str, tuple[str, ...]] = {}  # thread id -> modes of its last run
        self._loop: asyncio.AbstractEventLoop | None = None  # (for handles the garbage collector drops)
        self._dropped: list[str] = []  # threads whose last Run handle was dropped without aclose()
        self._dropped_wake: anyio.Event | None = None

    # --- public API --------------------------------------------------------------------------

    @property
    def reconnect(self) -> bool:
        """Whether a recoverable drop reconnects (and replays) on its own."""
        return self._supervisor.reconnect

    @reconnect.setter
    def reconnect(self, value: bool) -> None:
        self._supervisor.reconnect = value

    @property
    def _conn(self) -> Connection | None:
        """The current connection (None while reconnecting)."""
        return self._supervisor.conn

    @property
    def epoch(self) -> str | None:
        """The server epoch of the current connection."""
        return None if self._conn is None else self._conn.epoch

    @property
    def identity(self) -> str | None:
        return None if self._conn is None else self._conn.welcome.identity

    def statistics(self) -> ClientStatistics:
        conn, router = self._conn, self._router
        return ClientStatistics(
            connected=conn is not None,
            epoch=self.epoch,
            reconnects=self._supervisor.reconnects,
            in_flight=0 if conn is None else conn.window.in_flight,
            queued=0 if conn is None else conn.window.queued,
            events_delivered=router.delivered,
            duplicates_dropped=router.duplicates,
            gaps=router.gaps,
            resyncs=router.resyncs,
            threads=len(router.threads),
        )

    def pending_interrupts(self, thread_id: str) -> tuple[InterruptInfo, ...]:
        """Interrupts pending on a thread this client follows, as last seen."""
        return self._router.pending_interrupts(thread_id)

    async def start_run(
        self,
        graph: str,
        input: Any = None,
        *,
        thread_id: str | None = None,
        stream_modes: str | tuple[str, ...] | list[str] = DEFAULT_STREAM_MODES,
        config: Mapping[str, Any] | None = None,
        interrupt_before: list[str] | tuple[str, ...] | str | None = None,
        interrupt_after: list[str] | tuple[str, ...] | str | None = None,
        checkpoint_id: str | None = None,
        if_busy: str = "reject",
        subgraphs: bool = True,
        metadata: Mapping[str, Any] | None = None,
        context: Any = None,
    ) -> Run:
        """Start a run; iterate the returned :class:`Run` for its events. ``stream_modes`` is
        one mode (``"values"``) or several. ``context`` is the run's context, which the graph's
        nodes read as ``runtime.context`` (a dict for a dataclass or pydantic ``context_schema``)."""
        command = StartRun(
            graph=graph,
            input=input,
            thread_id=thread_id,
            stream_modes=as_stream_modes(stream_modes),
            config=None if config is None else dict(config),
            interrupt_before=breakpoints(interrupt_before),
            interrupt_after=breakpoints(interrupt_after),
            checkpoint_id=checkpoint_id,
            if_busy=if_busy,  # type: ignore[arg-type]
            subgraphs=subgraphs,
            metadata=None if metadata is None else dict(metadata),
            context=context,
        )
        with self._router.starting(command.thread_id):
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
        stream_modes: str | tuple[str, ...] | list[str] | None = None,
        if_busy: str = "reject",
        context: Any = None,
    ) -> Run:
        """Answer pending interrupts of a thread; iterate the returned :class:`Run`.
        ``context`` is the answer's run's context (as :meth:`start_run`'s).

        ``interrupt_id`` (and the keys of ``answers``) may be the interrupt objects themselves
        (:class:`InterruptInfo`, e.g. from ``run.interrupts``). ``stream_modes`` (one mode or
        several) defaults to the modes of the thread's last run started or resumed by this client.
        """
        if stream_modes is None:
            stream_modes = self._stream_modes.get(thread_id)
        command = self._resume_command(thread_id, value, answers, interrupt_id, update, goto, stream_modes, if_busy, context)
        with self._router.starting(command.thread_id):
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
        thread = self._router.threads.get(thread_id)
        if thread is not None and thread.subscribed:
            if after is not None and after < thread.cursor.seq:
                raise ValueError(
                    f"this client already follows thread {thread_id!r} at seq {thread.cursor.seq}; "
                    f"events after {after} were delivered to its other listeners and are not kept"
                )
            listener = self._router.add_listener(thread)
            thread.explicit = True  # kept until unsubscribe, whatever the runs' handles do
            result = SubscribeResult(
                thread_id=thread_id,
                epoch=thread.cursor.epoch,
                head_seq=thread.cursor.seq,
                status=thread.status,
            )
            return ThreadWatch(self, thread_id=thread_id, result=result, listener=listener)
        command = Subscribe(thread_id=thread_id, after=after)
        watch: ThreadWatch = await self._request(command, self._on_subscribed)
        return watch

    async def unsubscribe(self, thread_id: str) -> None:
        """Stop the server sending this thread's events; its listeners end."""
        await self._request(Unsubscribe(thread_id=thread_id))
        self._router.unfollow(thread_id)

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
        status: ThreadStatus | list[ThreadStatus] | tuple[ThreadStatus, ...] | None = None,
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
        router = self._router
        listener = router.add_notice_listener()
        try:
            if router.watching_threads:  # a fresh snapshot for the new listener
                router.watching_threads = False
                try:
                    await self._request(UnwatchThreads())
                except ConflictError:
                    pass  # not watching on this connection (it was replaced meanwhile)
            result: WatchThreadsResult = await self._request(WatchThreads())
            router.watching_threads = True
        except BaseException:
            router.remove_notice_listener(listener)
            raise
        return ThreadsWatch(self, result, listener)

    async def list_graphs(self) -> tuple[GraphInfo, ...]:
        result = await self._request(ListGraphs())
        graphs: tuple[GraphInfo, ...] = result.graphs
        return graphs

    async def ping(self, payload: Any = None) -> Any:
        """Round trip to the server; returns the echoed payload."""
        result = await self._request(Ping(payload=payload))
        return result.payload

    # --- what handles call (see handles.HandleOwner) -------------------------------------

    def release_listener(self, thread_id: str, listener: Listener) -> None:
        """A :class:`Run` or :class:`ThreadWatch` was closed."""
        self._router.remove_listener(thread_id, listener)

    async def unfollow_if_unused(self, thread_id: str) -> None:
        """The last handle of a thread followed only for runs was closed: unsubscribe."""
        router, conn = self._router, self._conn
        if not router.unused(thread_id):
            return
        router.unfollow(thread_id)  # (a later run on it follows it anew)
        if conn is None or conn.broken:
            return  # the subscription ends with that connection, and is not renewed
        try:  # sent now, before any later command on the thread: the server keeps their order
            await self._supervisor.request_on(conn, Unsubscribe(thread_id=thread_id))
        except (ConflictError, ConnectionLostError, ClientClosedError):
            pass

    def abandon_listener(self, thread_id: str, listener: Listener) -> None:
        """A :class:`Run` handle was garbage collected without ``aclose()`` (called by the
        garbage collector, in any thread): unsubscribe as ``aclose()`` would, from the client's
        own task (:meth:`_unfollow_dropped`)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._abandoned, thread_id, listener)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _abandoned(self, thread_id: str, listener: Listener) -> None:
        self._router.remove_listener(thread_id, listener)
        if self._dropped_wake is not None and self._router.unused(thread_id):
            self._dropped.append(thread_id)
            self._dropped_wake.set()

    async def _unfollow_dropped(self) -> None:
        """Unsubscribe from the threads whose last Run handle was dropped (runs until cancelled)."""
        while True:
            self._dropped_wake = anyio.Event()
            if not self._dropped:
                await self._dropped_wake.wait()
            dropped, self._dropped = self._dropped, []
            for thread_id in dropped:
                await self.unfollow_if_unused(thread_id)

    def release_notice_listener(self, listener: Listener) -> None:
        """A :class:`ThreadsWatch` was closed."""
        self._router.remove_notice_listener(listener)

    async def unwatch_threads_if_idle(self) -> None:
        """The last :class:`ThreadsWatch` closed: stop the server's notices."""
        router = self._router
        if router.notice_listeners or not router.watching_threads:
            return
        router.watching_threads = False
        try:
            await self._request(UnwatchThreads())
        except (ConflictError, ConnectionLostError, ClientClosedError):
            pass

    async def send_resume(self, thread_id: str, value: Any, **kwargs: Any) -> ResumeResult:
        """``resume`` for a :class:`Run` handle: the reply, without a new handle."""
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
            kwargs.get("context"),
        )
        with self._router.starting(thread_id):
            result: ResumeResult = await self._request(command, self._on_resumed)
        self._stream_modes[thread_id] = command.stream_modes
        return result

    # --- commands ------------------------------------------------------------------------

    def _resume_command(
        self,
        thread_id: str,
        value: Any,
        answers: Mapping[Any, Any] | None,
        interrupt_id: str | InterruptInfo | None,
        update: Any,
        goto: str | list[str] | tuple[str, ...] | None,
        stream_modes: str | tuple[str, ...] | list[str] | None,
        if_busy: str,
        context: Any = None,
    ) -> Resume:
        named: str | None = as_interrupt_id(interrupt_id, "interrupt_id")
        if answers is not None:
            answers = {as_interrupt_id(key, "answers"): answer for key, answer in answers.items()}
        if answers is None and named is None and isinstance(value, Mapping) and value:
            # keyed by the pending interrupts' ids, or by interrupt objects (never a JSON value)
            pending = self._router.threads.get(thread_id)
            keys = {k.id if isinstance(k, InterruptInfo) else k for k in value}
            by_object = any(isinstance(k, InterruptInfo) for k in value)
            if by_object or (pending is not None and keys <= set(pending.pending)):
                answers, value = {as_interrupt_id(k, "answers"): v for k, v in value.items()}, UNSET
        if answers is not None and value is not UNSET:
            raise ValueError("give either a value or answers, not both")
        if answers is None and value is UNSET:
            raise ValueError("give the answer: resume(value), resume(value, interrupt_id=...) or resume(answers={...})")
        return Resume(
            thread_id=thread_id,
            value=value,
            interrupt_id=named,
            answers=None if answers is None else dict(answers),
            update=update,
            goto=goto if goto is None or isinstance(goto, str) else tuple(goto),
            stream_modes=DEFAULT_STREAM_MODES if stream_modes is None else as_stream_modes(stream_modes),
            if_busy=if_busy,  # type: ignore[arg-type]
            context=context,
        )

    async def _request(self, command: Command, on_reply: Callable[[Connection, Any], Any] | None = None) -> Any:
        return await self._supervisor.request(command, on_reply)

    # --- reply handlers (run in the reader, before any later frame is handled) ----------

    def _on_run_accepted(self, conn: Connection, result: StartRunResult | ResumeResult) -> Run:
        router = self._router
        thread = router.follow(conn.epoch, result.thread_id, result.seq)
        if isinstance(result, ResumeResult):
            router.forget_answered(thread, result.answered)
        return Run(
            self,
            thread_id=result.thread_id,
            run_id=result.run_id,
            seq=result.seq,
            queued=result.queued,
            listener=router.add_listener(thread),
        )

    def _on_resumed(self, conn: Connection, result: ResumeResult) -> ResumeResult:
        thread = self._router.follow(conn.epoch, result.thread_id, result.seq)
        self._router.forget_answered(thread, result.answered)
        return result

    def _on_subscribed(self, conn: Connection, result: SubscribeResult) -> ThreadWatch:
        _, listener = self._router.subscribed(result)
        return ThreadWatch(self, thread_id=result.thread_id, result=result, listener=listener)

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
    ``limits.max_send_queue``, at most 64, and never more than its ``max_commands_in_flight``),
    so a burst (say 1,500 subscribes) cannot overflow the server's send queue; later commands
    wait their turn. asyncio only.
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
    supervisor = client._supervisor
    supervisor.start(conn)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(supervisor.maintain, conn)
            client._loop = asyncio.get_running_loop()
            tg.start_soon(client._unfollow_dropped)
            try:
                yield client
            finally:
                client._loop = None
                await supervisor.shutdown()
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:  # show the caller the real error, not a group of one
            raise group.exceptions[0] from None
        raise
