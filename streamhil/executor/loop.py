"""The superstep loop: load the checkpoint, run steps until nothing is left, a human is needed,
a breakpoint is hit, or a node fails; save a checkpoint after every step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..checkpoint.base import Checkpoint, CheckpointTuple, PendingWrite, new_checkpoint_id
from ..constants import ERROR, INTERRUPT, JOINS, LAST_NODES, NO_WRITES, RESUME, START, TASKS
from ..errors import (
    EmptyInputError,
    GraphRecursionError,
    InvalidUpdateError,
    ResumeError,
)
from ..types import Command, Interrupt, Send
from .apply import apply_all_or_none, apply_writes
from .persist import CheckpointWriter
from .plan import Task, path_sort_key, plan_next, start_spec, stream_sort_key, unpin
from .runner import TaskResult, check_start_command, run_start, run_task
from .scope import RunScope
from .step_parts import StepParts
from .spec import ENTRY_INPUT
from .state_objects import is_state_object, object_updates
from .commands import record_command
from .view import RESUME_MAP, ROUTES, UPDATE, TaskState, ThreadView, fresh_view, load_view, now_iso, state_values

__all__ = ["RunOutcome", "execute"]


@dataclass(slots=True)
class RunOutcome:
    """How a run ended."""

    values: Any
    """The output schema's keys (a dict); for an entrypoint graph, its return value."""
    interrupts: list[Interrupt] = field(default_factory=list)
    """Every interrupt still waiting for an answer on the thread's latest checkpoint."""
    breakpoint: bool = False
    next: tuple[str, ...] = ()
    """The nodes still to run on the latest checkpoint (``StateSnapshot.next``)."""
    checkpoint_id: str | None = None
    """The thread's latest checkpoint when the run ended (set by :func:`execute`)."""
    at_head: bool = True
    """Whether ``interrupts``, ``next`` and ``checkpoint_id`` describe the thread's latest
    checkpoint. False for a replay that found nothing to run: it forked nothing, so they are
    the latest checkpoint's, which this run did not load (the caller reads them)."""


