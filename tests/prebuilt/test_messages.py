"""streamhil.messages: message coercion and the add_messages reducer."""

from __future__ import annotations

import typing
import uuid

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamhil.messages import (
    REMOVE_ALL_MESSAGES,
    MessagesState,
    RemoveMessage,
    add_messages,
    coerce_message,
    coerce_messages,
)


def _is_uuid(text: str) -> bool:
    return str(uuid.UUID(text)) == text


def test_appends_and_assigns_ids_on_both_sides() -> None:
    left = [{"role": "user", "content": "hi"}]
    merged = add_messages(left, {"role": "assistant", "content": "hello"})
    assert [m["content"] for m in merged] == ["hi", "hello"]
    assert all(_is_uuid(m["id"]) for m in merged)
    assert merged[0]["id"] != merged[1]["id"]
    assert "id" not in left[0], "the caller's dicts are not modified"


def test_replaces_message_with_same_id_in_place() -> None:
    left = [
        {"role": "user", "content": "book it", "id": "u1"},
        {
            "role": "assistant",
            "content": "",
            "id": "a1",
            "tool_calls": [{"id": "c1", "name": "book_hotel", "args": {"hotel_name": "X"}}],
        },
    ]
    edited = {
        "role": "assistant",
        "content": "",
        "id": "a1",
        "tool_calls": [{"id": "c1", "name": "book_hotel", "args": {"hotel_name": "Y"}}],
    }
    merged = add_messages(left, [edited, {"role": "user", "content": "thanks", "id": "u2"}])
    assert [m["id"] for m in merged] == ["u1", "a1", "u2"]
    assert merged[1]["tool_calls"][0]["args"] == {"hotel_name": "Y"}


def test_coerces_strings_tuples_and_langchain_types() -> None:
    merged = add_messages([], ["hello", ("ai", "hi there"), {"type": "human", "content": "x"}, ("system", "be nice")])
    assert [(m["role"], m["content"]) for m in merged] == [
        ("user", "hello"),
        ("assistant", "hi there"),
        ("user", "x"),
        ("system", "be nice"),
    ]


def test_single_message_on_the_right() -> None:
    assert add_messages(None, "just text")[0]["role"] == "user"
    assert add_messages(None, ("user", "t"))[0]["content"] == "t"


def test_remove_message() -> None:
    left = add_messages([], [{"role": "user", "content": "a", "id": "1"}, {"role": "user", "content": "b", "id": "2"}])
    assert [m["id"] for m in add_messages(left, RemoveMessage("1"))] == ["2"]


def test_remove_unknown_id_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="doesn't exist.*'nope'"):
        add_messages([{"role": "user", "content": "a", "id": "1"}], [RemoveMessage("nope")])


def test_remove_then_re_add_keeps_the_new_version() -> None:
    left = [{"role": "user", "content": "a", "id": "1"}]
    merged = add_messages(left, [RemoveMessage("1"), {"role": "user", "content": "a2", "id": "1"}])
    assert [m["content"] for m in merged] == ["a2"]


def test_remove_all_keeps_only_what_follows() -> None:
    left = add_messages([], ["a", "b"])
    merged = add_messages(left, ["c", RemoveMessage(REMOVE_ALL_MESSAGES), "d"])
    assert [m["content"] for m in merged] == ["d"]


def test_remove_message_survives_a_json_round_trip() -> None:
    left = [{"role": "user", "content": "a", "id": "1"}]
    wire = orjson.loads(orjson.dumps([RemoveMessage("1")]))
    assert wire == [{"role": "remove", "id": "1", "content": ""}]
    assert add_messages(left, wire) == []


def test_tool_calls_are_normalised_from_openai_shape() -> None:
    msg = coerce_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}],
        }
    )
    assert msg["content"] == ""
    assert msg["tool_calls"] == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]


def test_a_tool_call_is_a_langchain_tool_call_a_langchain_tool_answers() -> None:
    """LangChain tools answer a call dict with a ToolMessage only when it says ``type: tool_call``
    (LangGraph's docs loop over ``tool_calls`` and ``tool.invoke(call)``)."""
    tools = pytest.importorskip("langchain_core.tools")

    @tools.tool
    def f(x: int) -> int:
        """Double x."""
        return 2 * x

    msg = coerce_message({"role": "assistant", "content": "", "tool_calls": [{"name": "f", "args": {"x": 2}, "id": "c1"}]})
    answer = f.invoke(msg["tool_calls"][0])
    assert answer.type == "tool" and answer.content == "4" and answer.tool_call_id == "c1"


def test_tool_call_without_id_gets_one_and_bad_json_args_are_kept_as_text() -> None:
    msg = coerce_message({"role": "assistant", "content": "", "tool_calls": [{"name": "f", "args": "{oops"}]})
    call = msg["tool_calls"][0]
    assert call["id"].startswith("call_")
    assert call["args"] == "{oops"


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (42, TypeError, "must be a dict"),
        ({"content": "no role"}, ValueError, "role"),
        ({"role": "wizard", "content": "x"}, ValueError, "unknown message role"),
        ({"role": "user", "content": 3}, TypeError, "content"),
        (("user",), ValueError, r"\(role, content\)"),
        ({"role": "tool", "content": "x"}, ValueError, "tool_call_id"),
        ({"role": "user", "content": "x", "tool_calls": [{"name": "f"}]}, ValueError, "only assistant"),
        ({"role": "assistant", "content": "", "tool_calls": [{"args": {}}]}, ValueError, "name"),
    ],
)
def test_bad_messages_raise_typed_errors(bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        coerce_messages([bad])


def test_remove_message_needs_an_id() -> None:
    with pytest.raises(TypeError):
        RemoveMessage("")


def test_messages_state_declares_the_reducer() -> None:
    hints = typing.get_type_hints(MessagesState, include_extras=True)
    assert typing.get_args(hints["messages"])[1] is add_messages


ids = st.sampled_from(["a", "b", "c", "d", "e"])
messages = st.builds(lambda i, c: {"role": "user", "content": c, "id": i}, ids, st.text(max_size=3))


@given(st.lists(messages, max_size=6), st.lists(messages, max_size=6))
def test_merge_properties(left: list[dict[str, str]], right: list[dict[str, str]]) -> None:
    left = add_messages([], left)  # dedupe the left side the way state would hold it
    merged = add_messages(left, right)
    merged_ids = [m["id"] for m in merged]
    assert len(merged_ids) == len(set(merged_ids))
    assert set(merged_ids) == {m["id"] for m in left} | {m["id"] for m in right}
    last_by_id = {m["id"]: m["content"] for m in [*left, *right]}
    assert {m["id"]: m["content"] for m in merged} == last_by_id
    # messages already on the left keep their position
    assert merged_ids[: len(left)] == [m["id"] for m in left]
