"""Spec sections 14 and 15: every complete frame of the worked transcripts is valid.

Client frames are decoded by a ServerSession, sent again by a ClientSession with the same id,
and the server frames that follow are fed to that ClientSession, in transcript order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamhil.protocol import (
    ClientSession,
    ErrorReply,
    Hello,
    InterruptEvent,
    Reply,
    ServerSession,
    SessionState,
    Welcome,
    decode_client_frame,
    encode,
)

SPEC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
LINE = re.compile(r"^\s*(?P<who>[AB]?)(?P<dir>[→←])\s+(?P<json>\{.*\})\s*$")


def transcript(title_start: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(connection, direction, frame) for each complete one-line frame of a section's block."""
    match = re.search(rf"^## {re.escape(title_start)}.*?```text\n(.*?)```", SPEC, re.S | re.M)
    assert match
    frames = []
    for line in match.group(1).splitlines():
        m = LINE.match(line)
        if m is None or "…" in m["json"]:
            continue
        frames.append((m["who"] or "A", m["dir"], orjson.loads(m["json"])))
    return frames


def welcome_for(hello: Hello) -> Welcome:
    server = ServerSession()
    server.receive_text(encode(hello))
    server.events_received()
    return server.send_welcome(session_id="s", epoch="e-1", identity="alice")


@pytest.mark.parametrize(
    ("title", "minimum", "kinds"),
    [("14. Worked", 25, {"reply", "error", "event"}), ("15. Worked", 8, {"reply", "error"})],
)
def test_transcript_frames_are_valid(title: str, minimum: int, kinds: set[str]) -> None:
    frames = transcript(title)
    assert len(frames) >= minimum
    clients: dict[str, ClientSession] = {}
    seen = {"reply": 0, "error": 0, "event": 0}

    def client_for(who: str) -> ClientSession:
        if who not in clients:
            clients[who] = connect(Hello(token="alice-token"))
        return clients[who]

    def connect(hello: Hello) -> ClientSession:
        client = ClientSession(token=hello.token)
        client.data_to_send()
        client.receive_text(encode(welcome_for(hello)))
        client.events_received()
        assert client.state is SessionState.OPEN
        return client

    for who, direction, obj in frames:
        if direction == "→":
            message = decode_client_frame(orjson.dumps(obj).decode(), max_frame_bytes=1 << 20)
            if isinstance(message, Hello):
                clients[who] = connect(message)
                continue
            client = client_for(who)
            assert client.send(message) == obj["id"]
            resent = orjson.loads(client.data_to_send()[0])
            assert {k: v for k, v in resent.items() if k in obj} == obj
        else:
            client = client_for(who)
            client.receive_text(orjson.dumps(obj).decode())
            assert client.state is SessionState.OPEN, client.protocol_error
            (event,) = client.events_received()
            seen[obj["type"]] += 1
            if isinstance(event, Reply):
                assert event.result.to_wire() == obj["result"]
            elif isinstance(event, ErrorReply):
                assert event.code == obj["code"]
            else:
                assert encode(event) == orjson.dumps(obj).decode()
                if isinstance(event, InterruptEvent):
                    assert all(i.id.startswith("i-") for i in event.interrupts)
    assert {kind for kind, count in seen.items() if count} == kinds, seen
