"""docs/prebuilt.md: every Python block is an excerpt of an example the tests run; the examples run."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "prebuilt.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_every_python_block_is_in_an_example() -> None:
    examples = {p.name: p.read_text() for p in (ROOT / "examples").glob("*.py")}
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 5
    for block in blocks:
        homes = [name for name, text in examples.items() if block in text]
        assert homes, f"this docs block is not in any examples/*.py file:\n{block}"


@pytest.mark.anyio
async def test_custom_chat_model_example(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("example_custom_chat_model", ROOT / "examples" / "custom_chat_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with anyio.fail_after(10):
        tokens = await module.main()
    assert "".join(tokens) == "That is 9.00 EUR. "
    out = capsys.readouterr().out
    assert "'required': ['amount']" in out and "That is 9.00 EUR." in out
