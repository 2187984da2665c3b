"""uvicorn's HTTP/1.1 protocol with a deadline for requests that stall (slowloris defence), and
the process's file-descriptor limit.

uvicorn times out idle keep-alive connections, but a socket that sends nothing, or half a request
line, or half its headers or body, is kept forever: a few thousand such sockets use up the
process's descriptors and lock real clients out. :func:`stalling_protocol` returns a protocol
class that closes a connection when the client owes the server bytes of a request (its headers,
or a body it announced) and sends none for ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["descriptor_limit", "stalling_protocol"]


def stalling_protocol(timeout: float) -> type[H11Protocol]:
    """An ``H11Protocol`` subclass that closes stalled requests after ``timeout`` seconds."""

    class StallTimeoutH11Protocol(H11Protocol):
        _stall: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()  # the request line and headers are owed from the start

        def data_received(self, data: bytes) -> None:
            self._disarm()
            super().data_received(data)
            if self.transport.get_protocol() is not self:
                return  # upgraded to a WebSocket: h11 still says SEND_BODY, but nothing is owed
            if self._owes_bytes():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _owes_bytes(self) -> bool:
            """Part of a request arrived and the rest has not."""
            if self.transport.is_closing():
                return False
            state = self.conn.their_state
            if state is h11.SEND_BODY:
                return True
            return state is h11.IDLE and bool(self.conn.trailing_data[0])

        def _arm(self) -> None:
            self._stall = self.loop.call_later(timeout, self._stalled)

        def _disarm(self) -> None:
            if self._stall is not None:
                self._stall.cancel()
                self._stall = None

        def _stalled(self) -> None:
            self._stall = None
            if self.transport.get_protocol() is not self:
                return  # upgraded to a WebSocket: that protocol owns the socket now
            if not self.transport.is_closing():
                self.transport.close()

    return StallTimeoutH11Protocol


def descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard limit; return the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
