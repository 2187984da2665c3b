"""Which failures a node's retry policy tries again, as in LangGraph: ``default_retry_on`` and the
choice among several policies."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["default_retry_on", "retries", "matches", "next_wait"]

_PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, ArithmeticError, ImportError, LookupError, NameError, SyntaxError,
    RuntimeError, ReferenceError, StopIteration, StopAsyncIteration, OSError,
)
"""Failures that another attempt would only repeat (a bug, bad input, a missing file)."""


def default_retry_on(exc: BaseException) -> bool:
    """LangGraph's default: retry lost connections and HTTP 5xx answers (``httpx``,
    ``requests``), not programming errors; other exceptions are retried."""
    if isinstance(exc, ConnectionError):
        return True
    status = _http_status(exc)
    if status is not None:
        return status == -1 or 500 <= status < 600
    return not isinstance(exc, _PROGRAMMING_ERRORS)


def _http_status(exc: BaseException) -> int | None:
    """The status of an HTTP client's status error (-1: a ``requests`` error without a
    response), or None when ``exc`` is not one. The clients are looked up, never imported."""
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return int(exc.response.status_code)
    requests = sys.modules.get("requests")
    if requests is not None and isinstance(exc, requests.HTTPError):
        response = exc.response
        return int(response.status_code) if response is not None else -1
    return None


def matches(retry_on: Any, exc: BaseException) -> bool:
    """Whether ``retry_on`` (an exception class, a sequence of them, or a predicate) covers
    ``exc``."""
    if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence) and not isinstance(retry_on, str):
        return isinstance(exc, tuple(retry_on))
    if callable(retry_on):
        return bool(retry_on(exc))
    raise TypeError(
        f"retry_on must be an exception class, a list or tuple of them, or a callable; got {retry_on!r}"
    )


def retries(policies: Sequence[Any], exc: BaseException) -> Any | None:
    """The first of ``policies`` whose ``retry_on`` covers ``exc``, or None."""
    for policy in policies:
        if matches(policy.retry_on, exc):
            return policy
    return None


def next_wait(policies: Sequence[Any], exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before trying again after failed attempt number ``attempt`` (from 1), or
    None when no policy covers ``exc`` or the one that does has no attempt left."""
    policy = retries(policies, exc) if policies else None
    if policy is None or attempt >= policy.max_attempts:
        return None
    return float(policy.wait(attempt))
