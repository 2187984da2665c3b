"""Hypothesis: any JSON a model or a reviewer sends becomes a result or a typed, explained refusal."""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from streamhil.prebuilt import ToolArgumentError, create_tool
from streamhil.prebuilt.human_review import DEFAULT_CONFIG, HumanResponseError, parse_human_response

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def reserve(hotel: str, nights: int = 1, kind: Literal["a", "b"] = "a", tags: list[str] | None = None) -> str:
    """Reserve."""
    return hotel


TOOL = create_tool(reserve)
ARG_KEYS = st.sampled_from(["hotel", "nights", "kind", "tags", "other"])


@settings(max_examples=300)
@given(st.one_of(json_values, st.dictionaries(ARG_KEYS, json_values, max_size=4)))
def test_tool_arguments_validate_or_explain(args: Any) -> None:
    try:
        checked = TOOL.validate(args)
    except ToolArgumentError as exc:
        assert exc.errors and all(e.startswith("args") for e in exc.errors)
    else:
        assert isinstance(checked["hotel"], str)
        assert set(checked) <= {"hotel", "nights", "kind", "tags"}


answers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(["accept", "edit", "response", "ignore"]), json_values)},
        optional={"args": st.one_of(json_values, st.fixed_dictionaries({}, optional={"args": st.dictionaries(ARG_KEYS, json_values, max_size=3), "action": json_values}))},
    ),
)


@settings(max_examples=300)
@given(st.one_of(answers, st.lists(answers, max_size=2)))
def test_review_answers_decide_or_explain(answer: Any) -> None:
    try:
        decision = parse_human_response(answer, DEFAULT_CONFIG, TOOL)
    except HumanResponseError as exc:
        assert str(exc)
    else:
        assert decision.type in ("accept", "edit", "response")
        if decision.type == "edit":
            assert decision.args is not None and isinstance(decision.args["hotel"], str)


message_like = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"role": st.one_of(st.sampled_from(["user", "assistant", "tool", "remove", "ai"]), json_values)},
        optional={
            "content": json_values,
            "id": json_values,
            "tool_call_id": json_values,
            "tool_calls": st.one_of(json_values, st.lists(st.dictionaries(st.sampled_from(["id", "name", "args", "function"]), json_values, max_size=3), max_size=2)),
        },
    ),
)


@settings(max_examples=300)
@given(st.lists(message_like, max_size=3))
def test_messages_coerce_or_raise_a_typed_error(values: list[Any]) -> None:
    from streamhil.messages import add_messages

    try:
        merged = add_messages([], values)
    except (TypeError, ValueError) as exc:
        assert str(exc)
    else:
        assert all(isinstance(m["id"], str) and m["role"] != "remove" for m in merged)
