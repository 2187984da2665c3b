"""The JS client's protocol definitions (``lib/protocol.js``) agree with ``streamhil.protocol``.

Node imports the ES module and prints its constants and the frames its builders make; this test
compares them with the Python enums and dataclasses, and feeds every JS-built frame to the
server's own decoder, so the two sides cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from streamhil.protocol import (
    COMMAND_TYPES,
    DEFAULT_STREAM_MODES,
    ERROR_FAMILY,
    IF_BUSY_POLICIES,
    MAX_ID_LENGTH,
    PROTOCOL_VERSION,
    STREAM_MODES,
    CloseCode,
    ErrorCode,
    ErrorFamily,
    INPUT_TYPES,
    EventKind,
    MessageType,
    NoticeKind,
    ProtocolError,
    Counters,
    CountersNotice,
    InterruptInfo,
    ThreadCreatedNotice,
    ThreadInfo,
    ThreadStatusNotice,
    decode_client_frame,
    decode_server_frame,
    encode,
    is_recoverable,
)

from .conftest import node_available

DUMP = Path(__file__).with_name("dump_protocol.mjs")


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = node_available()
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install -y nodejs)")
    frames = [encode(n) for n in SAMPLE_NOTICES]
    out = subprocess.run([node, str(DUMP), json.dumps(frames)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


_THREAD = ThreadInfo(thread_id="t-1", graph="publish", status="interrupted", head_seq=5,
                     interrupts=(InterruptInfo(id="i-1", value={"question": "Approve?"}, node="review"),))
SAMPLE_NOTICES = (
    ThreadCreatedNotice(thread=_THREAD),
    ThreadStatusNotice(thread=_THREAD),
    CountersNotice(counters=Counters(connections=2, events_total=9, events_per_second=1.5)),
)


def decode(frame: dict[str, Any]) -> Any:
    return decode_client_frame(json.dumps(frame), max_frame_bytes=1 << 20)


def test_enums_match(js: dict[str, Any]) -> None:
    assert js["PROTOCOL_VERSION"] == PROTOCOL_VERSION
    assert js["MessageType"] == {m.name: m.value for m in MessageType}
    assert js["EventKind"] == {k.name: k.value for k in EventKind}
    assert js["NoticeKind"] == {k.name: k.value for k in NoticeKind}
    assert js["ErrorCode"] == {c.name: c.value for c in ErrorCode}
    assert js["ErrorFamily"] == {f.name: f.value for f in ErrorFamily}
    assert js["ERROR_FAMILY"] == {code.value: family.value for code, family in ERROR_FAMILY.items()}
    assert js["CloseCode"] == {c.name: c.value for c in CloseCode}


def test_lists_and_limits_match(js: dict[str, Any]) -> None:
    assert js["STREAM_MODES"] == list(STREAM_MODES)
    assert js["DEFAULT_STREAM_MODES"] == list(DEFAULT_STREAM_MODES)
    assert js["IF_BUSY_POLICIES"] == list(IF_BUSY_POLICIES)
    assert js["MAX_ID_LENGTH"] == MAX_ID_LENGTH
    assert js["INPUT_TYPES"] == list(INPUT_TYPES)
    terminal = {EventKind.RUN_INTERRUPTED, EventKind.RUN_DONE, EventKind.RUN_ERROR, EventKind.RUN_CANCELLED}
    assert set(js["TERMINAL_EVENTS"]) == {k.value for k in terminal}


def test_recoverable_close_codes_match(js: dict[str, Any]) -> None:
    for code, recoverable in js["recoverable"].items():
        assert recoverable == is_recoverable(None if code == "null" else int(code)), code


def test_command_fields_match_the_dataclasses(js: dict[str, Any]) -> None:
    assert set(js["COMMAND_FIELDS"]) == {t.value for t in COMMAND_TYPES}
    for kind, cls in COMMAND_TYPES.items():
        python_fields = {f.name for f in dataclasses.fields(cls)} - {"id"}
        assert set(js["COMMAND_FIELDS"][kind.value]["fields"]) == python_fields, kind


def test_every_js_built_frame_is_accepted_by_the_python_decoder(js: dict[str, Any]) -> None:
    for name, frame in js["frames"].items():
        command = decode(frame)
        assert command.type == frame["type"], name
        assert command.id == frame["id"]
    hello = decode(js["hello"])
    assert hello.protocol_version == PROTOCOL_VERSION and hello.token == "tok"
    start = decode(js["frames"]["start_run"])
    assert (start.if_busy, start.subgraphs, start.interrupt_after) == ("enqueue", False, "*")
    resume = decode(js["frames"]["resume"])
    assert resume.value is None and resume.interrupt_id == "i"  # null is a real answer
    answers = decode(js["frames"]["resume_answers"])
    assert answers.answers == {"i1": "yes", "i2": None}


def test_required_fields_are_the_ones_python_requires(js: dict[str, Any]) -> None:
    for kind, spec in js["COMMAND_FIELDS"].items():
        full = js["frames"][kind]
        minimal = {k: v for k, v in full.items() if k in ("type", "id") or k in spec["required"]}
        if kind == "resume":
            minimal["value"] = "yes"  # one answer form is required as well
        decode(minimal)
        for key in spec["required"]:
            broken = {k: v for k, v in minimal.items() if k != key}
            with pytest.raises(ProtocolError) as info:
                decode(broken)
            assert info.value.code == ErrorCode.INVALID_FIELD and info.value.path == key, (kind, key)


def test_notices_the_server_encodes_are_read_by_both_clients(js: dict[str, Any]) -> None:
    assert js["serverFrames"] == [{"ok": True, "type": "notice", "notice": n.kind.value} for n in SAMPLE_NOTICES]
    for notice in SAMPLE_NOTICES:
        assert decode_server_frame(encode(notice), pending={}) == notice
