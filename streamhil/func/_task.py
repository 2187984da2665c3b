"""``@task``: a function whose calls, inside an entrypoint, run as tasks with saved results."""

from __future__ import annotations

import datetime
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar

from ..types import RetryPolicy
from ._calls import TaskFuture, TaskSpec, call_task

__all__ = ["TaskFunction", "task", "is_async_callable", "retry_policies", "timeout_seconds"]

P = ParamSpec("P")
T = TypeVar("T")


def is_async_callable(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    return callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)


def retry_policies(retry_policy: RetryPolicy | Sequence[RetryPolicy] | None) -> tuple[RetryPolicy, ...]:
    if retry_policy is None:
        return ()
    if isinstance(retry_policy, RetryPolicy):
        return (retry_policy,)
    policies = tuple(retry_policy)
    if not all(isinstance(p, RetryPolicy) for p in policies):
        raise TypeError(f"retry_policy must be a RetryPolicy or a list of them, got {retry_policy!r}.")
    return policies


def timeout_seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return float(timeout)
    raise TypeError(f"timeout must be seconds or a timedelta, got {timeout!r} (no TimeoutPolicy).")


def refuse_cache(**options: Any) -> None:
    for option, value in options.items():
        if value is not None:
            raise TypeError(f"{option}=... is not supported by streamhil: it has no task cache "
                            "(see docs/langgraph-differences.md).")


class TaskFunction(Generic[P, T]):
    """A ``@task`` function: calling it starts a task and returns a :class:`TaskFuture`."""

    def __init__(self, func: Callable[P, Any], *, name: str | None, retry: tuple[RetryPolicy, ...],
                 timeout: float | None) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = name or str(getattr(func, "__name__", type(func).__name__))
        self.spec = TaskSpec(self.name, func, is_async_callable(func), retry, timeout)

    def __repr__(self) -> str:
        return f"<task {self.name!r}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> TaskFuture[T]:
        return call_task(self.spec, args, kwargs)


def task(
    __func_or_none__: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: Any = None,
    timeout: float | datetime.timedelta | None = None,
    **kwargs: Any,
) -> Any:
    """Make a function a task: ``@task`` or ``@task(name=..., retry_policy=..., timeout=...)``.

    Called inside an ``@entrypoint``, it returns a future at once and runs beside the caller (so
    ``[t(x) for x in xs]`` runs them in parallel); ``.result()`` (sync) or ``await`` (async) gives
    its return value. Its result is saved, so an entrypoint resumed after an interrupt gets it
    back without running the task again. A task is identified by its position among the calls of
    the run: the entrypoint must make its calls in the same order when it re-runs.
    """
    refuse_cache(cache_policy=cache_policy)
    if "retry" in kwargs and retry_policy is None:  # LangGraph's deprecated spelling
        retry_policy = kwargs.pop("retry")
    if kwargs:
        raise TypeError(f"task() got unexpected keyword argument(s): {', '.join(kwargs)}.")
    policies = retry_policies(retry_policy)
    seconds = timeout_seconds(timeout)

    def decorate(func: Callable[..., Any]) -> TaskFunction[Any, Any]:
        if not callable(func):
            raise TypeError(f"@task decorates a function, got {func!r}.")
        return TaskFunction(func, name=name, retry=policies, timeout=seconds)

    if __func_or_none__ is not None:
        return decorate(__func_or_none__)
    return decorate
