"""A loopback TCP proxy whose connections the test can cut, to force a client to reconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import SocketStream, TaskGroup


class CuttableProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``; :meth:`cut` drops every open connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.connections = 0
        self._scopes: list[anyio.CancelScope] = []
        self._tg: TaskGroup | None = None

    def cut(self) -> None:
        for scope in self._scopes:
            scope.cancel()
        self._scopes.clear()

    async def _handle(self, client: SocketStream) -> None:
        self.connections += 1
        with anyio.CancelScope() as scope:
            self._scopes.append(scope)
            async with client, await anyio.connect_tcp("127.0.0.1", self.upstream_port) as upstream:
                async with anyio.create_task_group() as tg:

                    async def pipe(src: SocketStream, dst: SocketStream) -> None:
                        try:
                            async for chunk in src:
                                await dst.send(chunk)
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                            pass
                        tg.cancel_scope.cancel()

                    tg.start_soon(pipe, client, upstream)
                    tg.start_soon(pipe, upstream, client)


@asynccontextmanager
async def open_proxy(upstream_port: int) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(upstream_port)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    proxy.port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, proxy._handle)
        try:
            yield proxy
        finally:
            tg.cancel_scope.cancel()
