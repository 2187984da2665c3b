"""Admission: ``start_run``, ``resume`` and ``cancel`` validated, recorded and queued under the
thread's lock, within the identity's share of runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import anyio

from streamhil.errors import InvalidUpdateError
from streamhil.executor.runner import start_writes
from streamhil.protocol import ErrorCode, Resume, StartRun, run_config_problem

from ..errors import CommandError, not_found
from ..registry import GraphEntry
from ..storage.records import ThreadRecord, Write, now_iso
from ..threads import Accepted, ActiveRun, RunRequest, ThreadRuntime
from .core import OnAccepted, _new_id
from .recovery import RunRecovery

__all__ = ["RunAdmission"]


class RunAdmission(RunRecovery):
    """``start_run``, ``resume`` and ``cancel``."""

    async def start_run(
        self, identity: str, cmd: StartRun, on_accepted: OnAccepted | None = None, *, origin: str | None = None,
        command_id: str | None = None,
    ) -> Accepted:
        """Validate and accept a ``start_run``; see spec 5.2.

        ``on_accepted`` is called once the run is accepted and before it can emit any event
        (the connection replies and subscribes there). ``origin`` is whose run limits it counts
        against (default: the identity). ``command_id``: the forwarded command this carries out
        (its reply is stored with the run, see :mod:`.forwarding`).
        """
        origin = identity if origin is None else origin
        self._check_share(origin)
        entry = self.registry.get(cmd.graph)
        if entry is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"graph {cmd.graph!r} not found; this server serves: {', '.join(self.registry.names()) or 'none'}",
                path="graph",
                details={"resource": "graph"},
            )
        for key in ("interrupt_before", "interrupt_after"):
            nodes = getattr(cmd, key)
            if nodes is not None and nodes != "*":
                for i, node in enumerate(nodes):
                    if node not in entry.graph.nodes:
                        raise CommandError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"graph {cmd.graph!r} has no node {node!r}; nodes: {', '.join(entry.graph.nodes)}",
                            path=f"{key}[{i}]",
                        )
        self._check_config(cmd.config)
        self._check_input(entry, cmd)
        thread_id = cmd.thread_id or _new_id("t")
        thread = await self._load(thread_id) if cmd.thread_id else None
        if thread is not None:
            if thread.record.owner != identity:
                raise CommandError(
                    ErrorCode.FORBIDDEN, f"thread {thread_id!r} belongs to another identity", path="thread_id"
                )
            if thread.record.graph != cmd.graph:
                raise CommandError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"thread {thread_id!r} runs graph {thread.record.graph!r}, not {cmd.graph!r}",
                    path="graph",
                )
            thread.users += 1
        try:
            if cmd.checkpoint_id is not None:
                saver = entry.graph.saver
                saved = None if saver is None or thread is None else await saver.aget_tuple(
                    {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": cmd.checkpoint_id}}
                )
                if saved is None:
                    raise CommandError(
                        ErrorCode.NOT_FOUND,
                        f"thread {thread_id!r} has no checkpoint {cmd.checkpoint_id!r}",
                        path="checkpoint_id",
                        details={"resource": "checkpoint"},
                    )
            if thread is None:
                if cmd.thread_id is not None:  # a thread id the caller chose: maybe held already
                    await self.check_reservation(identity, thread_id)
                thread = self.threads.get(thread_id)  # created meanwhile by the same identity?
                if thread is None:
                    self.hub.create(thread_id)
                    record = ThreadRecord(thread_id=thread_id, graph=cmd.graph, owner=identity)
                    thread = self.threads.add(ThreadRuntime(record, stored=False))
                elif thread.record.owner != identity:
                    raise CommandError(ErrorCode.FORBIDDEN, f"thread {thread_id!r} belongs to another identity", path="thread_id")
                thread.users += 1
            request = RunRequest(
                run_id=_new_id("r"),
                thread_id=thread_id,
                kind="start",
                input=cmd.input,
                stream_modes=tuple(cmd.stream_modes),
                subgraphs=cmd.subgraphs,
                config=cmd.config,
                interrupt_before=cmd.interrupt_before if cmd.interrupt_before is None or cmd.interrupt_before == "*" else list(cmd.interrupt_before),
                interrupt_after=cmd.interrupt_after if cmd.interrupt_after is None or cmd.interrupt_after == "*" else list(cmd.interrupt_after),
                checkpoint_id=cmd.checkpoint_id,
                metadata=cmd.metadata,
                context=cmd.context,
                origin=origin,
            )
            with anyio.CancelScope(shield=True):  # a client leaving must not cut an acceptance in half
                accepted = await self._accept_start(thread, cmd, request, on_accepted, command_id)
            return accepted
        finally:
            if thread is not None:
                thread.users -= 1

    async def _accept_start(
        self, thread: ThreadRuntime, cmd: StartRun, request: RunRequest, on_accepted: OnAccepted | None,
        command_id: str | None,
    ) -> Accepted:
        async with thread.lock:
            queued = False
            if thread.busy:
                if cmd.if_busy == "reject":
                    raise self._busy(thread)
                queued = True
                request.check_pending = True  # when its turn comes
            elif thread.record.interrupts and not await self._forks(thread, request):
                raise self._interrupt_pending(thread)
            # the run with its input (and a new thread's record) are stored before the reply
            write = Write(thread_id=thread.thread_id, runs=[self._run_record(request, "queued")])
            superseded: list[RunRequest] = []
            if cmd.if_busy == "interrupt" and queued:
                # Runs queued to take the active one's place lose it to this one (two "interrupt"
                # starts at once: the last wins, as on LangGraph's server); other queued runs,
                # answers among them, keep theirs.
                superseded = [r for r in thread.queue if r.superseding and not r.cancelled]
                for old in superseded:
                    write.runs.append(self._run_record(replace(old, cancelled=True, cancel_reason="superseded"), "queued"))
            if not thread.stored:
                write.threads.append(replace(thread.record))
            head = self.hub.head(thread.thread_id)
            self._store_outcome(write, command_id, Accepted(request.run_id, thread.thread_id, head, queued))
            await self.storage.write(write)
            if not thread.stored:
                thread.stored = True
                self._thread_count += 1
            self.shares.add(request.origin)  # checked before the thread was created
            for old in superseded:  # (stored above with this run: both or neither)
                old.cancelled, old.cancel_reason = True, "superseded"
            if cmd.if_busy == "interrupt" and thread.active is not None:
                request.superseding = True
                # after the runs it superseded (each then says so), before everything else
                thread.queue.insert(sum(1 for r in thread.queue if r in superseded), request)
                self._cancel_active(thread, "superseded")
            else:
                thread.queue.append(request)
            accepted = Accepted(request.run_id, thread.thread_id, head, queued)
            if on_accepted is not None:
                on_accepted(accepted)
            self._spawn(thread)
            return accepted

    def _check_share(self, origin: str) -> None:
        if self.shares.full(origin):
            limit = self.shares.max_runs
            raise CommandError(
                ErrorCode.TOO_MANY_RUNS,
                f"{limit} runs are already queued or active for this identity; retry when some have ended",
                details={"max_runs_per_identity": limit},
            )

    @staticmethod
    def _check_config(config: Mapping[str, Any] | None) -> None:
        """Refuse a bad run config before anything is created (every surface's ``start_run``
        comes here; the WebSocket decoder makes the same check)."""
        problem = run_config_problem(config) if config else None
        if problem is not None:
            path, message = problem
            raise CommandError(ErrorCode.INVALID_FIELD, f"{path}: {message}", path=path)

    @staticmethod
    def _check_input(entry: GraphEntry, cmd: StartRun) -> None:
        """Refuse an input the graph's input schema refuses (not a dict, an unknown key) before
        anything is created: the run's first step would fail on it, leaving a thread in error."""
        if cmd.input is None:
            return
        try:
            start_writes(entry.graph.spec, cmd.input)
        except InvalidUpdateError as exc:
            key = _unknown_key(cmd.input, entry)
            path = "input" if key is None else f"input.{key}"
            raise CommandError(ErrorCode.INVALID_FIELD, f"{path}: {exc}", path=path) from None

    async def resume(
        self, identity: str, cmd: Resume, on_accepted: OnAccepted | None = None, *, origin: str | None = None,
        command_id: str | None = None,
    ) -> Accepted:
        """Validate, record durably, and accept a ``resume``; see spec 5.2 (and ``start_run``)."""
        origin = identity if origin is None else origin
        self._check_share(origin)
        async with self.using(identity, cmd.thread_id) as thread:
            entry = self.entry(thread)
            if cmd.goto is not None:
                targets = [cmd.goto] if isinstance(cmd.goto, str) else list(cmd.goto)
                for i, target in enumerate(targets):
                    if target not in entry.graph.nodes:
                        raise CommandError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"graph {thread.record.graph!r} has no node {target!r}",
                            path="goto" if isinstance(cmd.goto, str) else f"goto[{i}]",
                        )
            named = list(cmd.answers) if cmd.answers is not None else ([cmd.interrupt_id] if cmd.interrupt_id else None)
            active = thread.active
            if named and active is not None and active.request.ended and any(i not in thread.pending_ids for i in named):
                # Its run has ended and its end is being stored: the interrupts it asked are
                # pending once that commits. Another process can tell a client of them first (it
                # reads the committed events), so wait for this process to take them in.
                await self._taken_in(active)
            with anyio.CancelScope(shield=True):  # a client leaving must not cut an acceptance in half
                accepted = await self._accept_resume(thread, entry, cmd, named, on_accepted, origin, command_id)
            return accepted

    async def _taken_in(self, active: ActiveRun) -> None:
        """Wait until this process has taken in the end of ``active`` (stored and adopted); while
        the storage is unavailable its end waits for it, and an answer is refused instead."""
        health = self.storage.health
        while not active.over.is_set():
            if not health.available:
                raise health.error()
            async with anyio.create_task_group() as tg:

                async def first(wait: Callable[[], Awaitable[Any]]) -> None:
                    await wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(first, active.over.wait)
                tg.start_soon(first, health.wait_changed)

    async def _accept_resume(
        self, thread: ThreadRuntime, entry: GraphEntry, cmd: Resume, named: list[str] | None,
        on_accepted: OnAccepted | None, origin: str, command_id: str | None,
    ) -> Accepted:
        path = "answers" if cmd.answers is not None else "interrupt_id"
        async with thread.lock:
            if named is not None:
                await self._check_not_answered(thread, named, path if cmd.answers is None else "answers")
            pending = thread.pending_ids
            if named is not None:
                unknown = [i for i in named if i not in pending]
                if unknown:
                    raise CommandError(
                        ErrorCode.NOT_FOUND,
                        f"thread {thread.thread_id} has no pending interrupt {', '.join(unknown)}; "
                        f"pending: {', '.join(pending) or 'none'}",
                        path=path if cmd.answers is None else f"answers.{unknown[0]}",
                        details={"resource": "interrupt", "interrupt_ids": unknown},
                    )
                resume_map: dict[str, Any] = (
                    dict(cmd.answers) if cmd.answers is not None else {str(cmd.interrupt_id): cmd.value}
                )
            else:
                if not pending:
                    stopped = thread.record.status == "idle" and not thread.busy
                    next = (await entry.graph.aget_state(self._config(thread.thread_id))).next if stopped else ()
                    raise self._nothing_pending(thread, next)
                if len(pending) > 1:
                    raise CommandError(
                        ErrorCode.AMBIGUOUS_RESUME,
                        f"thread {thread.thread_id} has {len(pending)} pending interrupts ({', '.join(pending)}); "
                        "name the one you answer with interrupt_id or answers",
                        path="value",
                        details={"interrupt_ids": pending},
                    )
                resume_map = {pending[0]: cmd.value}
            request = RunRequest(
                run_id=_new_id("r"),
                thread_id=thread.thread_id,
                kind="resume",
                resume=resume_map,
                update=cmd.update,
                goto=list(cmd.goto) if isinstance(cmd.goto, tuple) else cmd.goto,
                recorded=False,
                stream_modes=tuple(cmd.stream_modes),
                context=cmd.context,
                origin=origin,
            )
            queued = thread.busy
            if queued and cmd.if_busy == "reject":
                raise self._busy(thread)
            self._check_share(origin)
            head = self.hub.head(thread.thread_id)
            reply = Accepted(request.run_id, thread.thread_id, head, queued, tuple(resume_map))
            if not queued:
                answered = await self._record(thread, entry, request, self._outcome(command_id, reply))
            else:
                # The first acknowledged answer wins: the queued run claims its ids (stored with
                # it), so a second answer to them is refused now, never after its reply.
                answered = list(resume_map)
                request.claimed = True
                request.claimed_interrupts = [i for i in thread.record.interrupts if i["id"] in resume_map]
                record = self._without_answered(thread, answered)
                write = Write(thread_id=thread.thread_id, runs=[self._run_record(request, "queued")], threads=[record])
                self._store_outcome(write, command_id, reply)
                await self.storage.write(write)
                self._adopt(thread, record)
            self.shares.add(origin)
            thread.queue.append(request)
            accepted = Accepted(request.run_id, thread.thread_id, head, queued, tuple(answered))
            if on_accepted is not None:
                on_accepted(accepted)
            self._spawn(thread)
            return accepted

    async def cancel(self, identity: str, thread_id: str, run_id: str | None, *, command_id: str | None = None) -> str:
        """Cancel the active run (or drop a queued one named by ``run_id``); returns its id.
        (Cancelling the active run stores nothing: a forwarded cancel whose holder died is sent
        again to the next holder, which closed that run already, reason ``shutdown``.)"""
        async with self.using(identity, thread_id) as thread, thread.lock:
            if run_id is not None:
                for request in thread.queue:
                    if request.run_id == run_id and not request.cancelled:  # cancelled: no longer queued
                        # Its run_started and run_cancelled come when its turn comes, after the
                        # active run's events: runs of a thread never interleave (spec 9.4).
                        request.cancelled = True
                        write = Write(thread_id=thread_id, runs=[self._run_record(request, "queued")])
                        if request.claimed_interrupts:  # its answers are withdrawn: pending again
                            back = [i for i in request.claimed_interrupts if i not in thread.record.interrupts]
                            record = replace(thread.record, interrupts=thread.record.interrupts + back, updated_at=now_iso())
                            write.threads.append(record)
                            write.after_commit.append(partial(self._adopt, thread, record))
                        self._store_outcome(write, command_id, run_id)
                        for hook in self.dropped_from_queue:
                            hook(write, run_id)
                        with anyio.CancelScope(shield=True):
                            await self.storage.write(write)
                        return run_id
                if thread.active is None or thread.active.request.run_id != run_id:
                    raise not_found("run", run_id, path="run_id")
            if thread.active is None:
                raise CommandError(ErrorCode.NO_ACTIVE_RUN, f"thread {thread_id} has no active run to cancel")
            active_id = thread.active.request.run_id
            self._cancel_active(thread, "cancelled")
            return active_id


def _unknown_key(value: Any, entry: GraphEntry) -> str | None:
    """The first key of a dict input that the graph does not take as input."""
    if not isinstance(value, dict):
        return None
    allowed = entry.graph.spec.input_keys
    return next((str(key) for key in value if key not in allowed), None)
