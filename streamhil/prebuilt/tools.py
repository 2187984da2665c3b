"""Tools: plain functions with a name, a description and a JSON schema for their arguments.

::

    @tool
    def book_hotel(hotel_name: str, nights: int = 1) -> str:
        \"\"\"Book a hotel.

        Args:
            hotel_name: The hotel to book.
        \"\"\"
        return f"Booked {hotel_name} for {nights} nights."

The schema is read from the signature (``str``, ``int``, ``float``, ``bool``, ``list[...]``,
``dict[str, ...]``, ``Optional``, ``Literal``, defaults) and the docstring. Calls made through
:meth:`Tool.ainvoke` are validated against it first.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload


from ._schema import CONFIG_PARAMETER, ToolSchemaError, function_schema, parse_docstring
from ._tool import Tool as Tool
from ._tool import ToolArgumentError as ToolArgumentError
from ._tool import ToolOutput as ToolOutput
from ._tool import _current_call
from ._tool import derives_from

__all__ = [
    "Tool",
    "ToolOutput",
    "ToolArgumentError",
    "ToolSchemaError",
    "tool",
    "create_tool",
    "get_tool_call",
]



def _is_langchain_tool(value: Any) -> bool:
    return derives_from(value, "langchain_core.tools", "BaseTool")


def _is_async(fn: Callable[..., Any]) -> bool:
    target = fn.func if isinstance(fn, functools.partial) else fn
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)
    )


def create_tool(
    fn: Callable[..., Any] | Tool,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    args_schema: Any = None,
) -> Tool:
    """Build a :class:`Tool` from a sync or async function (or a LangChain ``BaseTool``).

    ``name`` defaults to the function's name, ``description`` to its docstring, and
    ``parameters`` (a JSON schema with ``"type": "object"``; LangChain's ``args_schema``, a schema
    dict or pydantic model, is accepted too) to the schema read from its signature. A parameter
    named ``config`` is not an argument: it receives the running node's config.
    Raises :class:`ToolSchemaError` (a ``TypeError``) for parameter types JSON cannot carry.
    """
    if args_schema is not None:
        if parameters is not None:
            raise TypeError("give parameters=... or args_schema=... (LangChain's name), not both")
        parameters = _schema_of(args_schema)
    if isinstance(fn, Tool):
        return Tool(
            name=name or fn.name,
            description=fn.description if description is None else description,
            parameters=dict(parameters) if parameters is not None else fn.parameters,
            fn=fn.fn,
            is_async=fn.is_async,
            validates=fn.validates,
            takes_config=fn.takes_config,
        )
    if _is_langchain_tool(fn):
        from .langchain import tool_from_langchain  # imports langchain-core: only when one is seen

        if parameters is not None:
            raise ToolSchemaError("a LangChain tool carries its own schema; parameters=... cannot replace it")
        return tool_from_langchain(fn, name=name, description=description)
    if not callable(fn):
        raise TypeError(f"a tool is made from a function, got {type(fn).__name__}")
    if parameters is None:
        schema, doc = function_schema(fn)
    else:
        if not isinstance(parameters, Mapping):
            raise ToolSchemaError(f"parameters must be a JSON schema dict, got {type(parameters).__name__}")
        schema, doc = dict(parameters), parse_docstring(inspect.getdoc(fn))[0]
    tool_name = name if name is not None else getattr(fn, "__name__", None)
    if tool_name is None:
        raise ValueError("this callable has no __name__; pass name=...")
    return Tool(
        name=tool_name,
        description=doc if description is None else description,
        parameters=schema,
        fn=fn,
        is_async=_is_async(fn),
        takes_config=_takes_config(fn),
    )


def _takes_config(fn: Callable[..., Any]) -> bool:
    try:
        return CONFIG_PARAMETER in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _schema_of(args_schema: Any) -> Mapping[str, Any]:
    """LangChain's ``args_schema``: a JSON schema dict, or a pydantic model class."""
    if isinstance(args_schema, Mapping):
        return args_schema
    to_schema = getattr(args_schema, "model_json_schema", None)
    if callable(to_schema):
        return to_schema()
    raise ToolSchemaError(f"args_schema must be a JSON schema dict or a pydantic model, got {args_schema!r}")


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    name: str | None = None,
    /,
    *,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    args_schema: Any = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn_or_name: Callable[..., Any] | str | None = None,
    /,
    *,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    args_schema: Any = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Decorator form of :func:`create_tool`: ``@tool``, ``@tool("name")`` or ``@tool(description=...)``."""
    if callable(fn_or_name):
        return create_tool(fn_or_name, description=description, parameters=parameters, args_schema=args_schema)

    def decorate(fn: Callable[..., Any]) -> Tool:
        return create_tool(fn, name=fn_or_name, description=description, parameters=parameters, args_schema=args_schema)

    return decorate


def get_tool_call() -> dict[str, Any]:
    """The tool call (``{"id", "name", "args"}``) the running tool was called for.

    Only meaningful inside a tool run by :class:`~streamhil.prebuilt.ToolNode`.
    """
    call = _current_call.get()
    if call is None:
        raise RuntimeError("get_tool_call() works only inside a tool run by ToolNode")
    return call


def _set_tool_call(call: dict[str, Any]) -> Any:
    return _current_call.set(call)


def _reset_tool_call(token: Any) -> None:
    _current_call.reset(token)

