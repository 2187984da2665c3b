"""examples/tool_review.py runs end to end with the scripted model, on asyncio and trio."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import anyio
import pytest

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tool_review.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_tool_review", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_tool_review_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example()
    with anyio.fail_after(10):
        log = await example.main()
    tools = [line for line in log if line.startswith("[tool")]
    assert tools == [
        "[tool book_hotel] Successfully booked a stay at McKittrick hotel.",
        "[tool book_hotel] Successfully booked a stay at McKittrick Hotel.",
        "[tool book_hotel] Successfully booked 2 night(s) at Ritz.",
        "[tool book_hotel] Successfully booked 3 night(s) at Savoy.",
    ]
    interrupts = [line for line in log if line.startswith("[interrupt")]
    distinct = {line.split("]")[0] for line in interrupts}
    assert len(distinct) == 5, "one per seed run, two parallel reviews, one re-ask"
    # the parked Savoy review is shown again (same id) by each run that answers the Ritz one
    assert len(interrupts) == 7
    assert any("args.nights: expected integer, got string 'two'" in line for line in interrupts)
    assert log.count("[agent] All set, enjoy your stay!") == 3
    assert "All set, enjoy your stay!" in capsys.readouterr().out
