"""How ToolNode answers a tool that raises: LangGraph's ``handle_tool_errors`` rules, exactly.

Arguments that do not fit a tool's schema (streamhil's :class:`ToolArgumentError`, or the
``pydantic.ValidationError`` a LangChain tool raises) become a :class:`ToolInvocationError`. What
then happens depends on ``handle_tool_errors``:

- the default (:func:`_default_handle_tool_errors`) answers a ``ToolInvocationError`` with its
  message and lets every other exception propagate, failing the node (so a ``retry_policy`` on it
  applies);
- ``True`` answers any exception, ``"Error: <repr(exc)>\\n Please fix your mistakes."``;
- a string answers any exception with that string (an empty string answers none);
- an exception type or a tuple of them answers those (with ``True``'s text);
- a function ``exc -> str`` answers the exceptions its first parameter is annotated with (every
  exception when it has no annotation) with what it returns;
- ``False`` answers none.

An ``interrupt()`` is never an ``Exception``, and a resume that does not fit an interrupt's
``response_schema`` (:func:`~streamhil.errors.is_invalid_resume`) always propagates: the model
cannot fix it, the human answers again.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

from ..errors import StreamhilError, is_invalid_resume
from ._tool import ToolArgumentError

__all__ = [
    "ErrorHandling",
    "ToolInvocationError",
    "TOOL_CALL_ERROR_TEMPLATE",
    "TOOL_INVOCATION_ERROR_TEMPLATE",
    "as_invocation_error",
    "error_answer",
]

ErrorHandling = bool | str | type[Exception] | tuple[type[Exception], ...] | Callable[..., str]

TOOL_CALL_ERROR_TEMPLATE = "Error: {error}\n Please fix your mistakes."
TOOL_INVOCATION_ERROR_TEMPLATE = (
    "Error invoking tool '{tool_name}' with kwargs {tool_kwargs} with error:\n"
    " {error}\n"
    " Please fix the error and try again."
)


class ToolInvocationError(StreamhilError):
    """A tool called with arguments that do not fit its schema (the model's mistake), as
    LangGraph's ``langgraph.prebuilt.tool_node.ToolInvocationError``; raised only by ToolNode.

    ``source`` is the :class:`ToolArgumentError` (or LangChain's ``pydantic.ValidationError``);
    ``filtered_errors`` the pydantic error details shown, when ``source`` is pydantic's.
    """

    def __init__(
        self,
        tool_name: str,
        source: Exception,
        tool_kwargs: Any,
        filtered_errors: list[Mapping[str, Any]] | None = None,
    ) -> None:
        if filtered_errors is not None:
            shown = "\n".join(
                f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'Unknown error')}"
                for error in filtered_errors
            )
        elif isinstance(source, ToolArgumentError):
            shown = "\n".join(line.removeprefix("args.") for line in source.errors)
        else:
            shown = str(source)
        self.message = TOOL_INVOCATION_ERROR_TEMPLATE.format(tool_name=tool_name, tool_kwargs=tool_kwargs, error=shown)
        self.tool_name = tool_name
        self.tool_kwargs = tool_kwargs
        self.source = source
        self.filtered_errors = filtered_errors
        super().__init__(self.message)


def _is_pydantic_validation_error(exc: BaseException) -> bool:
    """``pydantic.ValidationError`` (pydantic 2's, defined in ``pydantic_core``), recognised
    without importing pydantic."""
    return any(c.__name__ == "ValidationError" and c.__module__.startswith("pydantic_core") for c in type(exc).__mro__)


def as_invocation_error(call: Mapping[str, Any], exc: Exception) -> ToolInvocationError | None:
    """``exc`` as the ToolInvocationError LangGraph's ToolNode makes of it (arguments that do not
    fit the schema), or None for any other exception."""
    if isinstance(exc, ToolArgumentError):
        return ToolInvocationError(call["name"], exc, call["args"])
    if _is_pydantic_validation_error(exc) and not is_invalid_resume(exc):
        errors = [error for error in exc.errors() if error["loc"]]  # type: ignore[attr-defined]
        return ToolInvocationError(call["name"], exc, call["args"], errors)
    return None


def _default_handle_tool_errors(e: Exception) -> str:
    """ToolNode's default handler, as LangGraph's: a ToolInvocationError (bad arguments) is
    answered with its message; anything else is raised again."""
    if isinstance(e, ToolInvocationError):
        return e.message
    raise e


def error_answer(exc: Exception, flag: ErrorHandling) -> str | None:
    """The text of the error tool message answering ``exc`` under ``handle_tool_errors=flag``, or
    None when ``exc`` must propagate. A handler function may raise (the default raises ``exc``)."""
    if is_invalid_resume(exc):
        return None
    handled: tuple[type[BaseException], ...]
    if isinstance(flag, type) and issubclass(flag, Exception):
        handled = (flag,)
    elif isinstance(flag, tuple):
        handled = flag
    elif callable(flag) and not isinstance(flag, type):
        handled = _infer_handled_types(flag)
    else:
        handled = (Exception,)
    if not flag or not isinstance(exc, handled):
        return None
    if isinstance(flag, (bool, tuple)) or (isinstance(flag, type) and issubclass(flag, Exception)):
        return TOOL_CALL_ERROR_TEMPLATE.format(error=repr(exc))
    if isinstance(flag, str):
        return flag
    if callable(flag):
        return cast("Callable[[Exception], str]", flag)(exc)
    raise ValueError(
        f"Got unexpected type of `handle_tool_error`. Expected bool, str or callable. Received: {flag}"
    )


def _infer_handled_types(handler: Callable[..., str]) -> tuple[type[Exception], ...]:
    """The exception types a handler function takes: its first parameter's annotation (a type
    or a union of types; ``self``/``cls`` skipped), or ``(Exception,)`` without one. Raises
    ``ValueError`` for an annotation that is not an exception type (LangGraph's rule and text)."""
    params = list(inspect.signature(handler).parameters.values())
    if not params:
        return (Exception,)
    first = params[1] if params[0].name in ("self", "cls") and len(params) == 2 else params[0]
    hints = get_type_hints(handler)
    if first.name not in hints:
        return (Exception,)
    exception_type = hints[first.name]
    # (the resolved annotation: LangGraph reads a union from the raw one, so under
    # ``from __future__ import annotations`` a union fails there with an AttributeError)
    if get_origin(exception_type) in (Union, UnionType):
        args = get_args(exception_type)
        if all(isinstance(arg, type) and issubclass(arg, Exception) for arg in args):
            return tuple(args)
        raise ValueError(
            "All types in the error handler error annotation must be Exception types. For example, "
            "`def custom_handler(e: Union[ValueError, TypeError])`. "
            f"Got '{first.annotation}' instead."
        )
    if Exception in exception_type.__mro__:
        return (exception_type,)
    raise ValueError(
        "Arbitrary types are not supported in the error handler signature. Please annotate the "
        "error with either a specific Exception type or a union of Exception types. For example, "
        "`def custom_handler(e: ValueError)` or `def custom_handler(e: Union[ValueError, TypeError])`. "
        f"Got '{exception_type}' instead."
    )