class Loop(StepParts):
    """Runs one graph on one thread namespace until it stops."""

    def __init__(
        self,
        scope: RunScope,
        writer: CheckpointWriter,
        interrupt_before: frozenset[str],
        interrupt_after: frozenset[str],
    ) -> None:
        self.scope = scope
        self.graph = scope.graph
        self.writer = writer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.view: ThreadView | None = None
        self.saved_task_ids: set[str] = set()  # tasks whose writes on the current checkpoint are saved
        self.start_input: Any = None
        self.parents_frozen = writer.durability == "exit"
        self.frozen_parent: dict[str, Any] | None = None
        scope.writer = writer

    # -- entry --------------------------------------------------------------------------------
    async def run(self, graph_input: Any, saved: CheckpointTuple | None, replay: bool) -> RunOutcome:
        scope = self.scope
        resuming = False
        if saved is not None:
            self.frozen_parent = saved.parent_config
        if isinstance(graph_input, Command):
            if graph_input.graph == Command.PARENT:
                raise InvalidUpdateError("Command(graph=Command.PARENT) was given as graph input, but there is no parent graph.")
            if graph_input.resume is None and graph_input.update is None and not graph_input.goto:
                raise EmptyInputError(
                    "Received an empty Command: give resume=..., update=... or goto=... "
                    "(None cannot be a resume value)."
                )
            if scope.saver is None and graph_input.resume is not None:
                from ..errors import NoCheckpointerError

                raise NoCheckpointerError(
                    "Cannot use Command(resume=...) without a checkpointer: compile the graph with "
                    "checkpointer=InMemorySaver() (or a SqliteSaver) and pass a thread_id."
                )
            if saved is None:
                if graph_input.resume is not None:
                    from ..errors import NothingPendingError

                    raise NothingPendingError(
                        f"Thread {scope.thread_id!r} has no checkpoint, so there is no interrupt to resume; "
                        "start it with an input dict first."
                    )
                if not graph_input.goto:
                    graph_input = graph_input.update  # an update on a new thread is its input (applied once)
                else:  # the __start__ task applies it: its update, START's edges and its goto
                    check_start_command(self.graph, graph_input)
            else:
                if replay:
                    raise ResumeError(
                        "A Command goes to the thread's latest checkpoint; leave checkpoint_id out of the config."
                    )
                recorded: list[PendingWrite] = []
                await record_command(self.graph, scope, self._set_view(saved), graph_input, recorded)
                # What was just saved, added here instead of read back: one round trip less.
                saved = CheckpointTuple(
                    saved.config, saved.checkpoint, saved.metadata, saved.parent_config,
                    [*saved.pending_writes, *recorded],
                )
                resuming = True
        elif graph_input is None:
            if saved is None:
                raise EmptyInputError(
                    f"Received no input for {START}: thread {scope.thread_id!r} has no checkpoint to continue from. "
                    "Pass an input dict to start it."
                )
            resuming = True
        if saved is not None and replay and resuming:
            saved = await self._fork_for_replay(saved)
            if saved is None:
                assert self.view is not None
                return RunOutcome(self._output(self.view.values), at_head=False)
        if resuming:
            assert saved is not None
            view = self._set_view(saved)
            scope.resume_map.update(view.resume_map)
            if scope.wants("values"):
                # The checkpoint's values, as LangGraph's: its finished tasks' writes come with the step.
                scope.emit(scope.ns_tuple, "values", self._state(view.values))
            if self._wants_checkpoints():
                self._emit_checkpoint(view.saved.config, view.saved.metadata, view, view.saved.parent_config)
        else:
            await self._write_input(saved, graph_input)
        return await self._loop(skip_breakpoint=resuming)

    def _new_id(self, step: int) -> str:
        """A new checkpoint id; without a saver (a stateless subgraph), one derived from the
        namespace and step, so a re-run plans the same task and interrupt ids."""
        if self.scope.saver is None and self.scope.nested:
            from .._ids import task_id as stable_id

            return stable_id("stateless", self.scope.checkpoint_ns, step, "", "", "")
        return new_checkpoint_id(step)

    def _set_view(self, saved: CheckpointTuple) -> ThreadView:
        self.view = load_view(self.graph, saved, self.scope.checkpoint_ns)
        self.scope.checkpoint_id = saved.checkpoint.id
        self.scope.calls = dict(self.view.calls)  # (the run adds to it; the view stays as loaded)
        self.saved_task_ids = {t.task.id for t in self.view.tasks if t.finished}
        return self.view

    async def _fork_for_replay(self, saved: CheckpointTuple) -> CheckpointTuple | None:
        """Replay from an old checkpoint: copy it as a new branch (new task ids: interrupts re-fire)."""
        specs = saved.checkpoint.channel_values.get(TASKS) or []
        if not specs:
            self._set_view(saved)
            return None
        metadata = self.scope.checkpoint_metadata("fork", int(saved.metadata.get("step", -1)) + 1)
        channel_values = dict(saved.checkpoint.channel_values)
        versions = dict(saved.checkpoint.channel_versions)
        new_versions: dict[str, int] = {}
        if any(len(spec) > 3 for spec in specs):  # tasks update_state carried over: fresh ids here
            channel_values[TASKS] = [unpin(spec) for spec in specs]
            versions[TASKS] = new_versions[TASKS] = max(versions.values(), default=0) + 1
        checkpoint = Checkpoint(new_checkpoint_id(metadata["step"]), now_iso(), channel_values, versions)
        await self.writer.put(saved.config, checkpoint, metadata, new_versions)
        self.writer.raise_if_failed()
        return CheckpointTuple(self.scope.address(checkpoint.id), checkpoint, metadata, saved.config, [])

    async def _write_input(self, saved: CheckpointTuple | None, graph_input: Any) -> None:
        """Save an ``input`` checkpoint whose one task is ``__start__`` (unfinished tasks are dropped)."""
        if saved is None:
            channel_values = self.graph.schema.initial_values()
            versions = {k: 1 for k in channel_values}
            step = -1
            parent_config = None
        else:
            channel_values = state_values(saved.checkpoint.channel_values, self.graph)
            versions = dict(saved.checkpoint.channel_versions)
            step = int(saved.metadata.get("step", -1)) + 1
            parent_config = saved.config
        top = max(versions.values(), default=0) + 1
        if self.graph.entry is not None:
            # The functional API: the input, whatever it is, goes straight to the entrypoint.
            channel_values[TASKS] = [["pull", self.graph.entry, [START]]]
            channel_values[ENTRY_INPUT] = graph_input
            written = (TASKS, ENTRY_INPUT)
        else:
            channel_values[TASKS] = [start_spec()]
            # A dataclass or pydantic input is stored as the updates it stands for (plain data).
            if is_state_object(graph_input) and not isinstance(graph_input, Command):  # (a Command is a dataclass)
                graph_input = object_updates(graph_input)
            channel_values[START] = graph_input
            written = (TASKS, START)
        for key in written:
            versions[key] = top
        new_versions = {**{k: top for k in written}, **{k: v for k, v in versions.items() if saved is None}}
        metadata = self.scope.checkpoint_metadata("input", step)
        checkpoint = Checkpoint(self._new_id(step), now_iso(), channel_values, versions)
        config = self.scope.address(checkpoint.id)
        await self.writer.put(parent_config or self.scope.address(), checkpoint, metadata, new_versions)
        new = CheckpointTuple(config, checkpoint, metadata, parent_config, [])
        self._set_view(new)
        if self._wants_checkpoints():
            self._emit_checkpoint(config, metadata, self.view, parent_config)

    # -- the loop -----------------------------------------------------------------------------
    async def _loop(self, skip_breakpoint: bool) -> RunOutcome:
        scope = self.scope
        steps = 0
        while True:
            if scope.pace is not None:
                await scope.pace()  # like LangGraph's stream: the next step waits for the reader
            view = self.view
            assert view is not None
            self.writer.raise_if_failed()
            tasks = view.tasks
            if not tasks:
                if any(ch == UPDATE for _, ws in view.command_writes for ch, _ in ws):
                    await self._barrier([], {})  # a Command(update=...) on a finished thread
                    continue
                return RunOutcome(self._output(view.values))
            if steps >= scope.recursion_limit:
                raise GraphRecursionError(
                    f"Recursion limit of {scope.recursion_limit} reached without hitting a stop condition. "
                    "You can increase the limit by setting the `recursion_limit` config key."
                )
            if not skip_breakpoint and self.interrupt_before and any(
                t.task.name in self.interrupt_before for t in tasks if not t.finished
            ):
                return self._stop_at_breakpoint()
            skip_breakpoint = False
            scope.remaining_steps = scope.recursion_limit - steps
            steps += 1
            outcome = await self._run_step()
            if outcome is not None:
                return outcome
            if self.interrupt_after and any(t.task.name in self.interrupt_after for t in tasks):
                return self._stop_at_breakpoint()

    def _stop_at_breakpoint(self) -> RunOutcome:
        assert self.view is not None
        self._emit_breakpoint()
        values = self.view.live_values(self.graph)
        waiting = tuple(t.task.name for t in self.view.tasks if not t.finished)
        return RunOutcome(self._output(values), [], breakpoint=True, next=waiting)

    async def _run_step(self) -> RunOutcome | None:
        """Run the step's runnable tasks at once; apply the barrier or stop for interrupts/errors."""
        scope = self.scope
        view = self.view
        assert view is not None
        results: dict[str, TaskResult] = {}
        runnable: list[TaskState] = []
        for t in view.tasks:
            if t.finished:
                continue
            if t.interrupts and not t.edited and not any(i.id in scope.resume_map for i in t.interrupts):
                continue  # parked: waits for its own answer
            runnable.append(t)
        if len(runnable) > 1:
            runnable.sort(key=lambda t: stream_sort_key(t.task))  # started (and streamed) as LangGraph's
        # Save each finished task at once when a crash could otherwise re-run it (several tasks,
        # or a step that will not complete). A saver with nothing durable skips that: what the
        # step must keep is saved when it stops (interrupts, errors) or at its barrier.
        persist_each = not getattr(scope.saver, "saves_instantly", False) and (
            len(runnable) > 1 or len(runnable) < sum(1 for t in view.tasks if not t.finished)
        )
        failed: list[TaskResult] = []
        cancel_scope: anyio.CancelScope | None = None
        inline = scope.inline_sync and len(runnable) == 1

        async def run_one(t: TaskState) -> None:
            if scope.limiter is not None:  # config["max_concurrency"]: at most that many tasks at once
                async with scope.limiter:
                    await run_limited(t)
            else:
                await run_limited(t)

        async def run_limited(t: TaskState) -> None:
            if t.task.name == START:
                result = await run_start(scope, t.task, view.values, view.saved.checkpoint.channel_values.get(START))
            else:
                spec = self.graph.nodes[t.task.name]
                result = await run_task(scope, spec, t.task, view.values, t.answers, view.step, inline)
                if result.status == "done" and t.interrupts:
                    result.answered = tuple(t.interrupts)  # kept for history snapshots
            results[t.task.id] = result
            self._emit_result(result)
            if result.status == "error":
                failed.append(result)
                if cancel_scope is not None:
                    cancel_scope.cancel()
                return
            if persist_each:
                await self._persist_task(result)
            elif result.status == "interrupt":  # the step's only task: the run stops after it
                await self._persist_last(result)

        self._emit_step_start(view, runnable)
        try:
            if len(runnable) == 1:
                await run_one(runnable[0])  # no sibling to cancel
            elif runnable:
                cancel_scope = anyio.CancelScope()
                with cancel_scope:
                    async with anyio.create_task_group() as tg:
                        for t in runnable:
                            tg.start_soon(run_one, t)
        except anyio.get_cancelled_exc_class():
            await self._keep_finished(results)  # the run was cancelled (a caller left the stream)
            raise
        if failed:
            await self._fail(failed, results)
        pending: list[Interrupt] = []
        for t in view.tasks:
            result = results.get(t.task.id)
            if result is not None:
                if result.status == "interrupt":
                    pending.extend(result.interrupts)
            elif not t.finished:
                pending.extend(i for i in t.interrupts if i.id not in scope.resume_map)
        if pending:
            return await self._stop_for_interrupts(results, pending)
        if any(r.status == "interrupt" for r in results.values()):
            # A subgraph stopped at a static breakpoint: stop here too, with nothing to answer.
            outcome = await self._stop_for_interrupts(results, [])
            outcome.breakpoint = True
            self._emit_breakpoint()
            return outcome
        await self._barrier(view.tasks, results)
        return None

    async def _keep_finished(self, results: dict[str, TaskResult]) -> None:
        """A step cancelled midway: save the writes of its tasks that finished and are not saved
        yet (a saver with nothing durable skips saving them one by one), so that they do not run
        again when the thread goes on: a caller may have seen their updates already."""
        if self.scope.saver is None:
            return
        for result in list(results.values()):
            if result.status == "done" and result.task.id not in self.saved_task_ids:
                await self._persist_task(result)

    async def _persist_task(self, result: TaskResult) -> None:
        assert self.view is not None
        writes = task_writes(result)
        with anyio.CancelScope(shield=True):  # a finished task's outcome is saved even if a sibling fails
            await self.writer.put_writes(self.view.saved.config, writes, result.task.id)
        self.saved_task_ids.add(result.task.id)

    async def _persist_last(self, result: TaskResult) -> None:
        """Save the writes of a task after which the run saves nothing more: held by a saver
        that commits them with its host's write of the run's end, else saved now."""
        assert self.view is not None
        if self.writer.hold_last_writes(self.view.saved.config, task_writes(result), result.task.id):
            self.saved_task_ids.add(result.task.id)
        else:
            await self._persist_task(result)

    async def _fail(self, failed: list[TaskResult], results: dict[str, TaskResult]) -> None:
        """Save what finished, drop answers the failing tasks consumed, and raise the first error."""
        assert self.view is not None
        scope = self.scope
        for result in results.values():
            if result.status in ("done", "interrupt") and result.task.id not in self.saved_task_ids:
                await self._persist_task(result)
        by_task = {t.task.id: t for t in self.view.tasks}
        for result in failed:
            previous = [(ch, v) for ch, v in by_task[result.task.id].writes if ch in (INTERRUPT, RESUME)]
            await self.writer.put_writes(self.view.saved.config, previous + [(ERROR, repr(result.error))], result.task.id)
            scope.dropped_answers.update(result.consumed)
        if not scope.nested and scope.dropped_answers:
            await self._drop_answers(scope.dropped_answers)
        failed.sort(key=lambda r: path_sort_key(r.task))
        error = failed[0].error
        assert error is not None
        raise error

    async def _drop_answers(self, ids: set[str]) -> None:
        """Forget answers consumed by tasks that failed: their interrupts wait again."""
        assert self.view is not None
        for task_id, writes in self.view.command_writes:
            new_writes = []
            changed = False
            for ch, value in writes:
                if ch == RESUME_MAP and ids & set(value):
                    value = {k: v for k, v in value.items() if k not in ids}
                    changed = True
                new_writes.append((ch, value))
            if changed:
                await self.writer.put_writes(self.view.saved.config, new_writes, task_id)
        for iid in ids:
            self.scope.resume_map.pop(iid, None)
        ids.clear()

    async def _stop_for_interrupts(self, results: dict[str, TaskResult], pending: list[Interrupt]) -> RunOutcome:
        """End the run at a step that left interrupts waiting. The interrupted tasks' parts came
        as they ended (:meth:`_emit_result`); here, as LangGraph ends such a run: the parts of
        interrupts still waiting from tasks this run did not re-run, then (the root graph only)
        a last ``values`` part with the writes of the step's finished tasks, if they wrote any."""
        scope = self.scope
        view = self.view
        assert view is not None
        for result in results.values():
            if result.status == "done" and result.task.id not in self.saved_task_ids:
                await self._persist_task(result)
        values = dict(view.values)
        finished_writes: list[tuple[Task, list[tuple[str, Any]]]] = [
            (t.task, t.writes) for t in view.tasks if t.finished
        ]
        finished_writes += [(r.task, r.writes) for r in results.values() if r.status == "done"]
        finished_writes.sort(key=lambda item: path_sort_key(item[0]))
        wrote = False
        for _, writes in finished_writes:
            state_writes = [(k, v) for k, v in writes if k in self.graph.channels]
            if state_writes and apply_all_or_none(self.graph.channels, values, state_writes):
                wrote = True
        output = self._output(values)
        if scope.wants("updates") or scope.wants("values"):
            # Interrupts still pending from tasks this run did not re-run (a partial resume): the
            # stream shows them as LangGraph's re-run of those tasks would, a pair per task.
            asked_now = {i.id for r in results.values() if r.status == "interrupt" for i in r.interrupts}
            waiting: dict[str, list[Interrupt]] = {}
            for interrupt in pending:
                if interrupt.id not in asked_now:
                    waiting.setdefault(interrupt.task_id or "", []).append(interrupt)
            for interrupts in waiting.values():
                self._emit_interrupted(tuple(interrupts))
        if wrote and not scope.nested and scope.wants("values"):
            scope.emit(scope.ns_tuple, "values", self._state(values))
        done = {r.task.id for r in results.values() if r.status == "done"}
        to_run = tuple(t.task.name for t in view.tasks if not t.finished and t.task.id not in done)
        return RunOutcome(output, pending, next=to_run)

    async def _barrier(self, tasks: Sequence[TaskState], results: dict[str, TaskResult]) -> None:
        """Apply the step's writes in path order, plan the next step, save the next checkpoint."""
        scope = self.scope
        view = self.view
        assert view is not None
        graph = self.graph
        finished: list[tuple[Task, list[tuple[str, Any]], list[str | Send]]] = []
        unsaved: list[PendingWrite] = []
        for t in tasks:
            result = results.get(t.task.id)
            if result is not None:
                writes, routes = result.writes, result.routes
                if t.task.id not in self.saved_task_ids:
                    unsaved.extend((t.task.id, ch, v) for ch, v in task_writes(result))
            else:
                writes = [(k, v) for k, v in t.writes if k in graph.channels]
                routes = next((v for k, v in t.writes if k == ROUTES), [])
            finished.append((t.task, writes, routes))
        finished.sort(key=lambda item: path_sort_key(item[0]))
        values = dict(view.values)
        state_writes = [(k, v) for _, writes, _ in finished for k, v in writes if k in graph.channels]
        changed = apply_writes(graph.channels, values, state_writes)
        if any(ch == UPDATE for _, ws in view.command_writes for ch, _ in ws):
            changed |= {k for _, ws in view.command_writes for ch, v in ws if ch == UPDATE for k, _ in v}
        saved_values = view.saved.checkpoint.channel_values
        specs, joins = plan_next(
            [(task, routes) for task, _, routes in finished],
            graph.joins,
            saved_values.get(JOINS) or {},
            graph.node_order, graph.deferred,
        )
        channel_values = values
        channel_values[TASKS] = specs
        if joins:
            channel_values[JOINS] = joins
        last = [task.name for task, _, _ in finished if task.name != START]
        if last:
            channel_values[LAST_NODES] = last
        elif LAST_NODES in saved_values:
            channel_values[LAST_NODES] = saved_values[LAST_NODES]
        versions = dict(view.saved.checkpoint.channel_versions)
        top = max(versions.values(), default=0) + 1
        bumped = changed | {TASKS}
        if joins != (saved_values.get(JOINS) or {}):
            bumped.add(JOINS)
        if last:
            bumped.add(LAST_NODES)
        if START in versions:
            bumped.add(START)
        for key in bumped:
            if key in channel_values:
                versions[key] = top
            else:
                versions.pop(key, None)
        new_versions = {k: versions[k] for k in bumped if k in versions}
        step = view.step
        metadata = scope.checkpoint_metadata("loop", step)
        checkpoint = Checkpoint(self._new_id(step), now_iso(), channel_values, versions)
        if changed and scope.wants("values"):
            # Before the save, as LangGraph emits it: a server commits it with this checkpoint.
            scope.emit(scope.ns_tuple, "values", self._state(values))
        await self.writer.put(view.saved.config, checkpoint, metadata, new_versions, unsaved)
        config = scope.address(checkpoint.id)
        new = CheckpointTuple(config, checkpoint, metadata, view.saved.config, [])
        self.view = fresh_view(graph, new, scope.checkpoint_ns, values)
        scope.checkpoint_id = checkpoint.id
        scope.calls = {}
        self.saved_task_ids = set()
        if self._wants_checkpoints():
            self._emit_checkpoint(config, metadata, self.view, view.saved.config)


