"""Write application on its own (executor/apply.py and the reducer rule in executor/spec.py):
one batch of writes through the state's reducers, with plain ``ChannelSpec``s, no graph."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from streamhil.errors import InvalidUpdateError
from streamhil.executor.apply import apply_writes
from streamhil.executor.spec import ChannelSpec, reduce_value
from streamhil.types import Overwrite

CHANNELS = {
    "plain": ChannelSpec("plain"),
    "log": ChannelSpec("log", operator.add, list),  # Annotated[list, operator.add]
    "total": ChannelSpec("total", operator.add),  # a reducer without a default
}


def test_a_plain_key_takes_the_write() -> None:
    values: dict[str, Any] = {"plain": 1}
    assert apply_writes(CHANNELS, values, [("plain", 2)]) == {"plain"}
    assert values == {"plain": 2}


def test_a_reducer_folds_every_write_in_the_order_given() -> None:
    values: dict[str, Any] = {"log": ["start"]}
    changed = apply_writes(CHANNELS, values, [("log", ["a"]), ("plain", "x"), ("log", ["b"])])
    assert changed == {"log", "plain"}
    assert values == {"log": ["start", "a", "b"], "plain": "x"}


def test_a_first_write_folds_into_the_default_or_is_taken_as_is() -> None:
    values: dict[str, Any] = {}
    apply_writes(CHANNELS, values, [("log", ["a"]), ("total", 5), ("total", 2)])
    assert values == {"log": ["a"], "total": 7}


def test_two_writes_to_a_plain_key_are_refused_with_the_fix() -> None:
    with pytest.raises(InvalidUpdateError) as info:
        apply_writes(CHANNELS, {}, [("plain", 1), ("plain", 2)])
    message = str(info.value)
    assert "At key 'plain': Can receive only one value per step" in message
    assert "Annotated[list, operator.add]" in message


def test_overwrite_replaces_a_reducer_value_once_per_batch() -> None:
    values: dict[str, Any] = {"log": ["old"]}
    apply_writes(CHANNELS, values, [("log", ["a"]), ("log", Overwrite(["new"])), ("log", ["b"])])
    assert values == {"log": ["new", "b"]}
    with pytest.raises(InvalidUpdateError, match="only one Overwrite value per step"):
        apply_writes(CHANNELS, {"log": []}, [("log", Overwrite([1])), ("log", Overwrite([2]))])


def test_overwrite_on_a_plain_key_writes_its_value() -> None:
    values: dict[str, Any] = {}
    apply_writes(CHANNELS, values, [("plain", Overwrite(3))])
    assert values == {"plain": 3}


def test_no_writes_change_nothing() -> None:
    values = {"plain": 1}
    assert apply_writes(CHANNELS, values, []) == set()
    assert values == {"plain": 1}


def test_a_reducer_error_reaches_the_caller() -> None:
    with pytest.raises(TypeError):
        apply_writes(CHANNELS, {"log": ["a"]}, [("log", "not a list")])


def test_each_fresh_default_is_a_new_object() -> None:
    spec = CHANNELS["log"]
    first = reduce_value(spec, None, ["a"], False)
    second = reduce_value(spec, None, ["b"], False)
    assert first == ["a"] and second == ["b"] and first is not second


def test_folding_into_a_key_without_a_reducer_is_a_typed_error() -> None:
    with pytest.raises(TypeError, match="State key 'plain' has no reducer"):
        reduce_value(CHANNELS["plain"], 1, 2, True)


def test_a_refused_batch_can_be_left_out_whole() -> None:
    from streamhil.executor.apply import apply_all_or_none

    values: dict[str, Any] = {"plain": 0, "log": ["a"]}
    assert not apply_all_or_none(CHANNELS, values, [("log", ["b"]), ("plain", 1), ("plain", 2)])
    assert values == {"plain": 0, "log": ["a"]}  # nothing of the refused batch, not half of it
    assert apply_all_or_none(CHANNELS, values, [("log", ["b"]), ("total", 3)])
    assert values == {"plain": 0, "log": ["a", "b"], "total": 3}
