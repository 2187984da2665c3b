"""Runs the JS client's own tests (``clients/web/tests``, ``node --test``) inside pytest."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import node_available

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"


def test_node_tests_pass() -> None:
    node = node_available()
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install -y nodejs)")
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "tests/"],
        cwd=WEB, capture_output=True, text=True, timeout=120,
    )
    summary = dict(re.findall(r"^# (pass|fail|cancelled) (\d+)$", result.stdout, flags=re.M))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert int(summary.get("pass", 0)) >= 20, summary
    assert summary.get("fail") == "0" and summary.get("cancelled") == "0", summary
