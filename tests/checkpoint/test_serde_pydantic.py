"""serde and pydantic models (v2 and v1) and LangChain objects: stored by module and name, field
by field, rebuilt as the same class with ``model_construct`` (no validation), nested models and
lists of them included; classes that are not models are refused on load; checkpoints written
before pydantic support (LangChain messages stored as message dicts) load as they did."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import warnings
from typing import Any, ClassVar

import orjson
import pytest

pydantic = pytest.importorskip("pydantic")
from pydantic import BaseModel, ConfigDict, RootModel, field_validator  # noqa: E402

from streamhil.checkpoint.serde import TAG, dumps, loads  # noqa: E402
from streamhil.errors import SerializationError  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pydantic.v1 warns on Python 3.14+
    from pydantic import v1 as pydantic_v1


class Inner(BaseModel):
    a: int = 1
    tags: list[str] = []


class Outer(BaseModel):
    inner: Inner
    items: list[Inner] = []
    by_name: dict[str, Inner] = {}
    pair: tuple[int, int] = (0, 0)
    when: dt.datetime | None = None
    note: str | None = None


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    x: int


class Counted(BaseModel):
    calls: ClassVar[int] = 0
    v: int

    @field_validator("v")
    @classmethod
    def count(cls, value: int) -> int:
        Counted.calls += 1
        return value


class Listing(RootModel[list[Inner]]):
    pass


class OldStyle(pydantic_v1.BaseModel):
    x: int
    inner: list[int] = []
    label: str = "a"


def round_trip(value: Any) -> Any:
    return loads(dumps(value))


def test_nested_models_come_back_as_instances() -> None:
    value = Outer(
        inner=Inner(a=5, tags=["t"]),
        items=[Inner(a=2), Inner(a=3)],
        by_name={"k": Inner()},
        pair=(1, 2),
        when=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    )
    back = round_trip({"state": [value]})["state"][0]
    assert type(back) is Outer and back == value
    assert type(back.inner) is Inner and [type(i) for i in back.items] == [Inner, Inner]
    assert type(back.by_name["k"]) is Inner
    assert back.pair == (1, 2) and type(back.pair) is tuple  # serde's own types inside a model
    assert back.when == value.when


def test_fields_set_and_extra_values_are_kept() -> None:
    value = Outer(inner=Inner(a=1))
    back = round_trip(value)
    assert back.model_fields_set == {"inner"} and back.inner.model_fields_set == {"a"}
    loose = round_trip(Loose(x=1, colour="red"))
    assert loose == Loose(x=1, colour="red") and loose.model_extra == {"colour": "red"}


def test_loading_does_not_validate() -> None:
    value = Counted(v=1)
    data = dumps(value)
    before = Counted.calls
    assert loads(data) == value
    assert Counted.calls == before


def test_root_model_and_v1_model() -> None:
    listing = Listing([Inner(a=4)])
    assert round_trip(listing) == listing and type(round_trip(listing).root[0]) is Inner
    old = OldStyle(x=1, inner=[2])
    back = round_trip(old)
    assert type(back) is OldStyle and back == old and back.__fields_set__ == {"x", "inner"}


def test_stored_format() -> None:
    """The stored shape is pinned: checkpoints written now must stay readable."""
    data = dumps(Inner(a=5))
    assert data == (
        b' {"__sh__":"pydantic","cls":"' + f"{__name__}:Inner".encode() + b'",'
        b'"v":{"a":5,"tags":[]},"set":["a"]}'
    )
    assert loads(data) == Inner(a=5)


def test_unstorable_field_is_named() -> None:
    class Holder(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        thing: object

    with pytest.raises(SerializationError, match=r"Holder.*cannot be imported back"):
        dumps(Holder(thing=1))
    with pytest.raises(SerializationError, match=r"the value at \[0\]\.inner has type object"):
        dumps([Outer.model_construct(inner=object())])


def test_loading_refuses_a_class_that_is_not_a_model() -> None:
    data = b" " + orjson.dumps({TAG: "pydantic", "cls": "os:system", "v": {}, "set": []})
    with pytest.raises(SerializationError, match=r"refusing to load os:system: it is not a pydantic"):
        loads(data)
    data = b" " + orjson.dumps({TAG: "pydantic_v1", "cls": f"{__name__}:Inner", "v": {}, "set": []})
    with pytest.raises(SerializationError, match=r"it is not a pydantic_v1"):
        loads(data)


def test_serde_works_without_pydantic() -> None:
    """The core never needs pydantic: with it unimportable, serde still stores what it did."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pydantic"] = None  # any import of it fails
        from streamhil.checkpoint.serde import dumps, loads
        from streamhil.types import Send
        assert loads(dumps([Send("n", (1,)), {"a": 1}])) == [Send("n", (1,)), {"a": 1}]
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr


# -- LangChain objects -------------------------------------------------------------------------


@pytest.fixture
def lc() -> Any:
    return pytest.importorskip("langchain_core.messages")


def test_langchain_messages_and_documents_round_trip_as_themselves(lc: Any) -> None:
    documents = pytest.importorskip("langchain_core.documents")
    values = [
        lc.HumanMessage("hi", id="h1"),
        lc.AIMessage(
            content="", id="a1", tool_calls=[{"id": "c1", "name": "f", "args": {"x": 1}}],
            usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            response_metadata={"model": "m"},
        ),
        lc.ToolMessage("done", tool_call_id="c1", status="error"),
        lc.SystemMessage([{"type": "text", "text": "be brief"}]),
        lc.AIMessageChunk(content="par", id="a2"),
        documents.Document(page_content="text", metadata={"source": "s"}),
    ]
    back = round_trip(values)
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]


def test_checkpoints_written_before_still_load(lc: Any) -> None:
    """Before pydantic support a LangChain message was stored as its message dict (untagged
    when nothing else needed a tag); such data still loads as that dict."""
    old_plain = b'[{"role":"assistant","content":"draft x","id":"m1"}]'
    assert loads(old_plain) == [{"role": "assistant", "content": "draft x", "id": "m1"}]
    old_tagged = (
        b' {"__sh__":"dataclass","cls":"streamhil.types:Send","v":{"node":"n",'
        b'"arg":{"m":{"role":"user","content":"hi","id":"h"},"t":{"__sh__":"tuple","v":[1]}}}}'
    )
    send = loads(old_tagged)
    assert send.arg == {"m": {"role": "user", "content": "hi", "id": "h"}, "t": (1,)}


def test_same_values_as_langgraphs_serializer(lc: Any) -> None:
    jsonplus = pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
    serializer = jsonplus.JsonPlusSerializer()
    values = [
        Outer(inner=Inner(a=5, tags=["t"]), items=[Inner(a=2)]),
        lc.AIMessage(content="hi", id="a1", tool_calls=[{"id": "c1", "name": "f", "args": {}}]),
        OldStyle(x=3),
    ]
    for value in values:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LangGraph warns about unregistered test classes
            theirs = serializer.loads_typed(serializer.dumps_typed(value))
        ours = round_trip(value)
        assert type(ours) is type(theirs) and ours == theirs