def task_writes(result: TaskResult) -> list[tuple[str, Any]]:
    """What is saved for a task: its state writes and routes, or its interrupt, with its answers."""
    if result.status == "interrupt":
        return [(INTERRUPT, list(result.interrupts)), (RESUME, _answer_pairs(result.answers))]
    writes = list(result.writes)
    if result.routes:
        writes.append((ROUTES, list(result.routes)))
    if not writes:
        writes.append((NO_WRITES, None))
    if result.answers:
        writes.append((RESUME, _answer_pairs(result.answers)))
    if result.answered:
        writes.append((INTERRUPT, list(result.answered)))
    return writes


def _answer_pairs(answers: dict[int, Any]) -> list[list[Any]]:
    """A task's answers as ``[[index, value], ...]`` (JSON objects only have string keys)."""
    return [[k, answers[k]] for k in sorted(answers)]


async def execute(
    scope: RunScope,
    graph_input: Any,
    saved: CheckpointTuple | None,
    *,
    replay: bool,
    interrupt_before: frozenset[str],
    interrupt_after: frozenset[str],
) -> RunOutcome:
    """Run ``scope.graph`` from ``saved`` (or from scratch) with ``graph_input``."""
    failure: Exception | None = None
    outcome: RunOutcome | None = None
    async with CheckpointWriter(scope.saver, scope.durability) as writer:  # type: ignore[arg-type]
        loop = Loop(scope, writer, interrupt_before, interrupt_after)
        try:
            outcome = await loop.run(graph_input, saved, replay)
        except Exception as exc:  # raised after the writer has saved what it holds, unwrapped
            failure = exc
    if failure is not None:
        raise failure
    assert outcome is not None
    outcome.checkpoint_id = scope.checkpoint_id
    return outcome
