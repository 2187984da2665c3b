"""Every file in examples/ runs as a script, offline, and prints what it promises.

Examples are deterministic: the ones listed in EXPECTED must print exactly those lines (ids and
timestamps are never printed). Any other example must at least exit 0 without a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        "paused in node: human_node",
        "question: {'text_to_revise': 'Original text.'}",
        "waiting on: ('human_node',)",
        "result: {'some_text': 'Edited text'}",
        "steps saved: [2, 1, 0, -1]",
    ],
    "approve_or_reject.py": [
        "asked: Do you approve the following output?",
        "approved path taken",
        "approve -> {'llm_output': 'This is the generated output.', 'decision': 'approved'}",
        "asked: Do you approve the following output?",
        "rejected path taken",
        "reject -> {'llm_output': 'This is the generated output.', 'decision': 'rejected'}",
    ],
    "validate_input.py": [
        "Q0: Please enter your age (must be a non-negative integer).",
        "A0: not a number",
        "Q1: 'not a number' is not valid. Please enter a non-negative integer for age.",
        "A1: -10",
        "Q2: '-10' is not valid. Please enter a non-negative integer for age.",
        "A2: 25",
        "Human is 25 years old.",
        "result: {'age': 25}",
    ],
    "parallel_interrupts.py": [
        "waiting on: ['legal', 'style']",
        "a plain answer is ambiguous with two questions pending",
        "still waiting on: ['legal']",
        "publishing with ['legal: approved', 'style: fine']",
        "one by one -> {'draft': 'v1', 'reviews': ['legal: approved', 'style: fine']}",
        "publishing with ['legal: ok', 'style: ok']",
        "at once -> {'draft': 'v2', 'reviews': ['legal: ok', 'style: ok']}",
    ],
    "breakpoints_and_edits.py": [
        "paused before: ('human_review',)",
        "approved -> ['llm', 'human_review (no edit)', \"run_tool: search('weather in Pariss')\"]",
        "after the edit, next: ('run_tool',)",
        "edited -> ['llm', 'human edited', \"run_tool: search('weather in Paris')\"]",
    ],
    "time_travel.py": [
        "loop  step  2 next=()",
        "loop  step  1 next=('write_joke',)",
        "loop  step  0 next=('pick_topic',)",
        "input step -1 next=('__start__',)",
        "replay ran: ['write_joke'] -> ['topic: cats', 'a joke about cats']",
        "fork ran: ['write_joke'] -> ['topic: cats', 'a joke about dogs']",
    ],
    "subgraph_resume.py": [
        "asked 'what is your name?' in sub_ask (namespace as_node...)",
        "asked 'what is your name?' in sub_ask (namespace caller...)",
        "result: ['prepared', 'name: Ada', 'prepared', 'name: Grace']",
        "entered: {'caller': 2, 'sub_ask': 4, 'sub_prepare': 2}",
    ],
    "async_sqlite.py": [
        line
        for backend in ("asyncio", "trio")
        for line in (
            f"-- {backend}",
            "update: {'plan': {'log': ['planned']}}",
            "paused: ['ship it?']",
            "pending: ['ship it?']",
            "result: {'log': ['planned', 'confirmed: yes']}",
        )
    ],
}


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env["PYTHONHASHSEED"] = "0"
    return env


def test_examples_exist() -> None:
    names = {path.name for path in EXAMPLES}
    assert set(EXPECTED) <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    expected = EXPECTED.get(example.name)
    if expected is not None:
        assert proc.stdout.splitlines() == expected
