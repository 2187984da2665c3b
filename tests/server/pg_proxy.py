"""A TCP proxy in front of PostgreSQL that a test can turn into an outage: :meth:`DatabaseProxy.refuse`
cuts every open connection and refuses new ones (accepted, then closed at once, as a server
that is shutting down), :meth:`DatabaseProxy.restore` forwards again. It runs its own asyncio loop
in a thread, so the PostgreSQL cluster other tests share is never stopped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DatabaseProxy", "database_proxy"]


class DatabaseProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``; see the module's docstring."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.refusing = False
        self.refused = 0
        """Connections refused so far."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="database proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._lose_commit = False
        self.commits_lost = 0
        """``COMMIT`` answers swallowed so far (see :meth:`lose_next_commit_answer`)."""

    def start(self) -> None:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]

    def refuse(self) -> None:
        """The outage begins: open connections are cut (reset), new ones refused."""

        async def cut() -> None:
            self.refusing = True
            for writer in list(self._open):
                writer.transport.abort()
            self._open.clear()

        self._call(cut())

    def restore(self) -> None:
        """The outage ends: new connections are forwarded again."""

        async def back() -> None:
            self.refusing = False

        self._call(back())

    def lose_next_commit_answer(self) -> None:
        """The next ``COMMIT`` a client sends reaches the database, which commits; its answer
        never comes back: the connection is cut instead (the client cannot know the outcome)."""

        async def arm() -> None:
            self._lose_commit = True

        self._call(arm())

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._open):
                writer.transport.abort()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url(self, url: str) -> str:
        """``url`` (a ``postgresql://`` URL of the upstream) through this proxy."""
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        swallow = False  # the next answer of the database is a COMMIT's: cut instead of passing it on

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, to_database: bool) -> None:
            nonlocal swallow
            try:
                while chunk := await src.read(65536):
                    if to_database and self._lose_commit and b"COMMIT" in chunk:
                        self._lose_commit, swallow = False, True  # (set before the database can answer)
                    elif not to_database and swallow:
                        self.commits_lost += 1
                        up_writer.transport.abort()
                        break
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer, to_database=True), pipe(up_reader, writer, to_database=False))
        finally:
            self._open -= {writer, up_writer}


@contextmanager
def database_proxy(url: str) -> Iterator[tuple[DatabaseProxy, str]]:
    """A proxy in front of the database of ``url``, and ``url`` through it."""
    parts = urlsplit(url)
    proxy = DatabaseProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    try:
        yield proxy, proxy.url(url)
    finally:
        proxy.close()
