"""What a run streams about its steps, beside their results: the ``updates``, ``tasks``,
``checkpoints`` and ``debug`` parts, shaped as LangGraph's. Mixed into the superstep loop
(:class:`~.loop.Loop`), which provides ``scope``, ``graph`` and ``view``."""

from __future__ import annotations

from typing import Any

from ..constants import END, INTERRUPT, NO_WRITES, START
from ..types import Interrupt
from .discover import child_graph
from .plan import Task, stream_sort_key
from .runner import TaskResult, shown_update
from .scope import PUSH_TRIGGERS, RunScope
from .spec import ENTRY_INPUT, GraphSpec
from .state import with_checkpoint_map
from .view import TaskState, ThreadView, now_iso

__all__ = ["StepParts", "interrupt_payload"]


class StepParts:
    """The stream parts of a run's steps (see the module's docstring)."""

    scope: RunScope
    graph: GraphSpec
    view: ThreadView | None
    parents_frozen: bool
    """Durability ``exit``: LangGraph's checkpoint parts keep showing the parent the run's first
    checkpoint had (``frozen_parent``), as none of the run's checkpoints is saved before it ends."""
    frozen_parent: dict[str, Any] | None

    def _output(self, values: dict[str, Any]) -> Any:
        """What the run returns: the output schema's keys (an entrypoint's return value)."""
        if self.graph.entry is not None:
            return self.graph.shown(values)
        keys = self.graph.output_keys
        return {k: values[k] for k in keys if k in values}

    def _state(self, values: dict[str, Any]) -> Any:
        """What the `values` stream and the debug events show: the whole state, as in LangGraph
        (an output schema narrows only what the run returns); an entrypoint's return value."""
        return self.graph.shown(values)

    def _emit_result(self, result: TaskResult) -> None:
        """A finished task's parts, as LangGraph emits them when the task ends: its ``updates``
        (an interrupted task's: its interrupts, then a ``values`` part of the step's state with
        them), then its ``tasks``/``debug`` result."""
        scope = self.scope
        name = result.task.name
        if name == START:
            return
        if result.status == "done":
            if scope.wants("updates"):
                update = result.update if self.graph.entry is None else self.graph.shown(dict(result.writes))
                scope.emit(scope.ns_tuple, "updates", {name: update})
        elif result.status == "interrupt":
            if not result.interrupts:
                return  # its subgraph stopped at a breakpoint: LangGraph's task wrote nothing to show
            self._emit_interrupted(result.interrupts)
        if scope.wants("tasks") or scope.wants("debug"):
            payload = {
                "id": result.task.id,
                "name": name,
                "error": result.error,  # the exception itself, as LangGraph's (the server sends its repr)
                "result": self._task_result(result),
                "interrupts": [interrupt_payload(i) for i in result.interrupts],
            }
            self._emit_debuggable("tasks", "task_result", payload)

    def _emit_interrupted(self, interrupts: tuple[Interrupt, ...]) -> None:
        """One task's interrupts: an ``updates`` part, then a ``values`` part of the state the
        step started from with them under ``__interrupt__`` (LangGraph's, one pair per task)."""
        scope = self.scope
        if scope.wants("updates"):
            scope.emit(scope.ns_tuple, "updates", {INTERRUPT: interrupts})
        if scope.wants("values"):
            assert self.view is not None
            shown = self._state(self.view.values)  # an entrypoint's return value need not be a dict
            scope.emit(scope.ns_tuple, "values", {**(shown if isinstance(shown, dict) else {}), INTERRUPT: interrupts})

    def _emit_breakpoint(self) -> None:
        """The run stops at a static breakpoint (its own or a subgraph's): the root graph's last
        part is ``{"__interrupt__": ()}``, as LangGraph's (a subgraph's stop shows only there)."""
        scope = self.scope
        if not scope.nested and scope.wants("updates"):
            scope.emit(scope.ns_tuple, "updates", {INTERRUPT: ()})

    def _task_result(self, result: TaskResult) -> dict[str, Any]:
        """A finished task's writes, as a ``tasks`` part shows them (an entrypoint: its return value)."""
        if result.status != "done":
            return {}
        if self.graph.entry is not None:
            return {END: self.graph.shown(dict(result.writes))}
        return dict(result.writes)

    def _emit_step_start(self, view: ThreadView, runnable: list[TaskState]) -> None:
        """What LangGraph streams before a step's tasks run: every task's start (those that
        finished before this run too: a resumed step), then the ``updates`` of those that
        finished, marked ``cached`` (unless ``scope.repeat_finished`` is off). A parked task,
        which does not run, has no start."""
        scope = self.scope
        everything = len(runnable) == len(view.tasks) or not scope.repeat_finished
        if scope.wants("tasks") or scope.wants("debug"):
            if everything:
                for t in runnable:  # (in stream order)
                    self._emit_task_start(t.task, view)
            else:
                running = {t.task.id for t in runnable}
                for t in in_stream_order(view.tasks):
                    if t.finished or t.task.id in running:
                        self._emit_task_start(t.task, view)
        if scope.wants("updates") and not everything:
            for t in in_stream_order(view.tasks):
                if t.finished and t.task.name != START:
                    self._emit_cached_update(t)

    def _emit_cached_update(self, t: TaskState) -> None:
        """The ``updates`` part of a task that finished before this run (LangGraph's ``cached``)."""
        writes = [(k, v) for k, v in t.writes if k in self.graph.channels]
        if not writes and all(k == NO_WRITES for k, _ in t.writes):
            return  # nothing written at all: LangGraph has no writes to show
        update = shown_update(writes) if self.graph.entry is None else self.graph.shown(dict(writes))
        self.scope.emit(self.scope.ns_tuple, "updates", {t.task.name: update, "__metadata__": {"cached": True}})

    def _emit_task_start(self, task: Task, view: ThreadView) -> None:
        if task.name == START:
            return
        if task.kind == "push":
            arg = task.arg
        else:
            arg = view.values.get(ENTRY_INPUT) if self.graph.entry is not None else self._state(view.values)
        triggers = self.graph.reported_triggers(task.name, tuple(task.triggers)) if task.kind == "pull" else ()
        payload = {"id": task.id, "name": task.name, "input": arg, "triggers": triggers or PUSH_TRIGGERS}
        self._emit_debuggable("tasks", "task", payload)

    def _wants_checkpoints(self) -> bool:
        """Whether checkpoint parts are streamed: asked for, and saved (LangGraph streams none
        without a checkpointer)."""
        scope = self.scope
        return scope.saver is not None and (scope.wants("checkpoints") or scope.wants("debug"))

    def _emit_checkpoint(self, config: dict[str, Any], metadata: dict[str, Any], view: ThreadView | None, parent_config: dict[str, Any] | None) -> None:
        assert view is not None
        if self.parents_frozen:
            parent_config = self.frozen_parent
        parents = metadata.get("parents") or {}
        tasks = in_stream_order(view.tasks)
        payload = {
            "config": with_checkpoint_map(config, parents),
            "parent_config": with_checkpoint_map(parent_config, parents),
            "values": self._state(view.values),
            "metadata": metadata,
            "next": [t.task.name for t in tasks],
            "tasks": [self._checkpoint_task(t) for t in tasks],
        }
        self._emit_debuggable("checkpoints", "checkpoint", payload, step=int(metadata.get("step", -1)))

    def _checkpoint_task(self, t: TaskState) -> dict[str, Any]:
        """A task in a ``checkpoints`` part, as LangGraph's: a failed one with its error, a
        finished one with its result (its state writes, when it wrote any)."""
        state = self._subgraph_config(t.task)
        if t.error is not None:
            return {"id": t.task.id, "name": t.task.name, "error": t.error, "state": state}
        interrupts = tuple(interrupt_payload(i) for i in t.interrupts)
        if t.finished:
            result = task_result_writes([(k, v) for k, v in t.writes if k in self.graph.channels])
            if result:
                return {"id": t.task.id, "name": t.task.name, "result": result, "interrupts": interrupts, "state": state}
        return {"id": t.task.id, "name": t.task.name, "interrupts": interrupts, "state": state}

    def _subgraph_config(self, task: Task) -> dict[str, Any] | None:
        """The config of the checkpoints of the subgraph ``task`` runs, if its node has one."""
        if child_graph(self.graph.nodes.get(task.name)) is None:
            return None
        return {"configurable": {"thread_id": self.scope.thread_id, "checkpoint_ns": task.ns}}

    def _emit_debuggable(self, mode: str, debug_type: str, payload: Any, step: int | None = None) -> None:
        scope = self.scope
        if scope.wants(mode):
            scope.emit(scope.ns_tuple, mode, payload)
        if scope.wants("debug"):
            assert self.view is not None
            scope.emit(
                scope.ns_tuple,
                "debug",
                {"step": self.view.step if step is None else step, "timestamp": now_iso(), "type": debug_type, "payload": payload},
            )


def in_stream_order(tasks: list[TaskState]) -> list[TaskState]:
    """A step's tasks in the order LangGraph streams them (:func:`~.plan.stream_sort_key`)."""
    return tasks if len(tasks) < 2 else sorted(tasks, key=lambda t: stream_sort_key(t.task))


def interrupt_payload(interrupt: Interrupt) -> dict[str, Any]:
    """An interrupt in a ``tasks``/``debug``/``checkpoints`` part, shaped as LangGraph's."""
    return {"value": interrupt.value, "id": interrupt.id, "response_schema": interrupt.response_schema}


def task_result_writes(writes: list[tuple[str, Any]]) -> dict[str, Any]:
    """A finished task's writes as a ``checkpoints`` part shows them (LangGraph's
    ``map_task_result_writes``): ``{key: value}``, or ``{key: {"$writes": [...]}}`` for a key
    written more than once."""
    result: dict[str, Any] = {}
    for key, value in writes:
        if key in result:
            existing = result[key]
            several = existing["$writes"] if isinstance(existing, dict) and "$writes" in existing else [existing]
            result[key] = {"$writes": [*several, value]}
        else:
            result[key] = value
    return result
