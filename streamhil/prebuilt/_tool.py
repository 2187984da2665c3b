"""The Tool value: a function with a name, a description and a JSON schema for its arguments,
validated before each call. ``streamhil.prebuilt.tools`` builds them (``create_tool``, ``@tool``);
the LangChain adapter builds them from LangChain tools."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio.to_thread

from ..errors import StreamhilError
from ._schema import CONFIG_PARAMETER, ToolSchemaError
from ._validate import schema_errors

__all__ = ["Tool", "ToolOutput", "ToolArgumentError", "ToolSchemaError", "derives_from"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_current_call: ContextVar[dict[str, Any] | None] = ContextVar("streamhil_tool_call", default=None)
"""The tool call (``{"id", "name", "args"}``) ToolNode is running the current tool for."""

class ToolArgumentError(StreamhilError, ValueError):
    """Arguments that do not fit a tool's schema; ``errors`` lists each problem."""

    def __init__(self, tool_name: str, errors: list[str]) -> None:
        self.tool_name = tool_name
        self.errors = errors
        super().__init__(f"invalid arguments for tool {tool_name!r}: " + "; ".join(errors))


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a tool may return to set its tool message's ``status`` (and keep an ``artifact``)."""

    content: Any
    status: Literal["success", "error"] = "success"
    artifact: Any = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: ``name``, ``description``, ``parameters`` (JSON schema)."""

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False)
    is_async: bool = field(default=False, repr=False)
    validates: bool = field(default=True, repr=False)
    """False for a tool that checks its own arguments (a LangChain tool): only the shape is checked."""
    takes_config: bool = field(default=False, repr=False)
    """Whether ``fn`` has a ``config`` parameter: it gets the run's config (LangChain's rule)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-' "
                "(what chat-completions APIs accept)"
            )
        if self.parameters.get("type") != "object":
            raise ToolSchemaError(f"tool {self.name!r}: the parameters schema must have type 'object'")

    @property
    def args_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments, under LangChain's name for it (so code written against
        LangChain's tool interface, e.g. ``tool(t.name, description=t.description,
        args_schema=t.args_schema)``, works on streamhil tools)."""
        return self.parameters

    @property
    def args(self) -> dict[str, Any]:
        """The argument properties (LangChain's ``BaseTool.args``)."""
        return dict(self.parameters.get("properties", {}))

    @property
    def spec(self) -> dict[str, Any]:
        """The tool as chat-completions APIs take it: ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def validate(self, args: Any) -> dict[str, Any]:
        """Check ``args`` against the schema; returns them as a new dict or raises ToolArgumentError."""
        if args is None:
            args = {}
        if isinstance(args, str):
            raise ToolArgumentError(self.name, [f"args: expected a JSON object, got text {args[:60]!r}"])
        if not isinstance(args, Mapping):
            raise ToolArgumentError(self.name, [f"args: expected an object, got {type(args).__name__}"])
        errors = schema_errors(self.parameters, dict(args)) if self.validates else []
        if errors:
            raise ToolArgumentError(self.name, errors)
        return dict(args)

    async def ainvoke(self, args: Any = None, config: Any = None) -> Any:
        """Validate ``args`` and run the tool (a sync tool runs in a worker thread). ``config`` is
        accepted for LangChain's ``tool.ainvoke(input, config)`` signature and not used."""
        kwargs = self._with_config(self.validate(args), config)
        if self.is_async:
            return await self.fn(**kwargs)
        return await anyio.to_thread.run_sync(functools.partial(self.fn, **kwargs))

    def invoke(self, args: Any = None, config: Any = None) -> Any:
        """Validate ``args`` and run a sync tool in the calling thread (``config``: as ``ainvoke``)."""
        if self.is_async:
            raise TypeError(f"tool {self.name!r} is async; use 'await tool.ainvoke(args)'")
        return self.fn(**self._with_config(self.validate(args), config))

    def _with_config(self, kwargs: dict[str, Any], config: Any) -> dict[str, Any]:
        if self.takes_config:
            if config is None:
                from ..executor.context import current_task, get_config

                config = get_config() if current_task() is not None else {}
            kwargs[CONFIG_PARAMETER] = config
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly, without validation."""
        return self.fn(*args, **kwargs)


def derives_from(value: Any, module_prefix: str, class_name: str) -> bool:
    """Whether ``value``'s class derives from ``class_name`` defined under ``module_prefix``:
    how LangChain objects are recognised without importing LangChain."""
    return any(c.__name__ == class_name and c.__module__.startswith(module_prefix) for c in type(value).__mro__)
