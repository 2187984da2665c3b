"""AguiRun: one AG-UI request carried out as one streamhil run, its events sent as SSE.

``threadId`` is the streamhil thread (created by the first run). Without ``resume`` the request
starts a run whose input is the new user messages (appended to ``messages``) and, on a new
thread, the keys of ``state`` (on an existing thread only the keys whose value differs from the
thread's). With ``resume`` (or the legacy ``forwardedProps.command.resume``) it answers the
thread's pending interrupts by id, and ``state`` and ``messages`` are ignored: the client resends
them with every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ag_ui.core import BaseEvent, RunAgentInput
from ag_ui.encoder import EventEncoder
from streamhil.protocol import ErrorCode, EventKind, Resume, StartRun

from ..errors import CommandError, storage_unavailable
from .agui_events import RunTranslator
from .agui_views import agui_interrupt, answer_for, from_agui_message, to_agui_messages
from .answer_log import earlier_answers
from .langgraph_views import for_surface, known_input
from .tail import RunTail

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..threads import Accepted, ThreadRuntime

__all__ = ["AguiRun", "STREAM_MODES", "MESSAGES_KEY"]

STREAM_MODES = ("values", "updates", "messages", "tasks")
"""What an AG-UI run streams into the thread's log (and so to every watcher)."""
MESSAGES_KEY = "messages"
"""The state key that new user messages are appended to."""
KEEPALIVE_SECONDS = 15.0
logger = logging.getLogger("streamhil_server.agui")
_TERMINAL = {EventKind.RUN_DONE: "success", EventKind.RUN_INTERRUPTED: EventKind.INTERRUPT, EventKind.RUN_CANCELLED: "cancelled", EventKind.RUN_ERROR: "error"}
_UNSET: Any = object()

Emit = Callable[[str], Awaitable[None]]


