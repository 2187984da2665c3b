"""``@entrypoint``: a function compiled into a one-node graph.

The node runs the function; its input is the run's input (any value), its return value is the
graph's output and state, and ``entrypoint.final(value=..., save=...)`` saves something else for
the next run's ``previous``. The executor sees a ``GraphSpec`` with ``entry`` set, so the server,
checkpointers, ``get_state`` and the stream modes treat it as any compiled graph.
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..constants import END, START
from ..executor.context import require_task
from ..executor.runtime import injected_kwargs
from ..executor.spec import ENTRY_INPUT, ENTRY_OUTPUT, ENTRY_SAVE, ChannelSpec, GraphSpec, NodeSpec, StateSchema
from ..graph.compiled import CompiledStateGraph
from ..graph.node_params import injected_parameters
from ..types import Command, RetryPolicy
from ._calls import run_with_calls
from ._task import is_async_callable, refuse_cache, retry_policies, timeout_seconds

__all__ = ["EntrypointGraph", "entrypoint"]

R = TypeVar("R")
S = TypeVar("S")


class entrypoint:
    """Turn a function into a workflow graph: ``@entrypoint(checkpointer=InMemorySaver())``.

    The function takes one input (any value; a dict for several) and may also take ``config``,
    ``writer``, ``store``, ``runtime`` and ``previous`` (the value the last run on this thread
    returned or saved). It may call ``interrupt()`` and ``@task`` functions. A resumed run
    (``Command(resume=...)``) runs the function again from its first line: tasks that finished
    return their saved results, and each ``interrupt()`` already answered returns its answer.
    """

    @dataclass(frozen=True)
    class final(Generic[R, S]):
        """Return ``value`` to the caller and save ``save`` as the next run's ``previous``."""

        value: R
        save: S

    def __init__(
        self,
        checkpointer: Any = None,
        store: Any = None,
        cache: Any = None,
        context_schema: Any = None,
        cache_policy: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        timeout: float | datetime.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        refuse_cache(cache=cache, cache_policy=cache_policy)
        if "retry" in kwargs and retry_policy is None:  # LangGraph's deprecated spelling
            retry_policy = kwargs.pop("retry")
        config_schema = kwargs.pop("config_schema", None)  # LangGraph's deprecated spelling
        if context_schema is None:
            context_schema = config_schema
        if kwargs:
            raise TypeError(f"entrypoint() got unexpected keyword argument(s): {', '.join(kwargs)}.")
        self.checkpointer = checkpointer
        self.store = store
        self.context_schema = context_schema  # the type of a run's ``context`` (``runtime.context``)
        self.retry_policy = retry_policies(retry_policy)
        self.timeout = timeout_seconds(timeout)

    def __call__(self, func: Callable[..., Any]) -> CompiledStateGraph:
        """Compile ``func`` into a graph with one node named after it."""
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise NotImplementedError("Generators are not supported in the functional API.")
        try:
            params = list(inspect.signature(func).parameters)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Cannot read the signature of entrypoint {func!r}.") from exc
        if not params:
            raise ValueError("Entrypoint function must have at least one parameter (its input).")
        name = getattr(func, "__name__", type(func).__name__)
        inject = tuple(p for p in injected_parameters(func) if p != params[0])
        node = NodeSpec(
            name, _entry_node(func, is_async_callable(func), inject), is_async=True,
            retry=self.retry_policy, timeout=self.timeout,
        )
        channels = {key: ChannelSpec(key) for key in (ENTRY_INPUT, ENTRY_OUTPUT, ENTRY_SAVE)}
        spec = GraphSpec(
            name, StateSchema(dict, channels), {name: node}, edges=((START, name), (name, END)),
            store=self.store, entry=name,
        )
        return EntrypointGraph(spec, checkpointer=self.checkpointer, context_schema=self.context_schema)


class EntrypointGraph(CompiledStateGraph):
    """The graph ``@entrypoint`` makes: a compiled graph whose ``update_state`` takes what the
    function could have returned, as LangGraph's does."""

    async def aupdate_state(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Write ``values`` as if the entrypoint had returned them (an ``entrypoint.final`` too):
        the thread's state and the next run's ``previous``; a paused run is then over."""
        entry = self.spec.entry
        own_thread = not (config.get("configurable") or {}).get("checkpoint_ns")  # not a subgraph run's
        if own_thread and as_node in (None, entry) and values is not None and not isinstance(values, Command):
            return await super().aupdate_state(config, entry_writes(values), entry)
        return await super().aupdate_state(config, values, as_node)


def entry_writes(value: Any) -> dict[str, Any]:
    """The state writes of an entrypoint returning ``value``: the output, and the next run's
    ``previous`` (``entrypoint.final`` sets them apart)."""
    if isinstance(value, entrypoint.final):
        return {ENTRY_OUTPUT: value.value, ENTRY_SAVE: value.save}
    return {ENTRY_OUTPUT: value, ENTRY_SAVE: value}


def _entry_node(func: Callable[..., Any], is_async: bool, inject: tuple[str, ...]) -> Callable[..., Any]:
    """The node running ``func``: its input and ``previous`` from the state, its return value
    (or ``entrypoint.final``) as the writes of the output and what the next run gets."""

    async def run_entrypoint(state: dict[str, Any]) -> dict[str, Any]:
        ctx = require_task("entrypoint")
        kwargs = injected_kwargs(ctx, inject, 1) if inject else {}
        if "previous" in kwargs:
            kwargs["previous"] = state.get(ENTRY_SAVE)
        if "runtime" in kwargs:
            kwargs["runtime"] = dataclasses.replace(kwargs["runtime"], previous=state.get(ENTRY_SAVE))
        return entry_writes(await run_with_calls(ctx, func, is_async, state.get(ENTRY_INPUT), kwargs))

    run_entrypoint.__name__ = getattr(func, "__name__", "entrypoint")
    return run_entrypoint
