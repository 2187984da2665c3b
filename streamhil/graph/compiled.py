"""CompiledStateGraph: runs a built graph. ``astream``/``ainvoke`` are the real API; the sync
methods are thin wrappers that run them on an event loop of their own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ..checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from ..constants import END, INTERRUPT, START
from ..errors import ConfigError
from ..executor.context import TaskContext, current_task
from ..executor.commands import record_command
from ..executor.loop import RunOutcome, execute
from ..executor.view import load_view
from ..executor.scope import PRIVATE_LOOP, RunScope
from ..types import Command, GraphOutput, Interrupt, StateSnapshot
from .._backend import DetachedTask
from . import _sync
from .drawing import DrawableGraph, graph_of
from .streaming import PartStream, stream_modes
from .state_api import build_snapshot, update_state

if TYPE_CHECKING:
    from .state_graph import StateGraph

__all__ = ["CompiledStateGraph"]

def _names(value: Any, graph: CompiledStateGraph) -> frozenset[str]:
    if value is None:
        return frozenset()
    if value == "*":
        return frozenset(graph.nodes)
    return frozenset(value)


class CompiledStateGraph:
    """A graph ready to run: ``invoke``/``stream`` it, read and edit its threads' state."""

    def __init__(
        self,
        builder: StateGraph,
        *,
        checkpointer: Any = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        name: str = "LangGraph",
    ) -> None:
        if checkpointer not in (None, True, False) and not isinstance(checkpointer, BaseCheckpointSaver):
            raise TypeError(
                f"Invalid checkpointer {checkpointer!r}: expected a BaseCheckpointSaver "
                "(InMemorySaver, SqliteSaver), True, False or None."
            )
        self.builder = builder
        self.name = name
        self.checkpointer = checkpointer
        self.schema = builder.schema
        self.channels = builder.schema.channels
        self.nodes = builder.nodes
        self.node_order = {name: n for n, name in enumerate(builder.nodes)}
        self.input_keys = tuple(k for k in builder.input_schema.channels if k in self.channels) or builder.input_schema.keys
        self.output_keys = tuple(k for k in builder.output_schema.channels if k in self.channels)
        self.interrupt_before = _names(interrupt_before, self)
        self.interrupt_after = _names(interrupt_after, self)
        static: dict[str, list[str]] = {}
        for src, dst in builder.edges:
            if dst != END:
                static.setdefault(src, []).append(dst)
        self.static_targets = static

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.nodes)}>"

    @property
    def saver(self) -> BaseCheckpointSaver | None:
        return self.checkpointer if isinstance(self.checkpointer, BaseCheckpointSaver) else None

    # -- configuration ------------------------------------------------------------------------
    def _scope(self, config: Mapping[str, Any] | None, *, need_thread: bool) -> tuple[RunScope, str | None]:
        config = dict(config or {})
        configurable = dict(config.get("configurable") or {})
        limit = config.get("recursion_limit", 25)
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
            graph=self,
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
            from ..errors import CheckpointError

            raise CheckpointError(f"Thread {scope.thread_id!r} has no checkpoint {checkpoint_id!r}.")
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
    ) -> RunOutcome:
        parent = current_task()
        if parent is not None and not (config or {}).get("configurable", {}).get("thread_id"):
            # Called from inside a node: a nested run on the parent's thread.
            own = (modes, sink, subgraphs, pace) if modes else None  # sub.stream(...) in a node: its own stream
            return await self._arun_nested(graph_input, parent, node_call=False, own_stream=own)
        scope, checkpoint_id = self._scope(config, need_thread=True)
        scope.modes = modes
        scope.sink = sink
        scope.pace = pace
        scope.subgraphs = subgraphs
        scope.durability = durability or "async"
        scope.inline_sync = PRIVATE_LOOP.get()
        saved, replay = await self._load(scope, checkpoint_id)
        return await execute(
            scope,
            graph_input,
            saved,
            replay=replay,
            interrupt_before=_names(interrupt_before, self) if interrupt_before is not None else self.interrupt_before,
            interrupt_after=_names(interrupt_after, self) if interrupt_after is not None else self.interrupt_after,
        )

    async def _arun_nested(
        self, graph_input: Any, parent: TaskContext, *, node_call: bool, own_stream: tuple[Any, Any, bool, Any] | None = None
    ) -> Any:
        """Run as a subgraph of the task ``parent``: same thread, namespace under the task."""
        from ..errors import GraphInterrupt

        outer = parent.run
        if self.checkpointer is True:
            ns = parent.node if not outer.checkpoint_ns else f"{outer.checkpoint_ns}|{parent.node}"
        else:
            ns = parent.ns
        if not node_call:
            parent.subgraph_calls += 1
            if parent.subgraph_calls > 1:
                ns = f"{ns}|{parent.subgraph_calls - 1}"
        if self.checkpointer is False:
            saver = None
        elif isinstance(self.checkpointer, BaseCheckpointSaver):
            saver = self.checkpointer
        else:
            saver = outer.saver
        prefix = f"{outer.checkpoint_ns}|" if outer.checkpoint_ns else ""
        segment = ns[len(prefix):] if prefix and ns.startswith(prefix) else ns
        scope = RunScope(
            graph=self,
            saver=saver,
            thread_id=outer.thread_id,
            checkpoint_ns=ns,
            ns_tuple=outer.ns_tuple + (segment,),
            modes=outer.modes,
            subgraphs=outer.subgraphs,
            sink=outer.sink,
            resume_map=outer.resume_map,
            dropped_answers=outer.dropped_answers,
            config=outer.config,
            recursion_limit=outer.recursion_limit,
            durability=outer.durability,
            limiter=outer.limiter,
            parents={**outer.parents, outer.checkpoint_ns: outer.checkpoint_id},
            nested=True,
            inline_sync=outer.inline_sync,
        )
        if own_stream is not None:
            scope.modes, scope.sink, scope.subgraphs, scope.pace = own_stream
            scope.ns_tuple = ()
        saved = await saver.aget_tuple(scope.address()) if saver is not None else None
        if isinstance(graph_input, dict):  # the parent's state, restricted to this graph's input keys
            graph_input = {k: v for k, v in graph_input.items() if k in self.input_keys}
        if saved is not None:
            pending = bool(saved.checkpoint.channel_values.get("__tasks__"))
            if pending or self.checkpointer is not True:
                graph_input = None  # resume it, or replay its finished output
            # checkpointer=True: a finished subgraph thread takes the new input, keeping its state
        outcome = await execute(
            scope, graph_input, saved, replay=False,
            interrupt_before=self.interrupt_before, interrupt_after=self.interrupt_after,
        )
        if outcome.interrupts or outcome.breakpoint:
            # Its interrupts (or its static breakpoint, with no payload) pause the calling task.
            raise GraphInterrupt(tuple(outcome.interrupts))
        return outcome.values

    # -- async API ----------------------------------------------------------------------------
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
            )

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(stream.produce, run)
                try:
                    yield stream
                finally:
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
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        debug: bool | None = None,
        version: str = "v1",
    ) -> AsyncIterator[Any]:
        """Run the graph and yield its stream parts as they happen (LangGraph's shapes).

        ``version="v2"`` yields ``{"type": mode, "ns": ns, "data": payload}`` dicts (values parts
        carry their interrupts under ``"interrupts"``), as LangGraph 1.x.

        Leaving the loop early in any way (``break``, ``return``, an exception, cancellation, or
        dropping the generator) cancels the run; its last checkpoint stays intact. The run is
        cancelled at once with ``contextlib.aclosing(graph.astream(...))``, else when the
        generator is finalised. ``open_stream`` is the structured form.
        """
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
                    item = {"type": mode, "ns": ns, "data": payload}
                    if mode == "values" and isinstance(payload, dict):
                        data = dict(payload)
                        item["interrupts"] = tuple(data.pop(INTERRUPT, ()))
                        item["data"] = data
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
        stream_mode: str = "values",
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        version: str = "v1",
        debug: bool | None = None,
    ) -> Any:
        """Run the graph to its end (or its next interrupt) and return the final state.

        When the run paused on interrupts, the result has an ``__interrupt__`` list
        (``version="v2"``: a ``GraphOutput(value, interrupts)``).
        """
        if version not in ("v1", "v2"):
            raise ValueError(f"version must be 'v1' or 'v2', got {version!r}.")
        chunks: list[Any] = []
        modes = frozenset() if stream_mode == "values" else frozenset([stream_mode])

        def sink(ns: tuple[str, ...], mode: str, payload: Any) -> None:
            chunks.append(payload)

        outcome = await self._run(
            input, config, modes=modes, sink=sink, subgraphs=False,
            interrupt_before=interrupt_before, interrupt_after=interrupt_after, durability=durability,
        )
        if current_task() is not None and isinstance(outcome, dict):
            return outcome  # nested call from a node: the subgraph's output
        if stream_mode != "values":
            return chunks
        assert isinstance(outcome, RunOutcome)
        if version == "v2":
            return GraphOutput(outcome.values, tuple(outcome.interrupts))
        if outcome.interrupts:
            return {**outcome.values, INTERRUPT: list(outcome.interrupts)}
        return outcome.values

    async def arecord_command(self, config: Mapping[str, Any], command: Command) -> list[Interrupt]:
        """Validate ``command`` against the thread's pending interrupts and save it, without running.

        A later ``astream(None, config)`` delivers it. Returns the interrupts it answers; raises a
        ``ResumeError`` (and saves nothing) if it answers nothing or is ambiguous. Servers use this
        to acknowledge an answer only once it is durable.
        """
        scope, _ = self._scope(config, need_thread=True)
        if scope.saver is None:
            from ..errors import CheckpointError

            raise CheckpointError("arecord_command needs a checkpointer.")
        saved = await scope.saver.aget_tuple(scope.address())
        if saved is None:
            from ..errors import NothingPendingError

            raise NothingPendingError(f"Thread {scope.thread_id!r} has no checkpoint, so nothing to resume.")
        view = load_view(self, saved, scope.checkpoint_ns)
        return await record_command(self, scope, view, command)

    async def aget_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state: live (latest, finished siblings applied) or the record of a checkpoint_id."""
        scope, checkpoint_id = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("get_state needs a checkpointer: compile(checkpointer=InMemorySaver()).")
        saved = await scope.saver.aget_tuple(scope.address(checkpoint_id))
        if saved is None:  # a thread with nothing saved: its config, with the id as a string
            configurable = {**config.get("configurable", {}), "thread_id": scope.thread_id}
            return StateSnapshot({}, (), {**config, "configurable": configurable}, None, None, None, (), ())
        graph = self._graph_for_ns(scope.checkpoint_ns)
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
        """Every checkpoint of the thread, newest first, as record snapshots."""
        scope, _ = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("get_state_history needs a checkpointer.")
        async for saved in scope.saver.alist(scope.address(), filter=filter, before=before, limit=limit):
            yield await build_snapshot(self, scope, saved, live=False, subgraphs=False)

    async def aupdate_state(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Write ``values`` as if ``as_node`` had returned them; returns the new checkpoint's config."""
        scope, checkpoint_id = self._scope(config, need_thread=True)
        if scope.saver is None:
            raise ConfigError("update_state needs a checkpointer.")
        graph = self._graph_for_ns(scope.checkpoint_ns)
        return await update_state(graph, scope, checkpoint_id, values, as_node)

    def _graph_for_ns(self, checkpoint_ns: str) -> CompiledStateGraph:
        """The (sub)graph whose checkpoints live in ``checkpoint_ns`` ("child:<task>|inner:<task>")."""
        graph: CompiledStateGraph = self
        for segment in checkpoint_ns.split("|") if checkpoint_ns else ():
            spec = graph.nodes.get(segment.split(":", 1)[0])
            if spec is None or spec.subgraph is None:
                break
            graph = spec.subgraph
        return graph

    def graph_structure(self) -> dict[str, Any]:
        """Nodes and edges, for drawing: ``{"nodes": [...], "edges": [{"source", "target", "conditional"}]}``."""
        nodes = [{"id": START, "kind": "start"}]
        nodes += [{"id": n, "kind": "subgraph" if s.subgraph is not None else "node"} for n, s in self.nodes.items()]
        nodes.append({"id": END, "kind": "end"})
        edges = [{"source": s, "target": d, "conditional": False} for s, d in self.builder.edges]
        for sources, dst in self.builder.joins:
            edges += [{"source": s, "target": dst, "conditional": False} for s in sources]
        for src, branches in self.builder.branches.items():
            for branch in branches:
                for target in branch.targets() or []:
                    edges.append({"source": src, "target": target, "conditional": True})
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
        return _sync.call(self.ainvoke, input, config, **kwargs)

    def stream(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        """Sync ``astream``: yields parts as the run makes them."""
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
