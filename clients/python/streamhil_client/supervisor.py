"""Keeping a client connected: read the current connection, keep it alive, and after a
recoverable drop reconnect with backoff and subscribe again to every followed thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamhil.protocol import (
    BaseEvent,
    CloseCode,
    Command,
    ErrorReply,
    Ping,
    Reply,
    SessionState,
    Subscribe,
    SubscribeResult,
    WatchThreads,
    WatchThreadsResult,
    is_recoverable,
)

from .connection import Connection
from .errors import (
    AuthError,
    BadRequestError,
    ClientClosedError,
    ConnectionLostError,
    StreamhilClientError,
)
from .events import NOTICE_TYPES, ThreadsSnapshot
from .requests import SAFE_TO_RETRY, NotSent, OnReply, Waiter, answer, resolve, send_on
from .router import Failure, FollowedThread, ThreadRouter

__all__ = ["Supervisor"]


def _is_terminal_failure(exc: BaseException) -> bool:
    """Errors that reconnecting cannot fix."""
    return isinstance(exc, (AuthError, BadRequestError, ClientClosedError, InvalidURI))


class Supervisor:
    """The client's connection over time: the current one, requests on it, and reconnects."""

    def __init__(
        self,
        open_connection: Callable[[], Awaitable[Connection]],
        router: ThreadRouter,
        *,
        reconnect: bool,
        backoff: Callable[[], Iterator[float]],
        heartbeat: bool,
        close_timeout: float,
    ) -> None:
        self._open = open_connection
        self.router = router
        self.reconnect = reconnect
        self._backoff = backoff
        self._heartbeat = heartbeat
        self._close_timeout = close_timeout
        self.conn: Connection | None = None
        self._connected = anyio.Event()
        self._send_lock = anyio.Lock()
        self.closed_error: StreamhilClientError | None = None
        self._closing = False
        self.reconnects = 0

    def start(self, conn: Connection) -> None:
        """Make ``conn`` (the first connection, opened by the caller) the current one."""
        self.conn = conn
        self._connected.set()

    # --- requests ----------------------------------------------------------------------------

    async def request(self, command: Command, on_reply: OnReply | None = None) -> Any:
        """Send ``command`` once a connection is up and wait for its answer."""
        while True:
            if self.closed_error is not None:
                raise self.closed_error
            conn = self.conn
            if conn is None:
                await self._connected.wait()
                continue
            if conn.broken or conn.session.state is not SessionState.OPEN:
                await conn.closed.wait()  # nothing was sent: wait for the next connection
                continue
            try:
                return await self.request_on(conn, command, on_reply)
            except NotSent:
                await conn.closed.wait()
            except ConnectionLostError:
                if command.type not in SAFE_TO_RETRY or not self.reconnect:
                    raise
                await conn.closed.wait()

    async def request_on(
        self, conn: Connection, command: Command, on_reply: OnReply | None = None, *, bypass: bool = False
    ) -> Any:
        return await answer(await send_on(conn, command, on_reply, self._send_lock, bypass=bypass))

    # --- one connection ----------------------------------------------------------------------

    def _dispatch(self, conn: Connection, message: Any) -> None:
        if isinstance(message, (Reply, ErrorReply)):
            resolve(conn, message)
        elif isinstance(message, BaseEvent):
            reason = self.router.route(conn.epoch, message)
            if reason is not None:
                conn.broken = reason
        elif isinstance(message, NOTICE_TYPES):
            self.router.deliver_notice(message)

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
        router = self.router
        sent: list[tuple[FollowedThread, Waiter]] = []
        try:
            for thread_id, thread in router.followed():
                command = Subscribe(thread_id=thread_id, after=thread.cursor.seq, epoch=thread.cursor.epoch)

                def apply(c: Connection, result: SubscribeResult, thread: FollowedThread = thread) -> SubscribeResult:
                    router.apply_subscribe_result(thread, result, fresh=False)
                    return result

                try:
                    sent.append((thread, await send_on(conn, command, apply, self._send_lock, priority=True)))
                except ConnectionLostError:
                    return
            if router.watching_threads:

                def snapshot(c: Connection, result: WatchThreadsResult) -> WatchThreadsResult:
                    router.deliver_notice(ThreadsSnapshot(threads=result.threads, counters=result.counters, reconnected=True))
                    return result

                try:
                    await send_on(conn, WatchThreads(), snapshot, self._send_lock, priority=True)
                except ConnectionLostError:
                    return
        finally:
            conn.window.open()
        for thread, waiter in sent:
            try:
                await answer(waiter)
            except ConnectionLostError:
                return
            except StreamhilClientError as exc:
                thread.subscribed = False
                router.deliver(thread, Failure(exc))
        conn.healthy = True

    async def _keep_alive(self, conn: Connection) -> None:
        interval = conn.welcome.limits.heartbeat_interval_ms / 1000
        while True:
            await anyio.sleep(max(0.0, conn.last_sent + interval - anyio.current_time()))
            if anyio.current_time() - conn.last_sent < interval:
                continue
            with anyio.move_on_after(interval) as scope:
                try:  # past the window: a full window must not look like a dead server
                    await self.request_on(conn, Ping(payload="heartbeat"), bypass=True)
                except StreamhilClientError:
                    return
            if scope.cancelled_caught:
                conn.broken = "heartbeat: no answer to ping"
                await conn.ws.close(CloseCode.NORMAL, "heartbeat timeout")
                return

    async def _serve(self, conn: Connection) -> None:
        async with anyio.create_task_group() as tg:
            self.conn = conn
            self._connected.set()
            tg.start_soon(self._resubscribe, conn)
            if self._heartbeat:
                tg.start_soon(self._keep_alive, conn)
            await self._read(conn)
            tg.cancel_scope.cancel()

    def _drop(self, conn: Connection) -> int | None:
        """Forget a closed connection; fail what waited on it. Returns the close code."""
        if self.conn is conn:
            self.conn = None
            self._connected = anyio.Event()
        error = ConnectionLostError(f"the connection closed ({_why_closed(conn)})")
        for waiter in conn.waiters.values():
            waiter.reject(error)
        conn.waiters.clear()
        conn.closed.set()
        conn.window.close()  # commands waiting for room were not sent: they go on the next connection
        if conn.broken:
            return None  # the client dropped it on purpose: reconnect
        return conn.ws.close_code

    # --- over time ---------------------------------------------------------------------------

    async def maintain(self, conn: Connection) -> None:
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
                self.terminate(
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
                    self.terminate(exc if isinstance(exc, StreamhilClientError) else ClientClosedError(str(exc)))
                    return None
                if not isinstance(exc, (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ConnectionLostError)):
                    raise
                last = exc
                continue
            self.reconnects += 1
            return conn
        self.terminate(ClientClosedError(f"could not reconnect: {last!r}"))
        return None

    def terminate(self, error: StreamhilClientError) -> None:
        self.closed_error = error
        self._connected.set()  # wake requests waiting for a connection; they raise the error
        self.router.fail_all(error)

    async def shutdown(self) -> None:
        self._closing = True
        conn = self.conn
        if conn is not None:
            with anyio.move_on_after(self._close_timeout, shield=True):
                await conn.ws.close()
        if self.closed_error is None:
            self.closed_error = ClientClosedError("the client is closed")
        self._connected.set()
        self.router.close_all()


def _why_closed(conn: Connection) -> str:
    """Why a connection closed, as far as the client can tell: its own reason for dropping it,
    the server's last error, the server's close frame, or no close frame at all (the network
    failed or the server stopped abruptly)."""
    if conn.broken:
        return conn.broken
    if conn.last_error is not None:
        return conn.last_error.message
    code = conn.ws.close_code
    if code is None or code == 1006:
        return "no close frame: the network failed or the server stopped abruptly"
    return f"by the server, code {code}: {conn.ws.close_reason or 'no reason given'}"
