"""LangGraph Agent Server runs over HTTP + SSE: stream, create (background), wait, join,
join_stream, get, list, cancel — each a run of streamhil's run manager.

A body with ``command.resume`` becomes a streamhil ``resume`` (an id map when every key is an
interrupt id, else a plain value); any other body a ``start_run``. The SSE stream starts with
``metadata {run_id, attempt}``, then one event per stream part named by its mode
(``mode|ns1|ns2`` for subgraph parts, with ``stream_subgraphs``), each with ``id: <seq>`` (the
thread log's ``seq``, the cursor for ``Last-Event-ID``); a failed run ends with ``error``. The
run's record is finished before the stream closes, so the client's status check finds it done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from streamhil.protocol import ErrorCode, EventKind, Resume, StartRun

from ..errors import CommandError, not_found
from ..hub import CursorError
from ..run_records import RunInfo
from ..runtime import Runtime
from ..threads import Accepted
from .http_access import invalid, json_response, read_json
from .langgraph_views import (
    assistant_id_for,
    find_assistant,
    is_resume_map,
    known_input,
    lc_stream_data,
    lc_values,
    run_view,
    sse_frame,
)
from .run_feed import RunFeed

__all__ = ["nothing_to_resume", "LangGraphRuns", "RunLaunch", "MODES_IN"]

MODES_IN = {
    "values": "values",
    "updates": "updates",
    "messages-tuple": "messages",
    "messages": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
    "events": "events",
}
"""LangGraph stream modes → streamhil's; LangGraph's other modes are accepted and produce nothing."""
STREAM_MODES = (*MODES_IN, "tools")
"""Every ``stream_mode`` LangGraph's server accepts on a run (others are a 422, as there)."""
_BUSY = {"reject": "reject", "enqueue": "enqueue", "interrupt": "interrupt"}
_HEARTBEAT = 5.0


def _modes(value: Any, default: tuple[str, ...] = ("values",)) -> tuple[str, ...]:
    """``stream_mode`` as sent: a string, a list, or nothing (``default``)."""
    if value is None:
        return default
    modes = [value] if isinstance(value, str) else value
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
        raise invalid("stream_mode must be a string or a list of strings", "stream_mode")
    found = tuple(m for part in modes for m in part.split(",") if m)
    unknown = [m for m in found if m not in STREAM_MODES]
    if unknown:
        raise invalid(f"stream_mode {unknown[0]!r} is not one of {', '.join(STREAM_MODES)}", "stream_mode")
    return found or default


_CHOICES = {
    "if_not_exists": ("create", "reject"),
    "on_disconnect": ("cancel", "continue"),
    "durability": ("sync", "async", "exit"),
}
"""The body fields LangGraph's server checks against a list of values (422 otherwise)."""


def _check_choices(body: Mapping[str, Any]) -> None:
    """422 for a field outside its choices, and for a ``webhook`` (not supported: a run that was
    asked to call one must not quietly never call it)."""
    for name, allowed in _CHOICES.items():
        value = body.get(name)
        if value is not None and value not in allowed:
            raise invalid(f"{name} must be one of {', '.join(allowed)}, got {value!r}", name)
    if body.get("webhook") is not None:
        raise CommandError(
            ErrorCode.INVALID_ARGUMENT, "webhooks are not supported by streamhil-server: follow the run with "
            "join / join_stream, or watch the thread, instead", path="webhook",
        )


def nothing_to_resume(thread_id: str, answers: Mapping[str, Any] | None) -> CommandError:
    """The refusal of a resume on a thread made with ``POST /threads`` that has not run yet: what
    one on a thread that has run gets with nothing pending (409 ``nothing_pending``; answers by
    interrupt id: 404, no such pending interrupt), not a 404 saying the thread does not exist."""
    if answers:
        ids = list(answers)
        return CommandError(
            ErrorCode.NOT_FOUND, f"thread {thread_id} has no pending interrupt {', '.join(ids)}; pending: none",
            path=f"answers.{ids[0]}", details={"resource": "interrupt", "interrupt_ids": ids},
        )
    return CommandError(
        ErrorCode.NOTHING_PENDING,
        f"thread {thread_id} has no pending interrupt to resume: it has not run yet; start a run with input",
    )


