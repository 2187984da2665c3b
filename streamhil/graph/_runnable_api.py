"""The parts of LangChain's ``Runnable`` interface a compiled LangGraph graph has beyond running
and reading state: ``with_config``, ``batch``/``abatch``, ``get_subgraphs``, the input/output
schemas (``astream_events`` is in :mod:`._events_api`). Mixed into :class:`~streamhil.graph.compiled.CompiledStateGraph`."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import anyio

from ..executor.discover import called_graph
from ..executor.scope import PRIVATE_LOOP
from . import _json_schema, _sync

__all__ = ["RunnableAPI", "merge_configs"]

def merge_configs(*configs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Configs merged as LangChain merges them: ``configurable`` and ``metadata`` key by key,
    ``tags`` as a sorted union, callbacks lists joined, a ``recursion_limit`` given (whatever its
    value: only a limit nobody gave is the default, as in LangGraph 1.2.22) and any other non-empty
    value replacing the earlier one."""
    merged: dict[str, Any] = {}
    for config in configs:
        for key, value in (config or {}).items():
            if key in ("configurable", "metadata"):
                merged[key] = {**merged.get(key, {}), **(value or {})}
            elif key == "tags":
                merged[key] = sorted({*merged.get(key, []), *(value or [])})
            elif key == "callbacks" and isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *value]
            elif key == "recursion_limit":
                if value is not None:
                    merged[key] = value
            else:
                merged[key] = value or merged.get(key)
    return merged


def _config_list(config: Any, length: int) -> list[dict[str, Any]]:
    """One config per input, as LangChain's ``batch`` takes them: a list of that length, or one
    config for all (its ``run_id`` kept for the first input only)."""
    if isinstance(config, Sequence) and not isinstance(config, (str, Mapping)):
        if len(config) != length:
            raise ValueError(
                f"config must be a list of the same length as inputs, but got {len(config)} configs for {length} inputs"
            )
        return [dict(c or {}) for c in config]
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict or a list of dicts, got {config!r}")
    base = dict(config or {})
    if length > 1 and base.get("run_id") is not None:
        warnings.warn("Provided run_id will be used only for the first element of the batch.", stacklevel=3)
        rest = {k: v for k, v in base.items() if k != "run_id"}
        return [base] + [dict(rest) for _ in range(length - 1)]
    return [dict(base) for _ in range(length)]


