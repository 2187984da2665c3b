"""Event payloads whose dicts have keys JSON has no text for (a tuple, a frozenset) keep their
shape on the wire: those keys are written as their ``str()``; before, the whole payload became
one repr string."""

from __future__ import annotations

import uuid

import orjson
from streamhil_server.encoding import dumps_event, jsonable


def test_a_tuple_key_is_written_as_its_text_and_the_rest_keeps_its_shape() -> None:
    data = {"scores": {(1, 2): 0.5, 3: 1.0, uuid.UUID(int=1): "u"}, "plain": [1, {"a": None}]}
    frame = orjson.loads(dumps_event("values", "t-1", "r-1", 7, (), data))
    assert frame["data"] == {
        "scores": {"(1, 2)": 0.5, "3": 1.0, "00000000-0000-0000-0000-000000000001": "u"},
        "plain": [1, {"a": None}],
    }
    assert (frame["seq"], frame["thread_id"], frame["run_id"]) == (7, "t-1", "r-1")


def test_replies_built_from_state_do_the_same() -> None:
    assert jsonable({"a": {frozenset({1}): 2, "b": (1, 2)}}) == {"a": {"frozenset({1})": 2, "b": [1, 2]}}


def test_what_json_cannot_hold_at_all_still_becomes_a_repr() -> None:
    frame = orjson.loads(dumps_event("values", "t-1", None, 1, (), {"big": 2**70}))
    assert frame["data"] == "{'big': 1180591620717411303424}"
