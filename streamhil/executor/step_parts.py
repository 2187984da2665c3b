"""What a run streams about its steps, beside their results: the ``updates``, ``tasks``,
``checkpoints`` and ``debug`` parts, shaped as LangGraph's. Mixed into the superstep loop
(:class:`~.loop.Loop`), which provides ``scope``, ``graph`` and ``view``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..constants import END, INTERRUPT, START
from ..types import Interrupt
from .discover import child_graph
from .plan import Task
from .scope import RunScope
from .spec import ENTRY_INPUT, GraphSpec
from .state import with_checkpoint_map
from .view import ThreadView, now_iso

if TYPE_CHECKING:
    from .runner import TaskResult

__all__ = ["StepParts", "interrupt_payload"]


class StepParts:
    """The stream parts of a run's steps (see the module's docstring)."""

    scope: RunScope
    graph: GraphSpec
    view: ThreadView | None

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
        scope = self.scope
        name = result.task.name
        if name != START and scope.wants("updates"):
            if result.status == "done":
                update = result.update if self.graph.entry is None else self.graph.shown(dict(result.writes))
                scope.emit(scope.ns_tuple, "updates", {name: update})
            elif result.status == "interrupt":
                scope.emit(scope.ns_tuple, "updates", {INTERRUPT: result.interrupts})
        if name != START and (scope.wants("tasks") or scope.wants("debug")):
            payload = {
                "id": result.task.id,
                "name": name,
                "error": repr(result.error) if result.error is not None else None,
                "result": self._task_result(result),
                "interrupts": [interrupt_payload(i) for i in result.interrupts],
            }
            self._emit_debuggable("tasks", "task_result", payload)

    def _task_result(self, result: TaskResult) -> dict[str, Any]:
        """A finished task's writes, as a ``tasks`` part shows them (an entrypoint: its return value)."""
        if result.status != "done":
            return {}
        if self.graph.entry is not None:
            return {END: self.graph.shown(dict(result.writes))}
        return dict(result.writes)

    def _emit_task_start(self, task: Task, view: ThreadView) -> None:
        if task.name == START:
            return
        if task.kind == "push":
            arg = task.arg
        else:
            arg = view.values.get(ENTRY_INPUT) if self.graph.entry is not None else self._state(view.values)
        payload = {"id": task.id, "name": task.name, "input": arg, "triggers": tuple(task.triggers)}
        self._emit_debuggable("tasks", "task", payload)

    def _emit_checkpoint(self, config: dict[str, Any], metadata: dict[str, Any], view: ThreadView | None, parent_config: dict[str, Any] | None) -> None:
        assert view is not None
        parents = metadata.get("parents") or {}
        payload = {
            "config": with_checkpoint_map(config, parents),
            "parent_config": with_checkpoint_map(parent_config, parents),
            "values": self._state(view.values),
            "metadata": metadata,
            "next": [t.task.name for t in view.tasks],
            "tasks": [
                {
                    "id": t.task.id,
                    "name": t.task.name,
                    "interrupts": tuple(interrupt_payload(i) for i in t.interrupts),
                    "state": self._subgraph_config(t.task),
                }
                for t in view.tasks
            ],
        }
        self._emit_debuggable("checkpoints", "checkpoint", payload, step=int(metadata.get("step", -1)))

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


def interrupt_payload(interrupt: Interrupt) -> dict[str, Any]:
    """An interrupt in a ``tasks``/``debug``/``checkpoints`` part, shaped as LangGraph's."""
    return {"value": interrupt.value, "id": interrupt.id, "response_schema": interrupt.response_schema}
