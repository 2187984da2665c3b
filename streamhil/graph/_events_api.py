"""``astream_events`` / ``stream_events``: a run as LangChain's "v2" events, as LangGraph's compiled
graphs give them. Mixed into :class:`~streamhil.graph.compiled.CompiledStateGraph`.

The graph's own ``on_chain_start``, ``on_chain_stream`` (one per ``updates`` part of the graph
itself) and ``on_chain_end`` (the final values) are made here; each node's ``on_chain_start`` /
``on_chain_stream`` / ``on_chain_end`` by the executor (:mod:`streamhil.executor.node_events`);
chat models, tools, chains and custom events inside nodes by LangChain's callbacks
(:mod:`streamhil.executor.langchain_events`), when ``langchain_core`` is in use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

from .._backend import DetachedTask
from ..constants import INTERRUPT
from ..executor.node_events import EVENTS, graph_event
from . import _sync
from ._run_args import refuse_unknown_kwargs
from .streaming import PartStream

__all__ = ["EventsAPI"]

_RUN_ARGS = frozenset({"interrupt_before", "interrupt_after", "durability", "context"})
_EVENTS_ARGS = _RUN_ARGS | {
    "version", "include_names", "include_types", "include_tags", "exclude_names", "exclude_types", "exclude_tags"
}
_PHASES = ("_start", "_stream", "_end")


class EventsAPI:
    """The events methods of a compiled graph; the class mixing this in provides ``name``,
    ``_bound_config`` and ``_run``."""

    name: str

    async def astream_events(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        version: str = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run the graph and yield LangChain's "v2" events: the graph's start, a node's start,
        stream and end, the chat models', tools' and custom events inside nodes, each update
        of the graph as its ``on_chain_stream``, and the graph's end with its final values.

        ``include_*`` / ``exclude_*`` filter by event name, type (``chain``, ``chat_model``,
        ``tool``...) and tag, as LangChain's. ``interrupt_before``, ``interrupt_after``,
        ``durability`` and ``context`` are passed to the run. Leaving the loop early cancels the run.
        """
        if version != "v2":
            raise NotImplementedError(
                f"astream_events version {version!r} is not supported: streamhil makes the 'v2' events "
                "(LangChain's current schema; 'v1' is deprecated in LangChain too)."
            )
        refuse_unknown_kwargs("CompiledStateGraph.astream_events", kwargs, _RUN_ARGS)
        bound = dict(self._bound_config(config) or {})  # type: ignore[attr-defined]
        run_id = str(bound.get("run_id") or uuid4())
        name = bound.get("run_name") or self.name
        wanted = _Filter(include_names, include_types, include_tags, exclude_names, exclude_types, exclude_tags)
        stream = PartStream(single=False, subgraphs=True)

        async def run(sink: Any, pace: Any) -> None:
            await self._run(  # type: ignore[attr-defined]
                input, config, modes=frozenset({"updates", "values", EVENTS}), sink=sink, pace=pace, subgraphs=False,
                interrupt_before=kwargs.get("interrupt_before"), interrupt_after=kwargs.get("interrupt_after"),
                durability=kwargs.get("durability"), events_run_id=run_id, context=kwargs.get("context"),
            )

        start = graph_event("on_chain_start", name, run_id, bound, {"input": input})
        if wanted(start):
            yield start
        producer = DetachedTask(lambda: stream.produce(run)).start()
        output = None
        try:
            async for ns, mode, payload in stream:
                if mode == EVENTS:
                    if wanted(payload):
                        yield payload
                elif ns:
                    continue
                elif mode == "updates":
                    event = graph_event("on_chain_stream", name, run_id, bound, {"chunk": payload})
                    if wanted(event):
                        yield event
                elif mode == "values":  # the graph's output: its values, without the interrupts
                    output = {k: v for k, v in payload.items() if k != INTERRUPT} if isinstance(payload, dict) else payload
        finally:
            producer.cancel()
            await producer.wait()
            stream.close()
        end = graph_event("on_chain_end", name, run_id, bound, {"output": output})
        if wanted(end):
            yield end

    def stream_events(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Sync ``astream_events``: yields the events as the run makes them."""
        refuse_unknown_kwargs("CompiledStateGraph.stream_events", kwargs, _EVENTS_ARGS)
        return _sync.iterate(lambda: self.astream_events(input, config, **kwargs))


def event_type(event: Mapping[str, Any]) -> str:
    """An event's run type: ``chain``, ``chat_model``, ``llm``, ``tool``, or ``custom_event``."""
    kind = str(event.get("event", ""))[3:]
    for phase in _PHASES:
        if kind.endswith(phase):
            return kind[: -len(phase)]
    return kind


class _Filter:
    """LangChain's ``include_*`` / ``exclude_*`` rule: with no include given every event is in,
    else those matching one of them; then those matching an exclude are out."""

    def __init__(self, *lists: Sequence[str] | None) -> None:
        self.include_names, self.include_types, self.include_tags, self.exclude_names, self.exclude_types, \
            self.exclude_tags = (frozenset(x) if x is not None else None for x in lists)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        name, kind, tags = event.get("name"), event_type(event), event.get("tags") or ()
        include = self.include_names is None and self.include_types is None and self.include_tags is None
        if self.include_names is not None:
            include = include or name in self.include_names
        if self.include_types is not None:
            include = include or kind in self.include_types
        if self.include_tags is not None:
            include = include or any(tag in self.include_tags for tag in tags)
        if self.exclude_names is not None:
            include = include and name not in self.exclude_names
        if self.exclude_types is not None:
            include = include and kind not in self.exclude_types
        if self.exclude_tags is not None:
            include = include and not any(tag in self.exclude_tags for tag in tags)
        return include
