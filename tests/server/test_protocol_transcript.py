"""docs/protocol.md §14, the worked transcript, is what the server really sends: each client frame
of the transcript is sent to a server running the demo ``publish`` graph, and every complete
server frame shown after it must be the one the server sends there (ids aside: the server's are
renamed to the transcript's short ones in order of appearance). A tester found the resumes there
lacked ``stream_modes`` and a payload was wrong."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import Wire

SPEC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
LINE = re.compile(r"^\s*(?P<dir>[→←])\s+(?P<json>\{.*\})\s*$")


def transcript(title_start: str) -> list[tuple[str, str]]:
    """(direction, frame text) for each one-line frame of a section's block, ``…`` ones included."""
    match = re.search(rf"^## {re.escape(title_start)}.*?```text\n(.*?)```", SPEC, re.S | re.M)
    assert match, title_start
    return [(m["dir"], m["json"]) for line in match.group(1).splitlines() if (m := LINE.match(line))]


class Aliases:
    """The server's ids, renamed as the transcript names them, in order of first appearance."""

    def __init__(self, epoch: str) -> None:
        self.names: dict[str, str] = {epoch: "e-1"}
        self.counts: dict[str, int] = {}

    def learn(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, prefix in (("thread_id", "t-"), ("run_id", "r-")):
                if isinstance(value.get(key), str):
                    self._name(value[key], prefix)
            if {"id", "task_id", "node"} <= value.keys():  # an Interrupt object
                self._name(value["id"], "i-")
                self._name(value["task_id"], "k-")
            for item in value.values():
                self.learn(item)
        elif isinstance(value, list):
            for item in value:
                self.learn(item)

    def _name(self, real: str, prefix: str) -> None:
        if real in self.names:
            return
        n = self.counts[prefix] = self.counts.get(prefix, 0) + 1
        self.names[real] = prefix + ("abcdefgh"[n - 1] if prefix == "i-" else str(n))

    def to_doc(self, frame: dict[str, Any]) -> dict[str, Any]:
        self.learn(frame)
        text = orjson.dumps(frame).decode()
        for real, short in self.names.items():
            text = text.replace(real, short)
        return dict(orjson.loads(text))

    def to_server(self, text: str) -> str:
        for real, short in sorted(self.names.items(), key=lambda item: -len(item[1])):
            text = text.replace(f'"{short}"', f'"{real}"').replace(f" {short} ", f" {real} ")
        return text


def test_section_14_is_what_the_server_sends(make_client: Any) -> None:
    lines = transcript("14. Worked")
    compared = 0
    with make_client(demo_graphs()) as client, ExitStack() as connection:
        wire: Wire | None = None
        aliases: Aliases | None = None
        for index, (direction, text) in enumerate(lines):
            if direction == "←":
                continue
            shown = []
            for later_direction, later in lines[index + 1 :]:
                if later_direction == "→":
                    break
                shown.append(later)
            if '"type":"hello"' in text:  # a (new) connection; its welcome is not compared
                connection.close()  # the connection drops
                wire = connection.enter_context(connect(client))
                aliases = aliases or Aliases(wire.welcome["epoch"] if wire.welcome else "")
                continue
            assert wire is not None and aliases is not None
            wire.send_raw(aliases.to_server(text))
            for expected in shown:
                got = aliases.to_doc(wire.recv())
                if "…" in expected:
                    continue
                assert got == orjson.loads(expected), f"after {text}"
                compared += 1
    assert compared >= 18
