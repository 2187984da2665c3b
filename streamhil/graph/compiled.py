"""CompiledStateGraph: runs a built graph. ``astream``/``ainvoke`` are the real API; the sync
methods are thin wrappers that run them on an event loop of their own."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

import anyio

from ..checkpoint.base import BaseCheckpointSaver, CheckpointTuple, PendingWrite
from ..constants import END, INTERRUPT, START
from ..errors import CheckpointError, CheckpointNotFoundError, ConfigError, NothingPendingError
from ..executor.commands import record_command
from ..executor.context import current_task
from ..executor.loop import RunOutcome, execute
from ..executor.message_tap import tap_for
from ..executor.node_events import EVENTS, EventTap
from ..executor.nested import run_nested
from ..executor.scope import DEFAULT_RECURSION_LIMIT, PRIVATE_LOOP, RunScope
from ..executor.spec import GraphSpec, StateSchema
from ..executor.state import build_snapshot, spec_for_ns, update_state
from ..executor.view import UPDATE, load_view
from ..types import Command, GraphOutput, Interrupt, StateSnapshot
from .._backend import DetachedTask
from . import _sync
from ._events_api import EventsAPI
from ._run_args import coerce_context, refuse_unknown_kwargs
from ._runnable_api import RunnableAPI
from .drawing import DrawableGraph, graph_of
from .streaming import PartStream, Sink, on_loop_thread, stream_modes
from .targets import branch_targets

__all__ = ["CompiledStateGraph"]


def _names(value: Any, nodes: Mapping[str, Any]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if value == "*":
        return frozenset(nodes)
    return frozenset(value)


def _check_checkpointer(checkpointer: Any) -> None:
    if checkpointer not in (None, True, False) and not isinstance(checkpointer, BaseCheckpointSaver):
        raise TypeError(
            f"Invalid checkpointer {checkpointer!r}: expected a BaseCheckpointSaver "
            "(InMemorySaver, SqliteSaver), True, False or None."
        )


def _nested_call(parent: Any, config: Mapping[str, Any] | None) -> bool:
    """Whether a run started inside a node (``parent``, its task) is a subgraph of that node's
    run: a config naming no thread, or the node's own thread (its config passed on, as
    LangGraph programs do: ``sub.invoke(state, config)``). A config naming another thread runs
    the graph on that thread, as a run of its own."""
    if parent is None:
        return False
    thread_id = (config or {}).get("configurable", {}).get("thread_id")
    return not thread_id or thread_id == parent.run.thread_id


def _v2_part(
    ns: tuple[str, ...], mode: str, payload: Any, shape: Callable[[dict[str, Any]], Any] | None = None
) -> dict[str, Any]:
    """A stream part in LangGraph's ``version="v2"`` shape; a values part carries its interrupts
    (and its data goes through ``shape``, the root graph's output form, when given)."""
    if mode == "values" and isinstance(payload, dict):
        data = dict(payload)
        interrupts = tuple(data.pop(INTERRUPT, ()))
        return {"type": mode, "ns": ns, "data": shape(data) if shape is not None else data, "interrupts": interrupts}
    return {"type": mode, "ns": ns, "data": payload}


class CompiledStateGraph(RunnableAPI, EventsAPI):
    """A graph ready to run: ``invoke``/``stream`` it, read and edit its threads' state.

    Made by ``StateGraph.compile()``; it runs ``spec`` (the executor's frozen description of
    the graph) and keeps the ``builder`` it came from, as LangGraph's does. LangChain's
    ``Runnable`` extras (``with_config``, ``batch``, ``get_subgraphs``, schemas) come from
    :class:`~streamhil.graph._runnable_api.RunnableAPI`.
    """

    def __init__(
        self,
        spec: GraphSpec,
        *,
        builder: Any = None,
        checkpointer: Any = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        context_schema: Any = None,
    ) -> None:
        _check_checkpointer(checkpointer)
        self.spec = dataclasses.replace(
            spec,
            checkpointer=checkpointer,
            interrupt_before=_names(interrupt_before, spec.nodes),
            interrupt_after=_names(interrupt_after, spec.nodes),
        )
        self.builder = builder  # the StateGraph this was compiled from
        self.context_schema = context_schema if context_schema is not None else getattr(builder, "context_schema", None)
        """The type of ``invoke(..., context=...)`` (a dict given for a dataclass or pydantic
        model becomes one), as LangGraph's ``context_schema``."""
        self.config: dict[str, Any] | None = None  # set on the copies with_config() makes
        self.name = spec.name
        self.schema = spec.schema
        self.channels = spec.channels
        self.nodes = spec.nodes
        self.input_keys = spec.input_keys
        self.output_keys = spec.output_keys
        self.interrupt_before = self.spec.interrupt_before
        self.interrupt_after = self.spec.interrupt_after

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.nodes)}>"

    @property
    def checkpointer(self) -> Any:
        """A saver, ``True``/``False`` (a subgraph's own thread / none) or None (the parent's)."""
        return self.spec.checkpointer

    @checkpointer.setter
    def checkpointer(self, value: Any) -> None:
        # A server gives a registered graph its saver after compile. Parents this graph was
        # already added to as a subgraph keep the setting it had then.
        _check_checkpointer(value)
        self.spec = dataclasses.replace(self.spec, checkpointer=value)

    @property
    def saver(self) -> BaseCheckpointSaver | None:
        return self.spec.saver

    @property
    def _output_schema(self) -> StateSchema:
        """What ``version="v2"`` outputs are built from (a pydantic or dataclass output schema
        gives instances of it)."""
        return self.spec.output_schema or self.spec.schema

    def _v2_values(self, values: dict[str, Any]) -> Any:
        """A ``values`` part's data in ``version="v2"``: the whole state as a dict, or an instance
        of a dataclass or pydantic output schema built from its keys."""
        schema = self._output_schema
        if not schema.builds_objects:
            return values
        return schema.as_output({k: values[k] for k in self.spec.output_keys if k in values})

    # -- configuration ------------------------------------------------------------------------
    def _scope(self, config: Mapping[str, Any] | None, *, need_thread: bool) -> tuple[RunScope, str | None]:
        config = dict(self._bound_config(config) or {})
        configurable = dict(config.get("configurable") or {})
        limit = config.get("recursion_limit", DEFAULT_RECURSION_LIMIT)
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"recursion_limit must be an int of at least 1, got {limit!r}.")
        saver = self.saver
        thread_id = configurable.get("thread_id")
        if saver is not None and thread_id is None and need_thread:
            raise ConfigError(
                "Checkpointer requires one or more of the following 'configurable' keys: thread_id, "
                "checkpoint_ns, checkpoint_id. Pass config={'configurable': {'thread_id': '...'}}."
            )
        max_concurrency = config.get("max_concurrency")
        scope = RunScope(
            graph=self.spec,
            saver=saver,
            thread_id=str(thread_id) if thread_id is not None else None,
            checkpoint_ns=configurable.get("checkpoint_ns", "") or "",
            config=config,
            recursion_limit=limit,
            limiter=anyio.CapacityLimiter(max_concurrency) if max_concurrency else None,
            run_id=config.get("run_id"),
        )
        return scope, configurable.get("checkpoint_id")

    async def _load(self, scope: RunScope, checkpoint_id: str | None) -> tuple[CheckpointTuple | None, bool]:
        """The checkpoint a run starts from, and whether it is an old one (a replay)."""
        if scope.saver is None:
            return None, False
        saved = await scope.saver.aget_tuple(scope.address(checkpoint_id))
        if checkpoint_id is None:
            return saved, False
        if saved is None:
            raise CheckpointNotFoundError(f"Thread {scope.thread_id!r} has no checkpoint {checkpoint_id!r}.")
        head = await scope.saver.aget_tuple(scope.address())
        return saved, head is None or head.checkpoint.id != saved.checkpoint.id

    async def _run(
        self,
        graph_input: Any,
        config: Mapping[str, Any] | None,
        *,
        modes: frozenset[str],
        sink: Any,
        pace: Any = None,
        subgraphs: bool,
        interrupt_before: Any,
        interrupt_after: Any,
        durability: str | None,
        events_run_id: str | None = None,
        context: Any = None,
        repeat_finished: bool = True,
    ) -> RunOutcome:
        config = self._bound_config(config)
        parent = current_task()
        context = coerce_context(self.context_schema, context)
        if context is None and parent is not None:
            context = parent.run.context  # a graph run inside a node has the node's run context
        if parent is not None and _nested_call(parent, config):
            # Called from inside a node: a nested run on the parent's thread.
            own = (modes, sink, subgraphs, pace) if modes else None  # sub.stream(...) in a node: its own stream
            return await run_nested(
                self.spec, graph_input, parent, node_call=False, own_stream=own, events_run_id=events_run_id,
                context=context,
            )
        scope, checkpoint_id = self._scope(config, need_thread=True)
        scope.context = context
        scope.modes = modes
        scope.sink = sink
        scope.pace = pace
        scope.subgraphs = subgraphs
        scope.messages = tap_for(modes)
        scope.events = EventTap(events_run_id or str(uuid4())) if EVENTS in modes else None
        scope.durability = durability or "async"
        scope.inline_sync = PRIVATE_LOOP.get()
        scope.repeat_finished = repeat_finished
        saved, replay = await self._load(scope, checkpoint_id)
        spec = self.spec
        return await execute(
            scope,
            graph_input,
            saved,
            replay=replay,
            interrupt_before=_names(interrupt_before, spec.nodes) if interrupt_before is not None else spec.interrupt_before,
            interrupt_after=_names(interrupt_after, spec.nodes) if interrupt_after is not None else spec.interrupt_after,
        )

    # -- async API ----------------------------------------------------------------------------
    async def arun(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        sink: Sink,
        stream_mode: str | Sequence[str] | None = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        context: Any = None,
    ) -> RunOutcome:
        """Run the graph on the calling task, handing every stream part to ``sink(ns, mode, payload)``
        (on the event loop's thread, subgraphs' parts included), and return how it ended.
        ``stream_mode`` may include ``"events"``: ``astream_events``' events of the nodes and of
        what runs inside them, under the mode ``"events"`` (the graph's own start, updates and end
        are the host's to make: their parent run id is ``config["run_id"]``).

        A streamhil extension for hosts such as servers, which forward parts as they come: no
        producer task and no buffer between the run and the reader, so the run is not paced by a
        reader either. The :class:`~streamhil.executor.loop.RunOutcome` gives the final values,
        the interrupts still waiting, the nodes still to run (``next``) and the latest
        checkpoint's id, which ``aget_state`` would otherwise read back. Cancelling the calling
        task cancels the run (its last checkpoint stays intact). Not for use inside a node.
        Unlike ``astream``, a resumed step does not stream again the start and update of a task
        that finished in an earlier run (LangGraph's ``cached`` update): a host's log has them.
        """
        if _nested_call(current_task(), config):
            raise TypeError("arun() is for hosts running a graph on a thread; inside a node, run a subgraph "
                            "with ainvoke() or astream(), or add it as a node")
        wanted = [stream_mode] if stream_mode is None or isinstance(stream_mode, str) else list(stream_mode)
        events = EVENTS in wanted  # astream_events' events of the nodes and what runs in them (no graph-level ones)
        _, modes = stream_modes([m for m in wanted if m != EVENTS] if events else stream_mode)
        outcome = await self._run(
            input, config, modes=modes | {EVENTS} if events else modes, sink=on_loop_thread(sink), subgraphs=True,
            interrupt_before=interrupt_before, interrupt_after=interrupt_after, durability=durability,
            events_run_id=str((config or {}).get("run_id") or uuid4()) if events else None, context=context,
            repeat_finished=False,
        )
        assert isinstance(outcome, RunOutcome)
        if not outcome.at_head:  # a replay that ran nothing: describe the thread's latest checkpoint
            configurable = {k: v for k, v in (config or {}).get("configurable", {}).items() if k != "checkpoint_id"}
            head = await self.aget_state({**(config or {}), "configurable": configurable})
            outcome.interrupts = list(head.interrupts)
            outcome.next = tuple(head.next)
            outcome.checkpoint_id = (head.config or {}).get("configurable", {}).get("checkpoint_id")
            outcome.at_head = True
        return outcome

    @contextlib.asynccontextmanager
    async def open_stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        context: Any = None,
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """Run the graph in a task group owned by this block; iterate the parts it streams.

        ``async with graph.open_stream(...) as parts: async for part in parts: ...``. Leaving the
        block early cancels the run cleanly (its last checkpoint stays intact). This is the
        structured form of ``astream``.
        """
        single, modes = stream_modes(stream_mode)
        stream = PartStream(single=single, subgraphs=subgraphs)

        async def run(sink: Any, pace: Any) -> None:
            await self._run(
                input, config, modes=modes, sink=sink, subgraphs=subgraphs, pace=pace,
                interrupt_before=interrupt_before, interrupt_after=interrupt_after, durability=durability,
                context=context,
            )

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(stream.produce, run)
                try:
                    yield stream
                finally:
                    if not stream.produced:  # left early: stop the run (a cancel is not free)
                        tg.cancel_scope.cancel()
                    stream.close()
        except BaseExceptionGroup as group:  # the block's own error, not a group of one
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        debug: bool | None = None,
        version: str = "v1",
        **unsupported: Any,
    ) -> AsyncIterator[Any]:
        """Run the graph and yield its stream parts as they happen (LangGraph's shapes).

        ``version="v2"`` yields ``{"type": mode, "ns": ns, "data": payload}`` dicts (values parts
        carry their interrupts under ``"interrupts"``), as LangGraph 1.x.

        Leaving the loop early in any way (``break``, ``return``, an exception, cancellation, or
        dropping the generator) cancels the run; its last checkpoint stays intact. The run is
        cancelled at once with ``contextlib.aclosing(graph.astream(...))``, else when the
        generator is finalised. ``open_stream`` is the structured form.

        ``context`` is the run's context, which nodes read as ``runtime.context`` (see
        ``context_schema``); subgraphs and graphs run inside a node share it.
        """
        refuse_unknown_kwargs("CompiledStateGraph.astream", unsupported)
        if version not in ("v1", "v2"):
            raise ValueError(f"version must be 'v1' or 'v2', got {version!r}.")
        v2 = version == "v2"
        if v2:
            modes_v2 = [stream_mode or "updates"] if stream_mode is None or isinstance(stream_mode, str) else list(stream_mode)
        single, modes = stream_modes(modes_v2 if v2 else stream_mode)
        stream = PartStream(single=single, subgraphs=subgraphs or v2)

        async def run(sink: Any, pace: Any) -> None:
            await self._run(
                input, config, modes=modes, sink=sink, subgraphs=subgraphs or v2, pace=pace,
                interrupt_before=interrupt_before, interrupt_after=interrupt_after, durability=durability,
                context=context,
            )

        # The producer is a task of its own, not a task group of this generator: no cancel scope
        # stays open across a yield, so the caller may leave the loop in any way (see streaming.py).
        producer = DetachedTask(lambda: stream.produce(run)).start()
        try:
            async for item in stream:
                if v2:
                    ns, mode, payload = item
                    if ns and not subgraphs:
                        continue
                    item = _v2_part(ns, mode, payload, None if ns else self._v2_values)
                yield item
        finally:
            producer.cancel()
            await producer.wait()
            stream.close()

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str | Sequence[str] = "values",
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        version: str = "v1",
        debug: bool | None = None,
        **unsupported: Any,
    ) -> Any:
        """Run the graph to its end (or its next interrupt) and return the final state.

        When the run paused on interrupts, the result has an ``__interrupt__`` list
        (``version="v2"``: a ``GraphOutput(value, interrupts)``). Any other ``stream_mode`` (a
        mode or a list of modes) returns the list of parts ``astream`` would yield for it.
        ``context``: the run's context, as for ``astream``.
        """
        refuse_unknown_kwargs("CompiledStateGraph.ainvoke", unsupported)
        if version not in ("v1", "v2"):
            raise ValueError(f"version must be 'v1' or 'v2', got {version!r}.")
        run_args = dict(
            interrupt_before=interrupt_before, interrupt_after=interrupt_after, durability=durability, context=context
        )
        if stream_mode != "values" and version == "v2":
            return [part async for part in self.astream(input, config, stream_mode=stream_mode, version="v2", **run_args)]
        chunks: list[Any] = []
        single, modes = True, frozenset[str]()
        if stream_mode != "values":
            single, modes = stream_modes(stream_mode)

        def sink(ns: tuple[str, ...], mode: str, payload: Any) -> None:
            chunks.append(payload if single else (mode, payload))

        outcome = await self._run(input, config, modes=modes, sink=sink, subgraphs=False, **run_args)
        if stream_mode != "values":
            return chunks
        if isinstance(outcome, dict):  # nested call from a node: the subgraph's output
            return GraphOutput(outcome, ()) if version == "v2" else outcome
        if version == "v2":
            return GraphOutput(self._output_schema.as_output(outcome.values), tuple(outcome.interrupts))
        if outcome.interrupts:  # (an entrypoint's return value, shown here, need not be a dict)
            shown = outcome.values if isinstance(outcome.values, dict) else {}
            return {**shown, INTERRUPT: list(outcome.interrupts)}
        return outcome.values

    async def arecord_command(self, config: Mapping[str, Any], command: Command) -> list[Interrupt]:
        """Validate ``command`` against the thread's pending interrupts and save it, without running.

        A later ``astream(None, config)`` delivers it. Returns the interrupts it answers; raises a
        ``ResumeError`` (and saves nothing) if it answers nothing or is ambiguous. Servers use this
        to acknowledge an answer only once it is durable.
        """
        scope, _ = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise CheckpointError("arecord_command needs a checkpointer.")
        saved = await scope.saver.aget_tuple(scope.address())
        if saved is None:
            raise NothingPendingError(f"Thread {scope.thread_id!r} has no checkpoint, so nothing to resume.")
        view = load_view(self.spec, saved, scope.checkpoint_ns)
        recorded: list[PendingWrite] = []
        answered = await record_command(self.spec, scope, view, command, recorded)
        offer = getattr(scope.saver, "offer_head", None)
        if offer is not None and command.update is None and not any(
            ch == UPDATE for _, writes in view.command_writes for ch, _ in writes
        ):
            # The head as a read would now build it, for the run that takes the answer. Not
            # with updates: applying them may change the values' objects in place (a reducer
            # that mutates), and the run applies them again.
            offer(CheckpointTuple(saved.config, saved.checkpoint, saved.metadata, saved.parent_config,
                                  [*saved.pending_writes, *recorded]))
        return answered

    async def aget_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state: live (latest, finished siblings applied) or the record of a checkpoint_id."""
        scope, checkpoint_id = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("get_state needs a checkpointer: compile(checkpointer=InMemorySaver()).")
        saved = await scope.saver.aget_tuple(scope.address(checkpoint_id))
        if saved is None:  # a thread with nothing saved: its config, with the id as a string
            configurable = {**config.get("configurable", {}), "thread_id": scope.thread_id}
            return StateSnapshot({}, (), {**config, "configurable": configurable}, None, None, None, (), ())
        graph = spec_for_ns(self.spec, scope.checkpoint_ns)
        scope.graph = graph
        return await build_snapshot(graph, scope, saved, live=checkpoint_id is None, subgraphs=subgraphs)

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Every checkpoint of the thread namespace, newest first, as record snapshots; only the
        one ``config`` names if it has a ``checkpoint_id`` (as LangGraph, which passes the config
        on to the saver's ``list``)."""
        scope, checkpoint_id = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("get_state_history needs a checkpointer.")
        graph = spec_for_ns(self.spec, scope.checkpoint_ns)  # a subgraph's config: its own schema
        scope.graph = graph
        history = scope.saver.alist(scope.address(checkpoint_id), filter=filter, before=before, limit=limit)
        async for saved in history:
            yield await build_snapshot(graph, scope, saved, live=False, subgraphs=False)

    async def aupdate_state(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Write ``values`` as if ``as_node`` had returned them; returns the new checkpoint's config."""
        scope, checkpoint_id = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("update_state needs a checkpointer.")
        graph = spec_for_ns(self.spec, scope.checkpoint_ns)
        return await update_state(graph, scope, checkpoint_id, values, as_node)

    def graph_structure(self) -> dict[str, Any]:
        """Nodes and edges, for drawing: ``{"nodes": [...], "edges": [{"source", "target", "conditional"}]}``
        (a conditional edge also has ``"data"``, its path map's key, when that differs from the target)."""
        nodes = [{"id": START, "kind": "start"}]
        nodes += [{"id": n, "kind": "subgraph" if s.subgraph is not None else "node"} for n, s in self.nodes.items()]
        nodes.append({"id": END, "kind": "end"})
        graph = self.spec
        edges = [{"source": s, "target": d, "conditional": False} for s, d in graph.edges]
        for sources, dst in graph.joins:
            edges += [{"source": s, "target": dst, "conditional": False} for s in sources]
        for src, branches in graph.branches.items():
            for branch in branches:
                labels = {target: key for key, target in (branch.path_map or {}).items() if key != target}
                for target in branch_targets(branch) or []:
                    edge = {"source": src, "target": target, "conditional": True}
                    if target in labels:
                        edge["data"] = labels[target]
                    edges.append(edge)
        for name, spec in self.nodes.items():
            for target in spec.destinations:
                edges.append({"source": name, "target": target, "conditional": True})
        return {"nodes": nodes, "edges": edges}

    def get_graph(self, config: Mapping[str, Any] | None = None, *, xray: bool | int = False) -> DrawableGraph:
        """The graph to look at: ``.draw_mermaid()``, ``.draw_ascii()``, ``.draw_mermaid_png()``
        (``xray``, which LangGraph uses to expand subgraphs, is accepted; subgraphs are drawn as
        one node)."""
        return graph_of(self.graph_structure())

    # -- sync API -----------------------------------------------------------------------------
    def invoke(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Sync ``ainvoke``: runs on an event loop of its own (or the host loop, from a sync node)."""
        refuse_unknown_kwargs("CompiledStateGraph.invoke", kwargs, _AINVOKE_ARGS)
        return _sync.call(self.ainvoke, input, config, **kwargs)

    def stream(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        """Sync ``astream``: yields parts as the run makes them."""
        refuse_unknown_kwargs("CompiledStateGraph.stream", kwargs, _ASTREAM_ARGS)
        return _sync.iterate(lambda: self.astream(input, config, **kwargs))

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        return _sync.call(self.aget_state, config, subgraphs=subgraphs)

    def get_state_history(self, config: Mapping[str, Any], **kwargs: Any) -> Iterator[StateSnapshot]:
        async def collect() -> list[StateSnapshot]:
            return [s async for s in self.aget_state_history(config, **kwargs)]

        return iter(_sync.call(collect, name="get_state_history"))

    def update_state(self, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict[str, Any]:
        return _sync.call(self.aupdate_state, config, values, as_node)

    def record_command(self, config: Mapping[str, Any], command: Command) -> list[Interrupt]:
        return _sync.call(self.arecord_command, config, command)


def _keyword_arguments(method: Callable[..., Any]) -> frozenset[str]:
    """The keyword-only parameters ``method`` names (what its sync form may pass on)."""
    return frozenset(p.name for p in inspect.signature(method).parameters.values() if p.kind is p.KEYWORD_ONLY)


_AINVOKE_ARGS = _keyword_arguments(CompiledStateGraph.ainvoke)
_ASTREAM_ARGS = _keyword_arguments(CompiledStateGraph.astream)