class AguiRun:
    """Carries out one ``RunAgentInput`` for ``identity`` on ``graph``."""

    def __init__(
        self, runtime: Runtime, identity: str, graph: str, run_input: RunAgentInput, *, legacy: bool, cancel_on_disconnect: bool
    ) -> None:
        self.runtime = runtime
        self.identity = identity
        self.graph = graph
        self.input = run_input
        self.thread_id = run_input.thread_id
        self.legacy = legacy
        self.cancel_on_disconnect = cancel_on_disconnect
        self.streamhil_run_id: str | None = None
        self.done = False
        self._encoder = EventEncoder()
        self._emit: Emit | None = None

    async def _send(self, events: list[BaseEvent]) -> None:
        assert self._emit is not None
        if events:
            await self._emit("".join(self._encoder.encode(e) for e in events))

    # --- the run -------------------------------------------------------------------------------

    async def stream(self, emit: Emit) -> None:
        """Run, sending every AG-UI event through ``emit`` (SSE text); a failure is a ``RUN_ERROR``."""
        self._emit = emit
        tr = RunTranslator(self.thread_id, self.input.run_id, legacy=self.legacy)
        try:
            await self._stream(tr)
        except CommandError as exc:
            exc = for_surface(exc, "AG-UI runs do not queue")
            await self._fail(tr, exc.message, exc.code.value)
        except OSError:
            raise  # the client is gone
        except Exception as exc:
            unavailable = storage_unavailable(exc)
            if unavailable is not None:
                await self._fail(tr, unavailable.message, unavailable.code.value)
                return
            logger.exception("AG-UI run on thread %s failed", self.thread_id)
            await self._fail(tr, "the server failed carrying out this run", ErrorCode.INTERNAL_ERROR.value)

    async def _fail(self, tr: RunTranslator, message: str, code: str) -> None:
        self.done = True
        await self._send(([] if tr.has_started else tr.started(None)) + tr.error(message, code))

    async def _stream(self, tr: RunTranslator) -> None:
        thread = await self._thread()
        values, messages = await self._current(thread)
        tr.know(messages)
        tr.know(m for m in (from_agui_message(x) for x in self.input.messages) if m is not None)
        with RunTail(self.runtime.hub, self.thread_id) as tail:
            accepted = await self._accept(thread, values, tail)
            if accepted is None:  # a resume replayed: nothing to run, report where the thread is
                await self._send(tr.started(None))
                await self._finish(tr, "success", None)
                return
            await self._send(tr.started(accepted.run_id))
            outcome, data = await self._follow(tail, tr, accepted.run_id)
        if outcome == "error":
            error = data.get("error") if isinstance(data.get("error"), Mapping) else {}
            message = str(error.get("message") or "the run failed")
            kind = error.get("type")
            await self._fail(tr, f"{kind}: {message}" if kind else message, data.get("code") or "run_error")
            return
        await self._finish(tr, outcome, accepted.run_id)

    async def _follow(self, tail: RunTail, tr: RunTranslator, run_id: str) -> tuple[str, Any]:
        assert self._emit is not None
        while True:
            event = await tail.next(KEEPALIVE_SECONDS)
            if event is None:
                await self._emit(": keepalive\n\n")  # an SSE comment: keeps proxies from timing out
                continue
            if event.get("run_id") != run_id:
                continue
            kind = event.get("event")
            if kind in _TERMINAL:
                return _TERMINAL[kind], event.get("data") or {}
            await self._send(tr.feed(event))

    async def _finish(self, tr: RunTranslator, outcome: str, run_id: str | None) -> None:
        state = await self.runtime.runs.get_state(self.identity, self.thread_id, None)
        values, interrupts = state.get("values"), list(state.get("interrupts") or [])
        found = values.get(MESSAGES_KEY) if isinstance(values, Mapping) else None
        messages = to_agui_messages(found) if isinstance(found, list) else list(self.input.messages)
        if outcome in ("success", "interrupt"):
            outcome = "interrupt" if interrupts else "success"
        self.done = True
        await self._send(tr.finished(outcome, values=values, messages=messages, interrupts=interrupts, streamhil_run_id=run_id))

    async def client_left(self) -> None:
        """The client closed the stream: cancel the run unless it asked to ``continue``."""
        if self.done or not self.cancel_on_disconnect or self.streamhil_run_id is None:
            return
        try:
            await self.runtime.runs.cancel(self.identity, self.thread_id, self.streamhil_run_id)
        except CommandError:
            pass  # it ended meanwhile

    # --- what to run ---------------------------------------------------------------------------

    async def _thread(self) -> ThreadRuntime | None:
        try:
            return await self.runtime.runs.require_thread(self.identity, self.thread_id)
        except CommandError:
            return None  # new (or another identity's, which start_run refuses)

    async def _current(self, thread: ThreadRuntime | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if thread is None or self.runtime.runs.thread_info(thread)["graph"] != self.graph:
            return {}, []
        state = await self.runtime.runs.get_state(self.identity, self.thread_id, None)
        values: dict[str, Any] = state["values"] if isinstance(state.get("values"), dict) else {}
        messages = values.get(MESSAGES_KEY)
        return values, [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    def _accepted(self, tail: RunTail) -> Callable[[Accepted], None]:
        def on_accepted(accepted: Accepted) -> None:
            self.streamhil_run_id = accepted.run_id
            tail.attach(accepted.seq + 1)

        return on_accepted

    async def _accept(self, thread: ThreadRuntime | None, values: dict[str, Any], tail: RunTail) -> Accepted | None:
        runs = self.runtime.runs
        if thread is not None and runs.thread_info(thread)["graph"] != self.graph:
            raise CommandError(
                ErrorCode.INVALID_ARGUMENT,
                f"thread {self.thread_id!r} runs graph {runs.thread_info(thread)['graph']!r}, not {self.graph!r}",
                path="threadId",
            )
        legacy_value = self._legacy_resume()
        if self.input.resume or legacy_value is not _UNSET:
            if thread is None:
                raise CommandError(
                    ErrorCode.NOT_FOUND, f"thread {self.thread_id!r} not found: a resume continues the thread of an interrupted run",
                    path="threadId", details={"resource": "thread"},
                )
            answers = self._answers(thread, legacy_value)
            cmd = Resume(thread_id=self.thread_id, answers=answers, stream_modes=STREAM_MODES)
            try:
                return await runs.resume(self.identity, cmd, on_accepted=self._accepted(tail))
            except CommandError as exc:
                answered = set((exc.details or {}).get("interrupt_ids") or ())
                if exc.code is not ErrorCode.ALREADY_ANSWERED or not self.input.resume or not set(answers) <= answered:
                    raise
                await self._check_same_answers()
                if runs.thread_info(thread)["status"] == "running":  # its run is not over: no state to report yet
                    raise CommandError(
                        ErrorCode.THREAD_BUSY,
                        f"interrupt {', '.join(answers)} of thread {self.thread_id} was answered and its run is "
                        "still going; send the resume again when it ends",
                        details={"interrupt_ids": list(answers)},
                    ) from None
                return None  # the same resume again: safe to replay (AG-UI contract rule 5)
        start = StartRun(graph=self.graph, thread_id=self.thread_id, input=self._graph_input(thread, values), stream_modes=STREAM_MODES)
        return await runs.start_run(self.identity, start, on_accepted=self._accepted(tail))

    async def _check_same_answers(self) -> None:
        """A resume of interrupts answered before is a safe replay only if it gives the same
        answers (a stale tab sending a different one must not be told it succeeded):
        ``already_answered`` otherwise. Answers the thread's log no longer holds pass as a replay."""
        entries = self.input.resume or []
        earlier = await earlier_answers(self.runtime.hub, self.thread_id, [e.interrupt_id for e in entries])
        if earlier is None:
            return
        differ = [
            e.interrupt_id for e in entries
            if e.interrupt_id in earlier.answers and e.interrupt_id in earlier.asked
            and answer_for(e, earlier.asked[e.interrupt_id]) != earlier.answers[e.interrupt_id]
        ]
        if differ:
            raise CommandError(
                ErrorCode.ALREADY_ANSWERED,
                f"interrupt {', '.join(differ)} of thread {self.thread_id} was already answered, with a different "
                "answer; its run went on with that one",
                path="resume", details={"interrupt_ids": differ},
            )

    def _legacy_resume(self) -> Any:
        props = self.input.forwarded_props
        command = props.get("command") if isinstance(props, Mapping) else None
        if not isinstance(command, Mapping) or command.get("resume") is None:
            return _UNSET
        value = command["resume"]
        if isinstance(value, str):  # older CopilotKit apps send the answer as JSON text
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _answers(self, thread: ThreadRuntime, legacy_value: Any) -> dict[str, Any]:
        pending = {i["id"]: i for i in self.runtime.runs.thread_info(thread)["interrupts"]}
        entries = self.input.resume or []
        if not entries:  # the legacy forwardedProps.command.resume
            if isinstance(legacy_value, Mapping) and legacy_value and set(legacy_value) <= set(pending):
                return dict(legacy_value)
            if len(pending) == 1:
                return {next(iter(pending)): legacy_value}
            if not pending:
                raise CommandError(ErrorCode.NOTHING_PENDING, f"thread {self.thread_id} has no pending interrupt to resume")
            raise CommandError(
                ErrorCode.AMBIGUOUS_RESUME,
                f"thread {self.thread_id} has {len(pending)} pending interrupts ({', '.join(pending)}); "
                "answer them with resume: [{interruptId, status, payload}], or command.resume as {id: answer}",
                details={"interrupt_ids": list(pending)},
            )
        ids = [e.interrupt_id for e in entries]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise CommandError(ErrorCode.INVALID_ARGUMENT, f"resume answers interrupt {', '.join(twice)} more than once", path="resume")
        if not set(ids) & set(pending):  # nothing pending is named: a replay, or unknown ids
            return {e.interrupt_id: e.payload for e in entries}
        missing = [i for i in pending if i not in ids]
        if missing:
            raise CommandError(
                ErrorCode.INVALID_ARGUMENT,
                f"resume must answer every pending interrupt of thread {self.thread_id} at once; missing: {', '.join(missing)}",
                path="resume", details={"interrupt_ids": missing},
            )
        unknown = [i for i in ids if i not in pending]
        if unknown:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"thread {self.thread_id} has no pending interrupt {', '.join(unknown)}; pending: {', '.join(pending)}",
                path="resume", details={"resource": "interrupt", "interrupt_ids": unknown},
            )
        now = datetime.now(timezone.utc)
        for entry in entries:
            expires = agui_interrupt(pending[entry.interrupt_id]).expires_at
            if expires is not None and entry.status == "resolved" and _parse_time(expires) <= now:
                raise CommandError(
                    ErrorCode.INVALID_ARGUMENT, f"interrupt {entry.interrupt_id} expired at {expires}; cancel it instead",
                    path="resume", details={"interrupt_ids": [entry.interrupt_id]},
                )
        return {e.interrupt_id: answer_for(e, pending[e.interrupt_id]) for e in entries}

    def _graph_input(self, thread: ThreadRuntime | None, values: dict[str, Any]) -> Any:
        state = self.input.state if isinstance(self.input.state, Mapping) else {}
        data = {
            k: v for k, v in state.items()
            if k != MESSAGES_KEY and not k.startswith("__") and (thread is None or k not in values or values[k] != v)
        }
        entry = self.runtime.registry.get(self.graph)
        data = known_input(entry.graph, data) if entry is not None else data  # state keys the input lacks: dropped
        have = {m.get("id") for m in values.get(MESSAGES_KEY) or () if isinstance(m, Mapping)}
        new = [from_agui_message(m) for m in self.input.messages if m.role == "user" and m.id not in have]
        if new:
            if MESSAGES_KEY not in tuple(getattr(entry.graph, "input_keys", ()) if entry is not None else ()):
                raise CommandError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"graph {self.graph!r} has no {MESSAGES_KEY!r} key for the new user messages; send its input in state",
                    path="messages",
                )
            data[MESSAGES_KEY] = new
        return data if data or thread is None else None


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.max.replace(tzinfo=timezone.utc)  # not a time: never expires
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
