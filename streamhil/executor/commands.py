"""Recording a Command as pending writes: validate it against the thread's pending interrupts
(strict resumes) and its reducers, then save it durably before anything runs."""

from __future__ import annotations

from typing import Any

from ..checkpoint.base import PendingWrite, new_checkpoint_id
from ..constants import COMMAND_TASK
from .._ids import interrupt_id, position_key
from ..errors import (
    AlreadyAnsweredError,
    AmbiguousResumeError,
    CheckpointError,
    EmptyInputError,
    InvalidUpdateError,
    NothingPendingError,
    UnknownInterruptError,
)
from ..types import Command, Interrupt, Send
from .apply import apply_writes
from .scope import RunScope
from .spec import GraphSpec
from .view import GOTO, RESUME_MAP, UPDATE, ThreadView, is_resume_map

__all__ = ["record_command"]


async def record_command(
    graph: GraphSpec, scope: RunScope, view: ThreadView, command: Command[Any], recorded: list[PendingWrite] | None = None
) -> list[Interrupt]:
    """Validate a Command against the thread's pending interrupts and save it as command writes.

    Returns the interrupts it answers. Raises a ``ResumeError`` subclass and saves nothing when
    the resume answers nothing, is ambiguous, or names ids that are unknown or already answered.
    """
    writes: list[tuple[str, Any]] = []
    answered: list[Interrupt] = []
    if command.resume is not None:
        pending = view.pending_interrupts
        by_id = {i.id: i for i in pending}
        if is_resume_map(command.resume):
            resume_map = dict(command.resume)
            if not resume_map:
                raise UnknownInterruptError(
                    "The resume map is empty: it answers no interrupt.",
                    pending_ids=tuple(by_id),
                )
            consumed = {
                interrupt_id(t.task.ns, k) for t in view.tasks for k in t.answers
            }
            already = [iid for iid in resume_map if iid in view.resume_map or iid in consumed]
            if already:
                raise AlreadyAnsweredError(
                    f"Interrupt(s) {', '.join(already)} of thread {scope.thread_id!r} were already answered.",
                    unknown_ids=tuple(already),
                    pending_ids=tuple(by_id),
                )
            unknown = [iid for iid in resume_map if iid not in by_id]
            if unknown:
                raise UnknownInterruptError(
                    f"No pending interrupt has id {', '.join(unknown)} on thread {scope.thread_id!r}; "
                    f"pending: {', '.join(by_id) or 'none'}.",
                    unknown_ids=tuple(unknown),
                    pending_ids=tuple(by_id),
                )
            answered = [by_id[iid] for iid in resume_map]
        else:
            if not pending:
                raise NothingPendingError(
                    f"Thread {scope.thread_id!r} has no pending interrupt to resume.{_why_nothing_pending(view)}"
                )
            if len(pending) > 1:
                raise AmbiguousResumeError(
                    f"Thread {scope.thread_id!r} has {len(pending)} pending interrupts; resume with a map "
                    "{interrupt_id: value} naming the one(s) you answer: "
                    + ", ".join(f"{i.id} (node {i.node!r})" for i in pending)
                )
            resume_map = {pending[0].id: command.resume}
            answered = [pending[0]]

        for interrupt in answered:
            if interrupt.node is not None:
                resume_map.setdefault(position_key(interrupt.ns, interrupt.node, interrupt.index), resume_map[interrupt.id])
        writes.append((RESUME_MAP, resume_map))
    if command.update is not None:
        from .runner import writes_from_return

        update_writes, _, _ = writes_from_return(graph, "Command input", Command(update=command.update))
        try:  # the reducers must take it now: a write they refuse later would wedge the thread
            apply_writes(graph.channels, dict(view.values), [(k, v) for k, v in update_writes if k in graph.channels])
        except InvalidUpdateError:
            raise
        except Exception as exc:
            raise InvalidUpdateError(
                f"Command(update=...) is refused by the state's reducers: {type(exc).__name__}: {exc}"
            ) from exc
        writes.append((UPDATE, update_writes))
    if command.goto:
        targets = command.goto_targets()
        for target in targets:
            name = target.node if isinstance(target, Send) else target
            if name not in graph.nodes:
                raise InvalidUpdateError(f"Command(goto={name!r}) names an unknown node.")
        writes.append((GOTO, targets))
    if not writes:
        raise EmptyInputError(
            "Received an empty Command: give resume=..., update=... or goto=... "
            "(None cannot be a resume value; answer None by id: Command(resume={interrupt_id: None}))."
        )
    if scope.saver is None:
        raise CheckpointError("Cannot record a Command without a checkpointer.")
    # Unique and time-ordered: answers recorded at the same time by two clients are both kept.
    task_id = f"{COMMAND_TASK}:{new_checkpoint_id()}"
    await scope.saver.aput_writes(view.saved.config, writes, task_id)
    if recorded is not None:
        recorded.extend((task_id, channel, value) for channel, value in writes)
    return answered


def _why_nothing_pending(view: ThreadView) -> str:
    """What the thread is doing instead of waiting for an answer, and how to go on."""
    unfinished = [t for t in view.tasks if not t.finished]
    failed = [t for t in unfinished if t.error is not None]
    if failed:
        names = ", ".join(repr(t.task.name) for t in failed)
        return (
            f" Its last run failed in node {names} ({failed[0].error}): run the step again with "
            "invoke(None, config), or change the state first with update_state."
        )
    if unfinished:
        return " It is paused at a static breakpoint: continue it with invoke(None, config)."
    return " Its run has ended: start it again with an input."
