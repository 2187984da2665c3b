"""serde: exact round-trips, errors that say where and what, and no copies of plain data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamhil.checkpoint import serde
from streamhil.checkpoint.serde import TAG, dumps, dumps_channels, loads
from streamhil.errors import CheckpointError, SerializationError
from streamhil.types import Command, Interrupt, Overwrite, Send

from .conformance import Colour, Frozen, Note, Point, assert_same, every_kind


def round_trip(value: Any) -> Any:
    return loads(dumps(value))


def test_every_kind_round_trips_exactly() -> None:
    assert_same(round_trip(every_kind()), every_kind())


@pytest.mark.parametrize(
    "value",
    [
        Interrupt({"question": "ok?"}, id="abc", node="n", task_id="t", ns="p:1", index=2),
        Send("node", {"x": (1, 2)}),
        Command(graph=Command.PARENT, update={"k": {1, 2}}, resume=["a"], goto=Send("x", None)),
        Command(goto=("a", "b")),
        Overwrite({"list": [1]}),
        Frozen(dt.datetime(2020, 1, 1), Point(1, ())),
        Colour.RED,
        float("nan"),
        -0.0,
        2**64 - 1,
        -(2**63),
        2**64,
        "",
        {},
        [],
        (),
        set(),
    ],
    ids=repr,
)
def test_single_values_round_trip(value: Any) -> None:
    assert_same(round_trip(value), value)


def test_dataclass_is_rebuilt_without_running_init() -> None:
    note = Note("abc")
    note.derived = -1
    back = round_trip(note)
    assert type(back) is Note and back.derived == -1 and back.text == "abc"


def test_plain_json_is_stored_as_plain_json() -> None:
    state = {"messages": [{"role": "user", "content": "hi", "n": 1, "f": 0.5, "ok": True}]}
    data = dumps(state)
    assert data == orjson.dumps(state)
    assert serde._encode(state) is state  # no copy of plain data


def test_only_changed_containers_are_copied() -> None:
    plain = {"a": [1, 2]}
    state = {"plain": plain, "special": (1,)}
    encoded = serde._encode(state)
    assert encoded is not state and encoded["plain"] is plain
    assert state == {"plain": plain, "special": (1,)}  # the input is left alone


def test_lookalike_dict_is_escaped() -> None:
    tricky = {TAG: "dataclass", "cls": "os:system", "v": {"x": 1}}
    assert round_trip(tricky) == tricky
    assert round_trip({"outer": [tricky]}) == {"outer": [tricky]}


def test_subclasses_of_plain_types_are_stored_as_base_type() -> None:
    class Tagged(dict[str, Any]):
        pass

    class Name(str):
        pass

    back = round_trip({"d": Tagged(a=1), "s": Name("x"), "l": [Tagged()]})
    assert_same(back, {"d": {"a": 1}, "s": "x", "l": [{}]})


def test_str_input_to_loads() -> None:
    assert loads(dumps((1,)).decode()) == (1,)
    assert loads("[1]") == [1]


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


class _HashableList(list[Any]):
    def __hash__(self) -> int:  # type: ignore[override]
        return 1


def _local_key() -> Any:
    @dataclasses.dataclass(frozen=True)
    class Local:
        x: int = 1

    return Local()


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (object(), r"^cannot store value: the value has type object, which streamhil cannot store"),
        ({"a": [1, {"b": object()}]}, r"the value at \['a'\]\[1\]\['b'\] has type object"),
        ((1, {2, lambda: 0}), r"has type function"),
        ({"k": {_Opaque(): "x"}}, r"the value at \['k'\] has the key <opaque> of type .*Opaque; dict keys must be"),
        ({(1, object()): "x"}, r"has the key \(1, <object .*>\) of type tuple; dict keys must be str or hashable"),
        ([{"a": {_local_key(): 1}}], r"the value at \[0\]\['a'\] has the key .* of type .*Local"),
        ({_HashableList([1]): "x"}, r"has the key \[1\] of type .*_HashableList, which would load back as an unhashable list"),
        ({TAG: "x", 1: {object(): 2}}, r"the value at \[1\] has the key <object .*> of type object"),
        ({"n": Point(1, ({object(): 1},))}, r"the value at \['n'\]\[1\]\[0\] has the key <object"),
        (Note("x", [object()]), r"the value at \.tags\[0\] has type object"),  # type: ignore[list-item]
        (iter([]), r"has type list_iterator"),
    ],
)
def test_unstorable_values_name_place_and_type(value: Any, pattern: str) -> None:
    with pytest.raises(SerializationError, match=pattern):
        dumps(value)


def test_serialization_error_is_typed() -> None:
    assert issubclass(SerializationError, CheckpointError)
    assert issubclass(SerializationError, TypeError)


def test_local_class_cannot_be_stored() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    class LocalEnum(enum.Enum):
        A = 1

    with pytest.raises(SerializationError, match=r"Local.*cannot be imported back.*module level"):
        dumps({"v": Local(1)})
    with pytest.raises(SerializationError, match=r"LocalEnum.*cannot be imported back"):
        dumps([LocalEnum.A])


def test_cycle_and_depth() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="nested too deeply or contains itself"):
        dumps(loop, where="channel 'x'")


def test_surrogates_rejected_with_where() -> None:
    with pytest.raises(SerializationError, match=r"channel 's'.*"):
        dumps_channels({"s": "\ud800"})


def test_dumps_channels_names_the_key() -> None:
    out = dumps_channels({"a": 1, "b": (2,)})
    assert {k: loads(v) for k, v in out.items()} == {"a": 1, "b": (2,)}
    with pytest.raises(SerializationError, match=r"^cannot store channel 'bad': the value at \[0\]"):
        dumps_channels({"ok": 1, "bad": [object()]})


def test_loading_refuses_what_is_not_a_storable_class() -> None:
    def tagged(kind: str, ref: str) -> bytes:
        return b" " + orjson.dumps({TAG: kind, "cls": ref, "v": {}})

    with pytest.raises(SerializationError, match=r"refusing to load os:system: it is not a dataclass"):
        loads(tagged("dataclass", "os:system"))
    with pytest.raises(SerializationError, match=r"refusing to load builtins:dict: it is not a enum"):
        loads(tagged("enum", "builtins:dict"))
    with pytest.raises(SerializationError, match=r"cannot load a dataclass of class nowhere_x:Y"):
        loads(tagged("dataclass", "nowhere_x:Y"))
    with pytest.raises(SerializationError, match=r"unknown tag"):
        loads(b' {"__sh__": "pickle", "v": 1}')


def test_changed_class_is_reported() -> None:
    data = b' {"__sh__":"dataclass","cls":"streamhil.types:Send","v":{"node":"n","arg":1,"gone":2}}'
    with pytest.raises(SerializationError, match=r"streamhil.types:Send.*has the class changed"):
        loads(data)


# -- fuzzing -------------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.times(timezones=st.none() | st.just(dt.timezone.utc))
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.timedeltas()
    | st.sampled_from(list(Colour))
)
_hashables = st.recursive(
    _scalars.filter(lambda x: not isinstance(x, bytes)) | st.binary(),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | st.just(TAG), inner, max_size=4)
        | st.dictionaries(st.text(max_size=3) | st.just(TAG) | _hashables, inner, max_size=4)
        | st.sets(_hashables, max_size=3)
        | st.builds(Send, st.text(max_size=5), inner)
        | st.builds(Interrupt, inner, st.text(max_size=5))
        | st.builds(Point, st.integers(), st.tuples(st.integers()))
    ),
    max_leaves=20,
)


@given(_values)
def test_fuzz_round_trip(value: Any) -> None:
    try:
        data = dumps(value)
    except SerializationError as exc:
        # Hypothesis can build a str with lone surrogates; that is the only thing refused.
        assert "surrogates" in str(exc)
        return
    assert_same(loads(data), value)


@given(st.dictionaries(st.text(), st.none() | st.integers(-5, 5) | st.text(), max_size=5))
def test_fuzz_plain_values_are_plain_json(value: dict[str, Any]) -> None:
    try:
        expected = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return
    if TAG not in value:
        assert dumps(value) == expected


def test_decimal_and_time_details() -> None:
    for d in (Decimal("1E+3"), Decimal("-0"), Decimal("sNaN"), Decimal("Infinity")):
        assert str(round_trip(d)) == str(d)
    t = dt.time(1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    assert round_trip(t).utcoffset() == dt.timedelta(hours=-3)
    assert round_trip(dt.time(1, fold=1)).fold == 1
    assert round_trip(dt.datetime(2000, 1, 1, fold=1)).fold == 1
    assert round_trip(uuid.UUID(int=5)) == uuid.UUID(int=5)


# -- dict keys that are not str (LangGraph stores them; so does streamhil, as tagged pairs) ----


@pytest.mark.parametrize(
    "value",
    [
        {"scores": {1: 0.5, 2: 0.7}},
        {1.5: "a", None: 1, True: 2, -3: "neg", 2**70: "big", float("inf"): "inf"},
        {(1, "a"): 1, frozenset({1, 2}): 2, uuid.UUID(int=9): 3, dt.date(2020, 1, 2): 4},
        {dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc): 1, Colour.RED: 2, Decimal("1.5"): 3, b"k": 4},
        {Point(1, (2,)): "namedtuple key", Frozen(dt.datetime(2020, 1, 1), Point(0, ())): "dataclass key"},
        {"s": 1, 2: {3: {4: [{5: (6, {7: 8})}]}}},
        {TAG: "looks like a tag", 1: "and an int key"},
        [{1: "a"}, ({2: "b"},), Send("n", {3: "c"})],
    ],
    ids=repr,
)
def test_non_str_keys_round_trip(value: Any) -> None:
    assert_same(round_trip(value), value)


def test_non_str_key_dicts_are_stored_as_pairs() -> None:
    assert dumps({"scores": {1: 0.5}}) == b' {"scores":{"__sh__":"dict","v":[[1,0.5]]}}'
    # only the dict with such a key changes; str-keyed data around it stays plain
    assert loads(b' {"a":{"b":1},"c":{"__sh__":"dict","v":[[{"__sh__":"tuple","v":[1]},2]]}}') == {
        "a": {"b": 1},
        "c": {(1,): 2},
    }


def test_pairs_written_before_keys_were_encoded_still_load() -> None:
    # Dicts holding the tag key were stored as pairs of plain str keys; they load as before.
    assert loads(b' {"__sh__":"dict","v":[["__sh__","x"],["k",[1]]]}') == {TAG: "x", "k": [1]}


def test_non_str_keys_leave_the_input_alone() -> None:
    inner = {1: [1, 2]}
    state = {"plain": {"a": 1}, "keyed": inner}
    dumps(state)
    assert state == {"plain": {"a": 1}, "keyed": {1: [1, 2]}} and state["keyed"] is inner


def test_str_keyed_data_never_runs_the_key_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = serde._encode_keys

    def counting(x: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(x)

    monkeypatch.setattr(serde, "_encode_keys", counting)
    dumps({"a": {"b": [1, (2,)]}, TAG: {"c": dt.date(2020, 1, 1)}})
    assert calls == 0
    dumps({"a": {1: 2}})
    assert calls > 0
