"""Recording answers: validate an answer against the thread, commit it with its run and
answered ids in one write, and remember which interrupts are answered (or claimed by a queued
answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamhil.errors import (
    AlreadyAnsweredError,
    AmbiguousResumeError,
    InvalidUpdateError,
    NothingPendingError,
    ResumeError,
    UnknownInterruptError,
)
from streamhil.protocol import ErrorCode
from streamhil.types import Command

from ..errors import CommandError
from ..registry import GraphEntry
from ..storage.base import AnswerConflictError
from ..storage.records import ThreadRecord, Write, now_iso
from ..threads import RunRequest, ThreadRuntime
from .core import RunCore

__all__ = ["RunAnswers"]


_REMEMBERED_ANSWERS = 1024
"""Answered interrupt ids a thread keeps in memory; older ones are looked up in the storage."""


class RunAnswers(RunCore):
    """Recording answers, and which interrupts are answered or claimed."""

    async def _check_not_answered(
        self, thread: ThreadRuntime, ids: list[str], path: str, mine: frozenset[str] = frozenset()
    ) -> None:
        """``already_answered`` if an acknowledged resume answered any of ``ids`` (remembered
        in the storage, so this holds after a restart too); ``mine`` are ids the caller's own
        queued answer claimed."""
        ids = [i for i in ids if i not in mine]
        claimed = self._claimed(thread)
        already = [i for i in ids if i in thread.answered or i in claimed]
        # A listed interrupt is not answered (an answer and its removal from the list are one
        # write): only ids the thread does not list can have been answered before, so only
        # those cost a read (no read on the hot path of a valid answer).
        pending = set(thread.pending_ids)
        missing = [i for i in ids if i not in thread.answered and i not in claimed and i not in pending]
        if missing:
            found = await self.storage.answered_among(thread.thread_id, missing)
            thread.answered.update(found)
            already += found
        if already:
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED,
                f"interrupt {', '.join(already)} of thread {thread.thread_id} was already answered",
                path=path if path != "answers" else f"answers.{already[0]}",
                details={"interrupt_ids": already},
            )

    def _without_answered(self, thread: ThreadRuntime, ids: list[str]) -> ThreadRecord:
        """A copy of the thread's record without the interrupts answered so far and ``ids``
        (to store; :meth:`_adopt` makes it the in-memory record once stored)."""
        answered, named, claimed = thread.answered, set(ids), self._claimed(thread)
        record = thread.record
        kept = [i for i in record.interrupts if not (i["id"] in named or i["id"] in answered or i["id"] in claimed)]
        return record.settled(record.status, record.error, kept, now_iso())

    async def _record(
        self, thread: ThreadRuntime, entry: GraphEntry, request: RunRequest, outcome: Callable[[Any], None] | None = None
    ) -> list[str]:
        """Store the request's answers as command writes on the thread's head checkpoint, with
        the answered ids, the run and the thread's record, in one write (and ``outcome``, the
        reply of a forwarded command).

        Must be called with ``thread.lock`` held and no run active on the thread.
        """
        queued_claim = frozenset(request.resume or ()) if request.claimed else frozenset()
        if request.resume:
            await self._check_not_answered(thread, list(request.resume), "interrupt_id", queued_claim)
        command: Command[Any] = Command(resume=request.resume, update=request.update, goto=request.goto or ())
        ids = list(request.resume or ())
        request.recorded = True
        record = self._without_answered(thread, ids)
        extras = Write(
            thread_id=thread.thread_id,
            runs=[self._run_record(request, "queued")],
            answered=[(thread.thread_id, i) for i in ids],
            threads=[record],
            sql=[outcome] if outcome is not None else [],
        )
        try:
            if self.one_transaction:
                # staged: the command's own write (its checkpoint writes) takes them along
                self.hub.stage(thread.thread_id, extras, with_checkpoint=True)
                try:
                    answered = await entry.graph.arecord_command(self._config(thread.thread_id), command)
                except BaseException:
                    self.hub.unstage(thread.thread_id)
                    raise
                left = self.hub.unstage(thread.thread_id)
                if left is not None and not left.empty:  # the graph saved elsewhere: store them now
                    await self.storage.write(left)
            else:  # a checkpointer of the caller's: a second write
                answered = await entry.graph.arecord_command(self._config(thread.thread_id), command)
                await self.storage.write(extras)
        except AlreadyAnsweredError as exc:
            self._undo_answer(request)
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED, str(exc), path="interrupt_id", details={"interrupt_ids": list(exc.unknown_ids)}
            ) from None
        except AnswerConflictError:  # the unique key on answered ids: another answer was stored first
            self._undo_answer(request)
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED, f"an interrupt of thread {thread.thread_id} was already answered",
                path="interrupt_id", details={"interrupt_ids": ids},
            ) from None
        except UnknownInterruptError as exc:
            self._undo_answer(request)
            raise CommandError(
                ErrorCode.NOT_FOUND, str(exc), path="interrupt_id",
                details={"resource": "interrupt", "interrupt_ids": list(exc.unknown_ids)},
            ) from None
        except NothingPendingError:
            self._undo_answer(request)
            raise self._nothing_pending(thread) from None
        except AmbiguousResumeError as exc:
            self._undo_answer(request)
            raise CommandError(ErrorCode.AMBIGUOUS_RESUME, str(exc), path="value", details={"interrupt_ids": thread.pending_ids}) from None
        except (InvalidUpdateError, ResumeError) as exc:
            self._undo_answer(request)
            raise CommandError(ErrorCode.INVALID_ARGUMENT, str(exc), path="update") from None
        except BaseException:
            self._undo_answer(request)
            raise
        if len(thread.answered) >= _REMEMBERED_ANSWERS:
            # A cache of the storage's answered ids, not the truth: start it again rather than
            # grow by one id per answer for as long as the thread lives.
            thread.answered.clear()
        thread.answered.update(ids)
        self._adopt(thread, record)
        return [i.id for i in answered]

    def _undo_answer(self, request: RunRequest) -> None:
        """An answer that was not stored: forget what :meth:`_record` assumed in memory."""
        request.recorded = False
