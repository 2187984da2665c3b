"""Deterministic ids (difference 1): relationships, never literals."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from streamhil._ids import NULL_TASK_ID, interrupt_id, task_id

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_task_id_shape_and_stability() -> None:
    first = task_id("cp-1", "", 1, "ask", "pull", "branch:to:ask")
    assert UUID.match(first)
    assert first == task_id("cp-1", "", 1, "ask", "pull", "branch:to:ask")
    variants = {
        task_id("cp-2", "", 1, "ask", "pull", "branch:to:ask"),
        task_id("cp-1", "child:x", 1, "ask", "pull", "branch:to:ask"),
        task_id("cp-1", "", 2, "ask", "pull", "branch:to:ask"),
        task_id("cp-1", "", 1, "other", "pull", "branch:to:ask"),
        task_id("cp-1", "", 1, "ask", "push", "branch:to:ask"),
        task_id("cp-1", "", 1, "ask", "pull", "join:a+b:ask"),
    }
    assert first not in variants and len(variants) == 6
    assert UUID.match(NULL_TASK_ID)


@given(st.text(min_size=1), st.integers(min_value=0, max_value=1000))
def test_interrupt_id_is_32_hex_and_position_dependent(ns: str, index: int) -> None:
    iid = interrupt_id(ns, index)
    assert HEX32.match(iid)
    assert iid == interrupt_id(ns, index)
    assert iid != interrupt_id(ns, index + 1)
    assert interrupt_id(ns + "x", index) != iid


def test_interrupt_id_of_later_positions_extends_the_namespace() -> None:
    """Position k > 0 hashes `ns|k` (LangGraph's scheme, with blake2b instead of xxh3)."""
    assert interrupt_id("ask:t", 1) == interrupt_id("ask:t|1", 0)
    assert interrupt_id("ask:t", 0) != interrupt_id("ask:t", 1)
