"""How the SDK reads the arguments callers give it, in the forms LangGraph users write them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streamhil.protocol import InterruptInfo

__all__ = ["breakpoints", "interrupt_id", "stream_modes"]


def stream_modes(value: str | Iterable[str]) -> tuple[str, ...]:
    """The stream modes asked for: one mode as a string (``"values"``, as LangGraph's
    ``stream_mode="values"``) or several in a list or tuple."""
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def interrupt_id(value: Any, what: str) -> Any:
    """An interrupt id, from the id itself or from the interrupt object that carries it."""
    if isinstance(value, InterruptInfo):
        return value.id
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{what}: expected an interrupt id (str) or an InterruptInfo, got {type(value).__name__}")


def breakpoints(value: list[str] | tuple[str, ...] | str | None) -> tuple[str, ...] | Any:
    """``interrupt_before`` / ``interrupt_after``: ``"*"``, one node name, or several."""
    if value is None or value == "*":
        return value
    if isinstance(value, str):
        return (value,)
    return tuple(value)