class RunnableAPI:
    """``Runnable`` methods of a compiled graph. The class mixing this in provides ``spec``,
    ``name``, ``builder``, ``config`` and ``ainvoke``."""

    spec: Any
    name: str
    builder: Any
    config: dict[str, Any] | None

    # -- configuration --------------------------------------------------------------------------
    def with_config(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """A copy of the graph whose runs and state calls use ``config`` (and ``kwargs``) merged
        under the config each call passes."""
        bound = copy.copy(self)
        bound.config = merge_configs(self.config, config, kwargs)
        return bound

    def _bound_config(self, config: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """``config`` merged over the one ``with_config`` bound (no copy when nothing is bound)."""
        return merge_configs(self.config, config) if self.config else config

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """The graph's name, with ``suffix`` as LangChain appends it (``LangGraphInput``)."""
        name = name or self.name
        return _json_schema.runnable_name(name, suffix) if suffix else name

    # -- batches ----------------------------------------------------------------------------------
    async def abatch(
        self, inputs: Sequence[Any], config: Any = None, *, return_exceptions: bool = False, **kwargs: Any
    ) -> list[Any]:
        """``ainvoke`` every input at once (at most ``config["max_concurrency"]`` at a time); the
        results in input order. Inputs given one thread's config race on it, as in LangGraph: each
        run starts from the checkpoint that is latest when it starts. With ``return_exceptions`` a failed run's exception takes its place,
        else the first failure is raised and the other runs are cancelled."""
        inputs = list(inputs)
        if not inputs:
            return []
        configs = _config_list(config, len(inputs))
        limit = configs[0].get("max_concurrency")
        limiter = anyio.CapacityLimiter(limit) if limit else None
        results: list[Any] = [None] * len(inputs)

        async def run(index: int) -> None:
            # Several runs share the loop (even the sync API's own): their sync nodes go to worker
            # threads rather than inline, so the runs really run at once, as LangGraph's batch.
            PRIVATE_LOOP.set(len(inputs) == 1 and PRIVATE_LOOP.get())
            async with limiter if limiter is not None else contextlib.nullcontext():
                try:
                    results[index] = await self.ainvoke(inputs[index], configs[index], **kwargs)  # type: ignore[attr-defined]
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    results[index] = exc

        try:
            async with anyio.create_task_group() as tg:
                for index in range(len(inputs)):
                    tg.start_soon(run, index)
        except BaseExceptionGroup as group:  # the first failure itself, not a group of it
            raise group.exceptions[0] from None
        return results

    def batch(
        self, inputs: Sequence[Any], config: Any = None, *, return_exceptions: bool = False, **kwargs: Any
    ) -> list[Any]:
        """Sync ``abatch``."""
        return _sync.call(self.abatch, inputs, config, return_exceptions=return_exceptions, name="batch", **kwargs)

    # -- subgraphs --------------------------------------------------------------------------------
    def _subgraph_of(self, node: Any) -> Any | None:
        if node.subgraph is not None:
            if node.subgraph.checkpointer is False:
                return None
            spec = node.subgraph
            return type(self)(spec, checkpointer=spec.checkpointer, interrupt_before=spec.interrupt_before,
                              interrupt_after=spec.interrupt_after)  # type: ignore[call-arg]
        return called_graph(node.fn)

    def get_subgraphs(self, *, namespace: str | None = None, recurse: bool = False) -> Iterator[tuple[str, Any]]:
        """``(namespace, graph)`` of the subgraphs: added as nodes, or called by a node's function.
        ``namespace`` (``"parent|child"``, no task ids) picks one; ``recurse`` goes into them."""
        for name, node in self.spec.nodes.items():
            if namespace is not None and namespace != name and not namespace.startswith(name + "|"):
                continue
            graph = self._subgraph_of(node)
            if graph is None:
                continue
            if namespace == name:
                yield name, graph
                return
            if namespace is None:
                yield name, graph
            if recurse and hasattr(graph, "get_subgraphs"):
                inner = None if namespace is None else namespace[len(name) + 1:]
                for child, sub in graph.get_subgraphs(namespace=inner, recurse=True):
                    yield f"{name}|{child}", sub

    async def aget_subgraphs(self, *, namespace: str | None = None, recurse: bool = False) -> AsyncIterator[tuple[str, Any]]:
        """Async ``get_subgraphs``."""
        for item in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield item

    # -- schemas (pydantic) ----------------------------------------------------------------------
    def _input_cls(self) -> Any:
        return (self.spec.input_schema or self.spec.schema).cls

    def _output_cls(self) -> Any:
        return (self.spec.output_schema or self.spec.schema).cls

    def get_input_jsonschema(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON schema of the graph's input (its input schema's own, for a TypedDict)."""
        return _json_schema.json_schema(self._input_cls(), self.spec.input_keys, self.get_name("Input"))

    def get_output_jsonschema(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON schema of the graph's output (its output schema's own, for a TypedDict)."""
        return _json_schema.json_schema(self._output_cls(), self.spec.output_keys, self.get_name("Output"))

    def get_input_schema(self, config: Mapping[str, Any] | None = None) -> Any:
        """A pydantic model of the input: the input schema if it is one, else a root model of it."""
        return _json_schema.root_model(self._input_cls(), self.get_name("Input"))

    def get_output_schema(self, config: Mapping[str, Any] | None = None) -> Any:
        """A pydantic model of the output: the output keys, each optional."""
        return _json_schema.optional_fields_model(self.spec.schema.cls, self.spec.output_keys, self.get_name("Output"))

    @property
    def input_schema(self) -> Any:
        return self.get_input_schema()

    @property
    def output_schema(self) -> Any:
        return self.get_output_schema()

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The JSON schema of the graph's ``context_schema``, or None without one."""
        context_schema = getattr(self, "context_schema", None)
        if context_schema is None:
            return None
        return _json_schema.context_json_schema(context_schema)
