"""Read a function's signature and docstring into a tool name, description and JSON schema."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import orjson

from ..errors import StreamhilError

__all__ = ["ToolSchemaError", "function_schema", "parse_docstring", "type_schema"]

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}
_ARRAYS = {list, tuple, Sequence, typing.List, typing.Sequence}
_OBJECTS = {dict, Mapping, typing.Dict, typing.Mapping}
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Notes?)\s*:\s*$")
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ARG = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


class ToolSchemaError(StreamhilError, TypeError):
    """A tool function whose parameters cannot be described by a JSON schema."""


def type_schema(tp: Any, where: str) -> dict[str, Any]:
    """The JSON schema of one annotation; ``where`` names it in errors."""
    if tp is Any or tp is inspect.Parameter.empty or tp is object:
        return {}
    if tp is None:
        return {"type": "null"}
    origin = get_origin(tp)
    if origin is typing.Annotated:
        inner, *extras = get_args(tp)
        schema = type_schema(inner, where)
        notes = [e for e in extras if isinstance(e, str)]
        if notes:
            schema = {**schema, "description": " ".join(notes)}
        return schema
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if origin is Literal:
        values = list(get_args(tp))
        for v in values:
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise ToolSchemaError(f"{where}: Literal values must be str, int, float, bool or None, got {v!r}")
        return {"enum": values}
    if origin in (Union, types.UnionType):
        options = [type_schema(a, where) for a in get_args(tp)]
        return {} if {} in options else {"anyOf": options}
    if tp in _ARRAYS:
        return {"type": "array"}
    if origin in _ARRAYS:
        args = get_args(tp)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return {
                "type": "array",
                "prefixItems": [type_schema(a, f"{where}[{i}]") for i, a in enumerate(args)],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": type_schema(args[0], f"{where}[]")} if args else {"type": "array"}
    if tp in _OBJECTS:
        return {"type": "object"}
    if origin in _OBJECTS or origin is dict:
        args = get_args(tp)
        if args and args[0] is not str:
            raise ToolSchemaError(f"{where}: JSON objects have string keys; use dict[str, ...], not {tp!r}")
        mapping: dict[str, Any] = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            mapping["additionalProperties"] = type_schema(args[1], f"{where}{{}}")
        return mapping
    if typing.is_typeddict(tp):
        return _typeddict_schema(tp, where)
    name = getattr(tp, "__name__", repr(tp))
    raise ToolSchemaError(
        f"{where}: unsupported parameter type {name!r}. Tool parameters may be str, int, float, bool, "
        "None, list[...], tuple[...], dict[str, ...], a TypedDict, Literal[...], Optional/Union or Any."
    )


def _typeddict_schema(tp: Any, where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(tp, include_extras=True)
    required = sorted(getattr(tp, "__required_keys__", hints.keys()))
    return {
        "type": "object",
        "properties": {k: type_schema(v, f"{where}.{k}") for k, v in hints.items()},
        "required": required,
        "additionalProperties": False,
    }


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its description and per-parameter notes (Google or Sphinx style)."""
    if not doc:
        return "", {}
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for line in inspect.cleandoc(doc).splitlines():
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        if header:
            section, current, arg_indent = header.group(1).lower(), None, None
            continue
        sphinx = _SPHINX_ARG.match(line)
        if sphinx:
            section, current = "sphinx", sphinx.group(1)
            params[current] = sphinx.group(2).strip()
            continue
        if line.lstrip().startswith(":"):  # :returns:, :raises ...:, :type x: end a parameter
            section, current = "other", None
            continue
        if section is None:
            description.append(line)
            continue
        if not line.strip() or section not in ("args", "arguments", "parameters", "params", "sphinx"):
            continue
        arg = _GOOGLE_ARG.match(line) if section != "sphinx" else None
        if arg and (arg_indent is None or indent <= arg_indent):
            arg_indent = indent
            current = arg.group(1)
            params[current] = arg.group(2).strip()
        elif current is not None:
            params[current] = f"{params[current]} {line.strip()}".strip()
    return "\n".join(description).strip(), params


CONFIG_PARAMETER = "config"
"""A tool parameter of this name receives the running node's config instead of a model argument."""


def function_schema(fn: Callable[..., Any]) -> tuple[dict[str, Any], str]:
    """The JSON schema of ``fn``'s keyword-passable parameters, and its docstring's description.

    Raises :class:`ToolSchemaError` for parameters no JSON value can fill.
    """
    name = getattr(fn, "__name__", repr(fn))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolSchemaError(f"cannot read the signature of {name!r}: {exc}") from None
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolSchemaError(f"cannot resolve the type hints of {name!r}: {exc}") from None
    description, notes = parse_docstring(inspect.getdoc(fn))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        where = f"{name}({param.name})"
        if param.kind is param.VAR_KEYWORD or param.name == CONFIG_PARAMETER:
            continue  # `config` is the run's config, injected (as LangChain does), not an argument
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise ToolSchemaError(
                f"{where}: tools are called with keyword arguments; *args and positional-only "
                "parameters cannot be filled"
            )
        schema = type_schema(hints.get(param.name, inspect.Parameter.empty), where)
        if param.default is param.empty:
            required.append(param.name)
        else:
            if param.default is None and schema and not _allows_null(schema):
                schema = {"anyOf": [schema, {"type": "null"}]}
            try:
                orjson.dumps(param.default)
            except TypeError:
                pass
            else:
                schema = {**schema, "default": param.default}
        if param.name in notes and "description" not in schema:
            schema = {**schema, "description": notes[param.name]}
        properties[param.name] = schema
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return parameters, description


def _allows_null(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "null":
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", ()))
