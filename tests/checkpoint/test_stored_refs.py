"""Checkpoints name value classes by ``module:qualname``: the names stored before the executor
stopped importing the graph package (and ``types`` stopped importing the executor) still load,
and new checkpoints are written with the same names."""

from __future__ import annotations

import pytest

from streamhil.checkpoint.serde import dumps, loads
from streamhil.types import Command, Interrupt, Overwrite, Send

# Written by streamhil before the core import circle was removed (issue 15), byte for byte (the
# leading space marks tagged data).
OLD_BLOB = (
    b' [{"__sh__":"dataclass","cls":"streamhil.types:Interrupt","v":{"value":{"q":1},'
    b'"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","node":"ask","task_id":"t","ns":"ask:t","index":0}},'
    b'{"__sh__":"dataclass","cls":"streamhil.types:Command","v":{"graph":null,"update":null,'
    b'"resume":"yes","goto":{"__sh__":"dataclass","cls":"streamhil.types:Send","v":{"node":"n",'
    b'"arg":{"x":1}}}}},{"__sh__":"dataclass","cls":"streamhil.types:Send","v":{"node":"n","arg":2}},'
    b'{"__sh__":"dataclass","cls":"streamhil.types:Overwrite","v":{"value":[1]}}]'
)

EXPECTED = [
    Interrupt(value={"q": 1}, id="a" * 32, node="ask", task_id="t", ns="ask:t", index=0),
    Command(resume="yes", goto=Send("n", {"x": 1})),
    Send("n", 2),
    Overwrite([1]),
]


def test_a_blob_with_the_old_names_loads_into_the_public_classes() -> None:
    values = loads(OLD_BLOB)
    assert values == EXPECTED
    assert [type(v) for v in values] == [Interrupt, Command, Send, Overwrite]


def test_new_checkpoints_use_the_same_names() -> None:
    # The same names; an Interrupt has gained ``response_schema`` since (None when not given).
    assert dumps(EXPECTED) == OLD_BLOB.replace(b'"index":0}', b'"index":0,"response_schema":null}')


@pytest.mark.parametrize("name", ["Interrupt", "Command", "Send", "Overwrite", "RetryPolicy", "GraphOutput"])
def test_the_value_classes_still_live_in_streamhil_types(name: str) -> None:
    import streamhil.types

    assert getattr(streamhil.types, name).__module__ == "streamhil.types"
