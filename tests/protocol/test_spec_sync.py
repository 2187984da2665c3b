"""docs/protocol.md is normative: its tables and the Python enums must agree."""

from __future__ import annotations

import re
from pathlib import Path

from streamhil.protocol import (
    COMMAND_TYPES,
    ERROR_FAMILY,
    PROTOCOL_VERSION,
    STREAM_MODES,
    CloseCode,
    ErrorCode,
    EventKind,
    NoticeKind,
)

SPEC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()


def section(title_start: str) -> str:
    match = re.search(rf"^## {re.escape(title_start)}.*?(?=^## )", SPEC, re.S | re.M)
    assert match, f"docs/protocol.md has no section starting with {title_start!r}"
    return match.group(0)


def first_cells(text: str) -> list[str]:
    """The first cell of every table row whose first cell is `code`-quoted."""
    return re.findall(r"^\| `([a-z_]+)` \|", text, re.M)


def test_version() -> None:
    assert f"`protocol_version: {PROTOCOL_VERSION}`" in SPEC


def test_error_codes_and_families() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z_]+) \|", section("7. Errors"), re.M)
    assert {code: family for code, family in rows} == {c.value: f.value for c, f in ERROR_FAMILY.items()}
    assert len(rows) == len(ErrorCode)


def test_close_codes() -> None:
    rows = re.findall(r"^\| (\d{4}) \| `([A-Z_]+)` \|", section("8. Close codes"), re.M)
    documented = {int(code): name for code, name in rows}
    assert documented == {c.value: c.name for c in CloseCode if c >= 4000}


def test_command_table() -> None:
    table = section("5. Commands").split("### 5.2")[0]
    assert set(first_cells(table)) - {"type"} == {t.value for t in COMMAND_TYPES}


def test_event_kinds() -> None:
    events = section("6. Events").split("### 6.3")[0]
    assert set(first_cells(events)) - {"event", "thread_id", "run_id", "seq", "ns", "data"} == {
        k.value for k in EventKind
    }


def test_notice_kinds() -> None:
    notices = section("6. Events").split("### 6.3")[1]
    assert set(first_cells(notices)) - {"notice"} == {k.value for k in NoticeKind}


def test_stream_modes_listed_in_start_run() -> None:
    for mode in STREAM_MODES:
        assert f"`{mode}`" in section("5. Commands")
