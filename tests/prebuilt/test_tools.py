"""streamhil.prebuilt.tools (with _schema and _validate): tools from functions, schemas, validation."""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest

from streamhil.prebuilt import Tool, ToolArgumentError, ToolSchemaError, create_tool, get_tool_call, tool
from streamhil.prebuilt._schema import parse_docstring
from streamhil.prebuilt._validate import schema_errors

pytestmark = pytest.mark.anyio


class Room(TypedDict):
    beds: int
    view: str


def book_hotel(
    hotel_name: str,
    nights: int = 1,
    budget: float | None = None,
    kind: Literal["single", "double"] = "double",
    tags: list[str] | None = None,
    extras: dict[str, bool] | None = None,
    note: Annotated[str, "anything the hotel should know"] = "",
) -> str:
    """Book a hotel.

    Books one stay.

    Args:
        hotel_name: The name of the hotel,
            as the guest wrote it.
        nights (int): How many nights.
    """
    return f"Booked {hotel_name} for {nights}"


def test_schema_from_signature_and_docstring() -> None:
    t = create_tool(book_hotel)
    assert t.name == "book_hotel"
    assert t.description == "Book a hotel.\n\nBooks one stay."
    props = t.parameters["properties"]
    assert t.parameters["required"] == ["hotel_name"]
    assert t.parameters["additionalProperties"] is False
    assert props["hotel_name"] == {"type": "string", "description": "The name of the hotel, as the guest wrote it."}
    assert props["nights"] == {"type": "integer", "default": 1, "description": "How many nights."}
    assert props["budget"] == {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None}
    assert props["kind"] == {"enum": ["single", "double"], "default": "double"}
    assert props["tags"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert props["extras"]["anyOf"][0] == {"type": "object", "additionalProperties": {"type": "boolean"}}
    assert props["note"]["description"] == "anything the hotel should know"


def test_spec_is_chat_completions_shape() -> None:
    spec = create_tool(book_hotel).spec
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "book_hotel"
    assert spec["function"]["parameters"]["properties"]["hotel_name"]["type"] == "string"


def test_decorator_forms() -> None:
    @tool
    def plain(x: int) -> int:
        """Double."""
        return 2 * x

    @tool("renamed", description="custom")
    def other(x: int) -> int:
        return x

    assert isinstance(plain, Tool) and plain.name == "plain" and plain.description == "Double."
    assert plain(4) == 8, "a decorated function stays callable"
    assert (other.name, other.description) == ("renamed", "custom")


def test_typeddict_and_optional_params() -> None:
    def reserve(room: Room, when: Optional[str] = None) -> None:
        """Reserve."""

    params = create_tool(reserve).parameters
    assert params["properties"]["room"] == {
        "type": "object",
        "properties": {"beds": {"type": "integer"}, "view": {"type": "string"}},
        "required": ["beds", "view"],
        "additionalProperties": False,
    }
    assert params["properties"]["when"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


class Opaque:
    pass


def test_unsupported_parameter_type_is_a_type_error() -> None:
    def bad(x: Opaque) -> None:
        """Bad."""

    with pytest.raises(ToolSchemaError, match=r"bad\(x\).*'Opaque'") as info:
        create_tool(bad)
    assert isinstance(info.value, TypeError)


def test_non_string_dict_keys_and_var_args_are_rejected() -> None:
    def keys(x: dict[int, str]) -> None: ...

    def star(*items: str) -> None: ...

    with pytest.raises(ToolSchemaError, match="string keys"):
        create_tool(keys)
    with pytest.raises(ToolSchemaError, match=r"\*args"):
        create_tool(star)


def test_bad_tool_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="1-64"):
        create_tool(book_hotel, name="has space")


def test_explicit_parameters_schema() -> None:
    def fn(**kwargs: Any) -> Any:
        """Takes anything described."""
        return kwargs

    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    t = create_tool(fn, parameters=schema)
    assert t.invoke({"q": "x"}) == {"q": "x"}
    with pytest.raises(ToolArgumentError):
        t.invoke({})
    with pytest.raises(ToolSchemaError):
        create_tool(fn, parameters={"type": "array"})


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({}, "args.hotel_name: required but missing"),
        ({"hotel_name": 3}, "args.hotel_name: expected string, got integer 3"),
        ({"hotel_name": "X", "nights": True}, "args.nights: expected integer, got boolean"),
        ({"hotel_name": "X", "nights": 1.5}, "args.nights: expected integer"),
        ({"hotel_name": "X", "kind": "triple"}, "args.kind: 'triple' is not one of"),
        ({"hotel_name": "X", "tags": ["a", 2]}, "matches none"),
        ({"hotel_name": "X", "stars": 5}, "args.stars: unexpected argument"),
        ("not json", "expected a JSON object"),
        (["x"], "expected an object"),
    ],
)
def test_validation_names_the_problem(args: Any, problem: str) -> None:
    t = create_tool(book_hotel)
    with pytest.raises(ToolArgumentError) as info:
        t.validate(args)
    assert problem in str(info.value)
    assert info.value.tool_name == "book_hotel"


def test_valid_arguments_pass_and_int_is_a_number() -> None:
    t = create_tool(book_hotel)
    args = {"hotel_name": "X", "budget": 100, "tags": ["a"], "extras": {"breakfast": True}}
    assert t.validate(args) == args
    assert t.invoke({"hotel_name": "X", "nights": 2}) == "Booked X for 2"


def test_schema_errors_collects_every_problem() -> None:
    schema = create_tool(book_hotel).parameters
    errors = schema_errors(schema, {"nights": "2", "kind": 1})
    assert len(errors) == 3


def test_bool_is_not_equal_to_one_in_enums() -> None:
    assert schema_errors({"enum": [1]}, True)
    assert not schema_errors({"enum": [True]}, True)


async def test_ainvoke_runs_sync_tools_in_a_worker_thread() -> None:
    seen: list[bool] = []

    def where() -> str:
        """Report the thread."""
        seen.append(threading.current_thread() is threading.main_thread())
        return "ok"

    assert await create_tool(where).ainvoke({}) == "ok"
    assert seen == [False]


async def test_ainvoke_async_tool_and_invoke_refuses_it() -> None:
    @tool
    async def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    assert shout.is_async
    assert await shout.ainvoke({"text": "hi"}) == "HI"
    with pytest.raises(TypeError, match="ainvoke"):
        shout.invoke({"text": "hi"})
    with pytest.raises(ToolArgumentError):
        await shout.ainvoke({"text": 1})


def test_get_tool_call_outside_a_tool_node() -> None:
    with pytest.raises(RuntimeError, match="ToolNode"):
        get_tool_call()


def test_sphinx_docstrings() -> None:
    description, params = parse_docstring("Do it.\n\n:param x: the x\n:param int y: the y\n:returns: z")
    assert description == "Do it."
    assert params == {"x": "the x", "y": "the y"}


def test_create_tool_from_a_tool_overrides() -> None:
    base = create_tool(book_hotel)
    renamed = create_tool(base, name="reserve")
    assert renamed.name == "reserve" and renamed.parameters == base.parameters and renamed.fn is base.fn
