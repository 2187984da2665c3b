"""serde's fast path for big plain values, and stored bytes that hold no more memory than they need.

``dumps`` skips its Python walk for a big list or dict that a C-speed scan proves to be plain
JSON. These tests pin that the scan says yes only when orjson alone round-trips the value exactly,
that the bytes are the same either way, and that errors still name the place.
"""

from __future__ import annotations

import datetime as dt
import enum
import tracemalloc
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhil.checkpoint import serde
from streamhil.checkpoint.serde import TAG, dumps, loads
from streamhil.errors import SerializationError

from .conformance import Colour, Point, assert_same

pytestmark = pytest.mark.skipif(not serde._SCAN_ENABLED, reason="the scan needs CPython")


class Level(enum.IntEnum):
    LOW = 1


class Name(str):
    pass


def messages(n: int = 200) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"message {i}", "n": i, "score": i / 3, "ok": None} for i in range(n)]


def walked(value: Any) -> bytes:
    """What dumps wrote before the fast path existed: the walk, then orjson."""
    encoded = serde._encode(value)
    try:
        data = orjson.dumps(encoded)
    except orjson.JSONEncodeError:  # a key that is not a str: that dict is stored as pairs
        encoded = serde._encode_keys(encoded)
        data = orjson.dumps(encoded)
    return data if encoded is value else b" " + data


@pytest.fixture
def no_fast_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(serde, "_SCAN_ENABLED", False)
    yield


def test_big_plain_values_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    state = messages()
    assert serde._is_plain_json(state)
    assert serde._is_plain_json({"k": state, "deep": [[[{"x": [1.5, True, None, "s"]}]]]})
    walks = 0
    real_encode = serde._encode

    def counting(value: Any) -> Any:
        nonlocal walks
        walks += 1
        return real_encode(value)

    monkeypatch.setattr(serde, "_encode", counting)
    assert dumps(state) == orjson.dumps(state)
    assert walks == 0
    dumps([(1,)] * 100)  # not plain: walked
    assert walks > 0


@pytest.mark.parametrize(
    "odd",
    [
        (1, 2),
        uuid.UUID(int=7),
        Colour.RED,
        Level.LOW,
        Name("x"),
        float("nan"),
        float("inf"),
        -float("inf"),
        {TAG: "tuple", "v": [1]},
        2**64,
        -(2**63) - 1,
        {3: "non-str key"},
        {Name("k"): 1},
        {"s": {1, 2}},
        b"bytes",
        Decimal("1.5"),
        dt.datetime(2020, 1, 1),
        Point(1, (2,)),
        True,  # plain: the control case
    ],
    ids=repr,
)
@pytest.mark.parametrize("depth", [0, 1, 4])
def test_anything_orjson_would_change_is_walked(odd: Any, depth: int) -> None:
    value: Any = odd
    for _ in range(depth):
        value = {"wrap": [value, "x"]}
    state = messages(80)
    state.insert(37, value)
    # Integers beyond 64 bits pass the scan; orjson refuses them and the walk takes over.
    if odd is not True and type(odd) is not int:
        assert not serde._is_plain_json(state)
    expected = walked(state)
    data = dumps(state)
    assert data == expected
    assert_same(loads(data), loads(expected))


def test_lone_surrogate_still_named() -> None:
    state = messages(70)
    state[65]["content"] = "\ud800"
    with pytest.raises(SerializationError, match=r"^cannot store channel 'm':.*surrogates"):
        dumps(state, where="channel 'm'")


def test_errors_in_big_values_name_the_place() -> None:
    state: list[Any] = messages(100)
    state[70] = {"author": object()}
    with pytest.raises(SerializationError, match=r"the value at \[70\]\['author'\] has type object"):
        dumps(state)


def test_dict_with_a_general_key_table_is_still_exact() -> None:
    # A dict that once had a non-str key keeps a table whose traversal also yields the keys:
    # the child count no longer matches, so the scan gives up and the walk decides.
    odd: dict[Any, Any] = {1: "x"}
    del odd[1]
    odd.update({"a": 1, "b": (2,)})
    state = [odd] * 70
    assert not serde._is_plain_json(state)
    assert_same(loads(dumps(state)), [{"a": 1, "b": (2,)}] * 70)


def test_value_that_contains_itself_fails_fast() -> None:
    loop: list[Any] = list(range(70))
    loop.append(loop)
    loop.append(loop)  # two paths back: the levels double at each step
    assert not serde._is_plain_json(loop)
    with pytest.raises(SerializationError, match="nested too deeply or contains itself"):
        dumps(loop)


def test_depth_limit_is_orjsons() -> None:
    def nest(depth: int) -> list[Any]:
        deep: Any = "leaf"
        for _ in range(depth):
            deep = [deep]
        return [deep] + list(range(70))

    ok = nest(200)
    assert serde._is_plain_json(ok)
    assert loads(dumps(ok)) == ok
    too_deep = nest(300)
    assert not serde._is_plain_json(too_deep)
    with pytest.raises(SerializationError, match="Recursion limit reached"):
        dumps(too_deep)


_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
_spoilers = st.sampled_from([(1,), uuid.UUID(int=1), Colour.BLUE, float("nan"), {TAG: 1}, 2**70, Name("n"), [()]])


@settings(max_examples=60, deadline=None)
@given(st.lists(_plain, min_size=1, max_size=8), st.lists(st.tuples(st.integers(0, 7), _spoilers), max_size=2))
def test_fuzz_fast_path_writes_what_the_walk_writes(items: list[Any], spoil: list[tuple[int, Any]]) -> None:
    state: list[Any] = items + list(range(serde._SCAN_MIN_ITEMS))  # big enough to be scanned
    for index, odd in spoil:
        target = state[index % len(state)]
        if isinstance(target, list):
            target.append(odd)
        elif isinstance(target, dict):
            target["spoiled"] = odd
        else:
            state[index % len(state)] = [odd]
    assert dumps(state) == walked(state)
    assert_same(loads(dumps(state)), loads(walked(state)))


def test_same_bytes_with_and_without_fast_path(no_fast_path: None) -> None:
    state = messages()
    assert dumps(state) == orjson.dumps(state)


# -- memory ------------------------------------------------------------------------------------------


def retained_bytes_per_value(make: Any, count: int) -> float:
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        kept = [make(i) for i in range(count)]
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    return (after - before) / count


def test_stored_small_values_do_not_pin_buffers() -> None:
    # orjson's own result would hold ~4 KB each; a stored value must cost about its length.
    per_value = retained_bytes_per_value(lambda i: dumps({"a": i}), 500)
    assert per_value < 200
    assert retained_bytes_per_value(lambda i: dumps((i,)), 500) < 200  # the tagged path


def test_stored_big_values_cost_their_length() -> None:
    # For long strings orjson reserves many times the output; the stored copy is exact.
    text = "x" * 50_000
    per_value = retained_bytes_per_value(lambda i: dumps(text + str(i)), 20)
    assert per_value < 60_000
    per_value = retained_bytes_per_value(lambda i: dumps([text, i] + list(range(70))), 20)
    assert per_value < 60_000