@dataclass(slots=True)
class RunLaunch:
    """A run accepted for an HTTP caller: its record, and the feed of its events (if asked)."""

    accepted: Accepted
    info: RunInfo
    feed: RunFeed | None
    modes: tuple[str, ...]
    subgraphs: bool


class LangGraphRuns:
    """The runs endpoints; each handler takes ``(request, identity)``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # --- starting ------------------------------------------------------------------------------

    def thread_graph(self, identity: str, thread_id: str, body: Mapping[str, Any]) -> str | None:
        """The thread's graph (None for a thread not run yet); 404 for someone else's or an unknown one."""
        rt = self.runtime
        thread = rt.runs.threads.get(thread_id)
        meta = rt.thread_metadata.get(thread_id)
        owner = thread.record.owner if thread is not None else meta.owner if meta is not None else None
        if owner is not None and owner != identity:
            if body.get("if_not_exists") == "create":  # creating under a taken id: as POST /threads answers
                raise CommandError(
                    ErrorCode.FORBIDDEN, f"thread id {thread_id!r} is not available to you; use another id",
                    path="thread_id",
                )
            raise not_found("thread", thread_id)
        if thread is not None:
            return thread.record.graph
        if meta is None and body.get("if_not_exists") != "create":
            raise not_found("thread", thread_id)
        return None

    async def launch(self, identity: str, thread_id: str, body: Mapping[str, Any], *, feed: bool) -> RunLaunch:
        """Validate ``body`` and start (or resume) a run on the thread through the run manager."""
        rt = self.runtime
        assistant = body.get("assistant_id")
        if not isinstance(assistant, str) or not assistant:
            raise invalid("assistant_id is required (an assistant id or a graph name)", "assistant_id")
        entry = find_assistant(rt.registry, assistant)
        if entry is None:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"assistant {assistant!r} not found; graphs: {', '.join(rt.registry.names())}",
                path="assistant_id", details={"resource": "assistant"},
            )
        strategy = body.get("multitask_strategy") or "enqueue"
        if strategy not in _BUSY:
            raise invalid(f"multitask_strategy {strategy!r} is not supported; use reject, enqueue or interrupt", "multitask_strategy")
        _check_choices(body)
        requested = _modes(body.get("stream_mode"))
        subgraphs = bool(body.get("stream_subgraphs"))
        internal = tuple(dict.fromkeys(["values", "updates", *(MODES_IN[m] for m in requested if m in MODES_IN)]))
        config = body.get("config")
        if config is not None and not isinstance(config, dict):
            raise invalid("config must be an object", "config")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise invalid("metadata must be an object", "metadata")
        graph = self.thread_graph(identity, thread_id, body)
        command = body.get("command")
        if command is not None and not isinstance(command, dict):
            raise invalid("command must be an object", "command")
        resume = self._resume(thread_id, command, internal, strategy, body.get("context")) if command else None
        if resume is not None and graph is None and rt.thread_metadata.get(thread_id) is not None:
            raise nothing_to_resume(thread_id, resume.answers)  # made with POST /threads, never run
        run_feed = RunFeed("") if feed else None
        holder: dict[str, RunInfo] = {}

        def on_accepted(acc: Accepted) -> None:
            holder["info"] = rt.run_records.accepted(
                acc.run_id, acc.thread_id, acc.seq, assistant_id=assistant_id_for(entry.name),
                metadata=metadata, multitask_strategy=strategy, stream_modes=requested, stream_subgraphs=subgraphs,
            )
            if run_feed is not None:
                run_feed.follow(acc.run_id)
                run_feed.attach_live(rt.hub, acc.thread_id, acc.seq + 1)

        try:
            if resume is not None:
                accepted = await rt.runs.resume(identity, resume, on_accepted)
            else:
                start = StartRun(
                    graph=entry.name,
                    thread_id=thread_id,
                    input=known_input(entry.graph, body.get("input")),
                    stream_modes=internal,
                    config=config,
                    interrupt_before=self._breakpoints(body.get("interrupt_before"), "interrupt_before"),
                    interrupt_after=self._breakpoints(body.get("interrupt_after"), "interrupt_after"),
                    checkpoint_id=self._checkpoint_id(body),
                    if_busy=_BUSY[strategy],  # type: ignore[arg-type]
                    subgraphs=True,
                    metadata=metadata,
                    context=body.get("context"),
                )
                accepted = await rt.runs.start_run(identity, start, on_accepted)
        except BaseException:
            if run_feed is not None:
                run_feed.close()
            raise
        if run_feed is not None:
            run_feed.start()
        await rt.thread_metadata.stamp(
            thread_id, identity, {"graph_id": entry.name, "assistant_id": assistant_id_for(entry.name)}
        )
        return RunLaunch(accepted, holder["info"], run_feed, requested, subgraphs)

    @staticmethod
    def _resume(
        thread_id: str, command: Mapping[str, Any], modes: tuple[str, ...], strategy: str, context: Any = None
    ) -> Resume:
        goto = command.get("goto")
        if goto is not None and not (isinstance(goto, str) or (isinstance(goto, list) and all(isinstance(g, str) for g in goto))):
            raise invalid("command.goto must be a node name or a list of node names (Send is not supported)", "command.goto")
        if "resume" not in command:
            raise invalid(
                "command without resume is not supported: answer the pending interrupts with command.resume, "
                "or change the state with POST /threads/{id}/state", "command.resume",
            )
        resume = command["resume"]
        common: dict[str, Any] = {
            "thread_id": thread_id,
            "update": command.get("update"),
            "goto": tuple(goto) if isinstance(goto, list) else goto,
            "stream_modes": modes,
            "if_busy": "reject" if strategy == "reject" else "enqueue",
            "context": context,
        }
        if is_resume_map(resume):
            return Resume(answers=dict(resume), **common)
        return Resume(value=resume, **common)

    @staticmethod
    def _breakpoints(value: Any, path: str) -> Any:
        if value is None or value == "*":
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(f"{path} must be '*' or a list of node names", path)
        return tuple(value)

    @staticmethod
    def _checkpoint_id(body: Mapping[str, Any]) -> str | None:
        checkpoint = body.get("checkpoint")
        if isinstance(checkpoint, dict) and checkpoint.get("checkpoint_id"):
            return str(checkpoint["checkpoint_id"])
        value = body.get("checkpoint_id")
        return str(value) if value else None

    # --- streaming -----------------------------------------------------------------------------

    @staticmethod
    def _locations(request: Request, thread_id: str, run_id: str) -> dict[str, str]:
        root = request.scope.get("root_path", "")
        run = f"{root}/threads/{thread_id}/runs/{run_id}"
        return {"content-location": run, "location": f"{run}/stream"}

    def _sse(
        self, identity: str, thread_id: str, feed: RunFeed, modes: tuple[str, ...], subgraphs: bool,
        *, cancel_on_disconnect: bool, headers: dict[str, str], announce: int | None,
    ) -> Response:
        """The SSE response; ``announce`` is the ``id`` of its opening ``metadata`` event (the
        run's first seq: a rejoin after it replays the run's first event on), None for none."""
        wanted = {MODES_IN[m]: ("messages" if m == "messages-tuple" else m) for m in modes if m in MODES_IN}

        async def body() -> AsyncIterator[bytes]:
            finished = False
            stop_watching = self.runtime.run_records.on_drop(feed.run_id, feed.end)
            try:
                if announce is not None:
                    yield sse_frame("metadata", {"run_id": feed.run_id, "attempt": len(feed.attempts)}, announce)
                while True:
                    event = await feed.next(timeout=_HEARTBEAT)
                    if event is None:
                        if feed.done:
                            break
                        yield b": heartbeat\n\n"
                        continue
                    kind, ns, data = event["event"], event.get("ns") or [], event.get("data")
                    if kind == EventKind.RUN_ERROR:
                        error = data.get("error") if isinstance(data, dict) else None
                        error = error if isinstance(error, dict) else {"type": "Error", "message": str(error)}
                        yield sse_frame("error", {"error": error.get("type"), "message": error.get("message")}, event["seq"])
                    elif kind == EventKind.EVENTS and kind in wanted:  # every graph's, under one name, as LangGraph's
                        yield sse_frame(wanted[kind], lc_stream_data(kind, data), event["seq"])
                    elif kind in wanted and (subgraphs or not ns):
                        name = "|".join([wanted[kind], *ns])
                        yield sse_frame(name, lc_stream_data(kind, data), event["seq"])
                if feed.overflowed:
                    yield sse_frame("error", {"error": "SlowConsumer", "message": "the client fell too far behind the run; rejoin with Last-Event-ID"})
                finished = feed.done and not feed.overflowed
            finally:
                stop_watching()
                feed.close()
                if cancel_on_disconnect and not finished:
                    with anyio.CancelScope(shield=True):
                        try:
                            await self.runtime.runs.cancel(identity, thread_id, feed.current)
                        except CommandError:
                            pass  # it ended meanwhile

        return StreamingResponse(
            body(), media_type="text/event-stream",
            headers={**headers, "cache-control": "no-store", "x-accel-buffering": "no"},
        )

    async def stream(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/runs/stream``."""
        thread_id = request.path_params["thread_id"]
        body = await read_json(request)
        launch = await self.launch(identity, thread_id, body, feed=True)
        assert launch.feed is not None
        return self._sse(
            identity, thread_id, launch.feed, launch.modes, launch.subgraphs,
            cancel_on_disconnect=body.get("on_disconnect") == "cancel",
            headers=self._locations(request, thread_id, launch.accepted.run_id), announce=launch.info.first_seq,
        )

    async def create(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/runs``: a background run."""
        thread_id = request.path_params["thread_id"]
        launch = await self.launch(identity, thread_id, await read_json(request), feed=False)
        headers = self._locations(request, thread_id, launch.accepted.run_id)
        return json_response(run_view(launch.info), headers={"content-location": headers["content-location"]})

    async def _final_values(self, identity: str, thread_id: str, info: RunInfo | None) -> Any:
        """What ``wait``/``join`` return: the thread's values (+ ``__interrupt__``), or ``__error__``."""
        if info is not None and info.status == "error":
            error = info.error if isinstance(info.error, dict) else {"type": "Error", "message": str(info.error)}
            return {"__error__": {"error": error.get("type"), "message": error.get("message")}}
        thread = self.runtime.runs.visible(identity, thread_id)
        state = await self.runtime.runs.current_state(thread)
        values = lc_values(state.get("values"))
        values = dict(values) if isinstance(values, Mapping) else {"__root__": values}
        if state.get("interrupts"):
            values["__interrupt__"] = state["interrupts"]
        return values

    async def wait(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/runs/wait``: run to the end (or an interrupt), return the values."""
        thread_id = request.path_params["thread_id"]
        launch = await self.launch(identity, thread_id, await read_json(request), feed=True)
        assert launch.feed is not None
        await self._drain(launch.feed)
        values = await self._final_values(identity, thread_id, launch.info)
        return json_response(values, headers={"content-location": self._locations(request, thread_id, launch.accepted.run_id)["content-location"]})

    # --- existing runs -------------------------------------------------------------------------

    async def _run(self, identity: str, thread_id: str, run_id: str) -> RunInfo:
        self.runtime.runs.visible(identity, thread_id)
        info = await self.runtime.run_records.find(thread_id, run_id)
        if info is None:
            raise not_found("run", run_id)
        return info

    async def get(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}/runs/{run_id}``."""
        p = request.path_params
        return json_response(run_view(await self._run(identity, p["thread_id"], p["run_id"])))

    async def list_runs(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}/runs?limit=&offset=&status=``."""
        thread_id = request.path_params["thread_id"]
        if self.runtime.runs.threads.get(thread_id) is None:
            self.thread_graph(identity, thread_id, {})
            return json_response([])
        self.runtime.runs.visible(identity, thread_id)
        q = request.query_params
        runs = await self.runtime.run_records.all_of_thread(thread_id)
        if q.get("status"):
            if q["status"] not in _RUN_STATUSES:
                raise invalid(f"status must be one of {', '.join(_RUN_STATUSES)}, got {q['status']!r}", "status")
            runs = [r for r in runs if r.status == q["status"]]
        offset, limit = _int(q.get("offset"), 0, "offset"), _int(q.get("limit"), 10, "limit")
        return json_response([run_view(r) for r in runs[offset : offset + limit]])

    async def _feed_from(self, thread_id: str, info: RunInfo, after: int) -> RunFeed:
        """The run's events after ``after`` (from its start if negative), its continuations'
        after a restart included."""
        feed = RunFeed(info.run_id, attempts=await self.runtime.run_records.attempts(info))
        try:
            await feed.replay(self.runtime.hub, thread_id, max(after, info.first_seq) if after >= 0 else info.first_seq)
        except CursorError as exc:
            feed.close()
            raise CommandError(ErrorCode.INVALID_ARGUMENT, f"cannot rejoin: {exc}", path="Last-Event-ID") from None
        return feed

    async def join(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}/runs/{run_id}/join``: wait for the run, return the values."""
        p = request.path_params
        info = await self._run(identity, p["thread_id"], p["run_id"])
        if not info.finished:
            await self._drain(await self._feed_from(p["thread_id"], info, -1))
        return json_response(await self._final_values(identity, p["thread_id"], info))

    async def _drain(self, feed: RunFeed) -> None:
        """Wait for the feed's run to end (a run cancelled while queued ends then), then close it."""
        stop_watching = self.runtime.run_records.on_drop(feed.run_id, feed.end)
        try:
            await feed.drain()
        finally:
            stop_watching()
            feed.close()

    async def join_stream(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}/runs/{run_id}/stream``: the run's events after ``Last-Event-ID``
        (all of them, after a ``metadata`` event, without it), then live ones until it ends."""
        p = request.path_params
        info = await self._run(identity, p["thread_id"], p["run_id"])
        last = request.headers.get("last-event-id")
        after = -1
        if last:
            try:
                after = int(last)
            except ValueError:
                raise invalid(f"Last-Event-ID must be a seq number, got {last!r}", "Last-Event-ID") from None
        q = request.query_params
        modes, subgraphs = _join_modes(info, _join_filter(q.getlist("stream_mode")))
        feed = await self._feed_from(p["thread_id"], info, after)
        cancel = q.get("cancel_on_disconnect", "false").lower() in ("1", "true", "yes")
        return self._sse(
            identity, p["thread_id"], feed, modes, subgraphs, cancel_on_disconnect=cancel, headers={},
            announce=info.first_seq if after < 0 else None,
        )

    async def cancel(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/runs/{run_id}/cancel?wait=&action=interrupt``."""
        p = request.path_params
        q = request.query_params
        if q.get("action", "interrupt") != "interrupt":
            raise invalid("only action=interrupt is supported (rollback is not)", "action")
        info = await self._run(identity, p["thread_id"], p["run_id"])
        if info.finished:
            raise CommandError(ErrorCode.NO_ACTIVE_RUN, f"run {info.run_id} already ended ({info.status})")
        feed = await self._feed_from(p["thread_id"], info, -1) if q.get("wait") in ("1", "true") else None
        current = feed.current if feed is not None else (await self.runtime.run_records.attempts(info))[-1]
        try:
            await self.runtime.runs.cancel(identity, p["thread_id"], current)  # a continuation after a restart
        except BaseException:
            if feed is not None:
                feed.close()
            raise
        if feed is None:
            return Response(status_code=202)
        if self.runtime.storage.shared:  # cancelled by another process while queued: it says so in the table
            await self.runtime.run_records.refresh_thread(p["thread_id"])
            info = await self.runtime.run_records.find(p["thread_id"], p["run_id"]) or info
            if info.finished:
                feed.end()
        await self._drain(feed)
        return json_response(run_view(info))


def _join_filter(values: list[str]) -> tuple[str, ...]:
    """A join's ``stream_mode`` query: repeated, comma-separated or a JSON array; empty for none."""
    found: list[str] = []
    for value in values:
        if value.startswith("["):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(m, str) for m in parsed):
                found.extend(parsed)
                continue
        found.extend(m for m in value.split(",") if m)
    return tuple(found)


def _join_modes(info: RunInfo, wanted: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """What a rejoin streams, as LangGraph's server does: the modes (and subgraph events) the run
    was started with, narrowed to the join's ``stream_mode`` when it names some. A run started
    by another surface (no modes recorded) streams every mode, subgraphs included."""
    started, subgraphs = (info.stream_modes, info.stream_subgraphs) if info.stream_modes is not None else (tuple(MODES_IN), True)
    if not wanted:
        return started, subgraphs
    asks_messages = "messages" in wanted or "messages-tuple" in wanted
    return tuple(m for m in started if m in wanted or (asks_messages and m.startswith("messages"))), subgraphs


_RUN_STATUSES = ("pending", "running", "error", "success", "timeout", "interrupted")


def _int(value: str | None, default: int, name: str) -> int:
    """A query parameter that is an integer >= 0."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise invalid(f"{name} must be an integer >= 0, got {value!r}", name)
    return number

