"""Dedupe and ordering by (epoch, thread, seq)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamhil_client import ThreadCursor, Verdict


def test_in_order_events_are_delivered() -> None:
    cursor = ThreadCursor("e", 0)
    assert [cursor.accept("e", s) for s in (1, 2, 3)] == [Verdict.DELIVER] * 3
    assert cursor.seq == 3


def test_replayed_events_are_duplicates() -> None:
    cursor = ThreadCursor("e", 5)
    assert cursor.accept("e", 4) is Verdict.DUPLICATE
    assert cursor.accept("e", 5) is Verdict.DUPLICATE
    assert cursor.accept("e", 6) is Verdict.DELIVER


def test_a_skipped_seq_is_a_gap_and_does_not_move_the_cursor() -> None:
    cursor = ThreadCursor("e", 1)
    assert cursor.accept("e", 3) is Verdict.GAP
    assert cursor.seq == 1


def test_another_epoch_is_a_gap_until_reset() -> None:
    cursor = ThreadCursor("e-1", 7)
    assert cursor.accept("e-2", 8) is Verdict.GAP
    cursor.reset("e-2", 2)
    assert cursor.accept("e-2", 3) is Verdict.DELIVER


def test_advance_never_goes_back() -> None:
    cursor = ThreadCursor("e", 4)
    cursor.advance_to(2)
    assert cursor.seq == 4
    cursor.advance_to(9)
    assert cursor.check("e", 10) is Verdict.DELIVER


@given(st.lists(st.integers(1, 30), max_size=80))
def test_whatever_arrives_the_delivered_seqs_are_1_2_3(arrivals: list[int]) -> None:
    """Reconnect replays and live events in any interleaving: delivered = a gapless prefix."""
    cursor = ThreadCursor("e", 0)
    delivered = [s for s in arrivals if cursor.accept("e", s) is Verdict.DELIVER]
    assert delivered == list(range(1, len(delivered) + 1))
