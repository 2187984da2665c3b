"""A thin driver for the server's WebSocket through Starlette's TestClient (no sockets).

Every receive waits at most ``TIMEOUT`` seconds, so a missing frame fails the test instead of
hanging it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from starlette.testclient import WebSocketTestSession

TIMEOUT = 10.0
TERMINAL = {"run_interrupted", "run_done", "run_error", "run_cancelled"}


class Closed(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


class Wire:
    """One client connection: send commands, read frames, keep the events seen."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] | None = None
        self.messages: list[int] = []
        """Frames per WebSocket message received after the welcome (more than 1: a batch)."""
        self._ends: set[tuple[str, int]] = set()
        self._batched: deque[dict[str, Any]] = deque()  # the rest of a batched message

    # --- raw ---------------------------------------------------------------------------------
    def send_raw(self, text: str) -> None:
        self.ws.send_text(text)

    def send_json(self, obj: Any) -> None:
        self.ws.send_text(orjson.dumps(obj).decode())

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame: of the next message, or of a batched message already received."""
        if self._batched:
            return self._received(self._batched.popleft())

        async def get() -> Any:
            with anyio.fail_after(timeout):
                return await self.ws._send_rx.receive()

        message = self.ws.portal.call(get)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code"), message.get("reason") or "")
        parsed = orjson.loads(message["text"])
        if isinstance(parsed, list):  # a batch: only when negotiated, never of one frame
            assert self.welcome is not None and self.welcome.get("batch") is True, "a batch that was not negotiated"
            assert len(parsed) > 1, "a batch of one frame"
            self.messages.append(len(parsed))
            self._batched.extend(parsed[1:])
            return self._received(parsed[0])
        if self.welcome is not None:
            self.messages.append(1)
        return self._received(parsed)

    def _received(self, frame: dict[str, Any]) -> dict[str, Any]:
        self.frames.append(frame)
        if frame.get("type") == "event":
            self.events.append(frame)
        return frame

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a sync function in the server's event loop thread."""
        return self.ws.portal.call(_sync(fn), *args)

    # --- protocol ----------------------------------------------------------------------------
    def hello(self, token: str | None = None, **extra: Any) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "hello", "protocol_version": 1, **extra}
        if token is not None:
            frame["token"] = token
        self.send_json(frame)
        self.welcome = self.recv()
        return self.welcome

    def send(self, type: str, **fields: Any) -> str:
        id = fields.pop("id", None) or str(next(self.ids))
        self.send_json({"type": type, "id": id, **fields})
        return id

    def answer(self, id: str) -> dict[str, Any]:
        """Read frames until the reply or error for ``id``."""
        while True:
            frame = self.recv()
            if frame.get("type") in ("reply", "error") and frame.get("id") == id:
                return frame

    def request(self, type: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its result; fail on an error frame."""
        frame = self.answer(self.send(type, **fields))
        assert frame["type"] == "reply", frame
        return frame["result"]

    def error(self, type: str, **fields: Any) -> dict[str, Any]:
        """Send a command that must fail; return the error frame."""
        frame = self.answer(self.send(type, **fields))
        assert frame["type"] == "error", frame
        return frame

    def until(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            frame = self.recv()
            if pred(frame):
                return frame

    def run_end(self, thread_id: str, run_id: str | None = None) -> dict[str, Any]:
        """The next terminal event of ``thread_id`` (of run ``run_id`` if given) not returned
        before; reads more frames if needed."""

        def fresh(f: dict[str, Any]) -> bool:
            key = (f["thread_id"], f["seq"])
            return (
                f["thread_id"] == thread_id
                and f["event"] in TERMINAL
                and key not in self._ends
                and (run_id is None or f["run_id"] == run_id)
            )

        for event in self.events:
            if fresh(event):
                break
        else:
            event = self.until(lambda f: f.get("type") == "event" and fresh(f))
        self._ends.add((event["thread_id"], event["seq"]))
        return event

    def thread_events(self, thread_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["thread_id"] == thread_id]


def _sync(fn: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any) -> Any:
        return fn(*args)

    return call


def check_seqs(events: list[dict[str, Any]], start: int = 1) -> None:
    """Per thread, seqs are start, start+1, ... with no gap and no duplicate."""
    by_thread: dict[str, list[int]] = {}
    for e in events:
        by_thread.setdefault(e["thread_id"], []).append(e["seq"])
    for thread_id, seqs in by_thread.items():
        first = seqs[0]
        assert seqs == list(range(first, first + len(seqs))), (thread_id, seqs)
