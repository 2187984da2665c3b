"""``POST /agui/{graph}``: AG-UI clients (``@ag-ui/client``'s ``HttpAgent``, CopilotKit) run graphs.

One request is one run: the body is a ``RunAgentInput``, the answer a ``text/event-stream`` of
AG-UI events (see :mod:`.agui_events` and ``docs/ag-ui.md``). The run is started or resumed
through the server's :class:`~..runs.RunManager` and followed through its event hub, so it is an
ordinary streamhil run: the dashboard and ``/ws`` watchers see it, and its events are in the
thread's log.

Errors about the request itself (credentials, origin, unknown graph, a body that is not a
``RunAgentInput``) are HTTP errors with a JSON body ``{"detail", "code"}``; a run the thread
refuses (interrupts pending, a resume that does not answer them all, a busy thread) is an event
stream of ``RUN_STARTED`` then ``RUN_ERROR`` with streamhil's error code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from streamhil.protocol import ErrorCode
from streamhil.protocol.codec import loads_body, nesting_problem, wide_integer_problem
from streamhil.protocol.messages import MAX_NESTING_DEPTH

from ..token_check import TooManyAttempts, check_token
from .http_access import AMBIENT_BODY_REFUSAL, MAX_BODY, forgeable_body, presented_token, read_limited_body

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .agui_run import AguiRun

__all__ = ["agui_routes"]

_INSTALL_HINT = "the AG-UI endpoint needs the ag-ui-protocol package: pip install 'streamhil[agui]'"


def agui_routes(runtime: Runtime, ready: Callable[[], bool]) -> list[BaseRoute]:
    """The AG-UI route of one server; ``ready()`` says whether its runtime is running."""

    async def endpoint(request: Request) -> Response:
        cors = _cors_headers(request)
        if not runtime.origin_allowed(request):
            return _problem(403, ErrorCode.FORBIDDEN, f"origin {request.headers.get('origin')!r} is not allowed")
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={
                **cors, "access-control-allow-methods": "POST, OPTIONS",
                "access-control-allow-headers": "authorization, content-type, x-api-key", "access-control-max-age": "600",
            })
        if request.method == "GET":  # or the browser UI's catch-all would answer 404
            headers = {**cors, "allow": "POST, OPTIONS"}
            return _problem(405, ErrorCode.INVALID_ARGUMENT, "POST a RunAgentInput (AG-UI) to run this graph", headers)
        if not ready():
            return _problem(503, ErrorCode.NOT_READY, "the server is starting", cors)
        try:
            identity = _identify(request, runtime)
        except TooManyAttempts as exc:
            headers = {**cors, "retry-after": exc.retry_after_header}
            return _problem(429, ErrorCode.TOO_MANY_REQUESTS, f"{exc}: retry in {exc.retry_after_header} s", headers)
        if identity is None:
            headers = {**cors, "www-authenticate": "Bearer"}
            return _problem(401, ErrorCode.UNAUTHENTICATED, "send a known token: Authorization: Bearer <token>", headers)
        try:
            from ag_ui.core import RunAgentInput
        except ImportError:
            return _problem(501, ErrorCode.INTERNAL_ERROR, _INSTALL_HINT, cors)
        graph = request.path_params["graph"]
        if runtime.registry.get(graph) is None:
            served = ", ".join(runtime.registry.names()) or "none"
            return _problem(404, ErrorCode.NOT_FOUND, f"graph {graph!r} not found; this server serves: {served}", cors)
        body = await read_limited_body(request)
        if body is None:
            return _problem(413, ErrorCode.FRAME_TOO_LARGE, f"the body is larger than {MAX_BODY} bytes", cors)
        if forgeable_body(runtime, request, body):
            return _problem(403, ErrorCode.FORBIDDEN, AMBIENT_BODY_REFUSAL, cors)
        try:
            raw = loads_body(body)
        except orjson.JSONDecodeError as exc:
            return _problem(400, ErrorCode.BAD_JSON, f"the body is not JSON: {exc}", cors)
        deep = nesting_problem(raw)  # as on /ws: orjson could not store it
        if deep is not None:
            return _problem(422, ErrorCode.INVALID_FIELD, deep[1], cors,
                            path=deep[0], details={"max_nesting_depth": MAX_NESTING_DEPTH})
        wide = wide_integer_problem(body, raw)  # orjson would have made it a float
        if wide is not None:
            return _problem(422, ErrorCode.INVALID_FIELD, wide[1], cors)
        from pydantic import ValidationError

        try:
            run_input = RunAgentInput.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
            return _problem(422, ErrorCode.INVALID_FIELD, f"the body is not a RunAgentInput: {problems}", cors)
        if not 1 <= len(run_input.thread_id) <= 200:
            return _problem(422, ErrorCode.INVALID_FIELD, "threadId must be 1-200 characters", cors)
        if run_input.state is not None and not isinstance(run_input.state, Mapping):
            kind = type(run_input.state).__name__
            return _problem(422, ErrorCode.INVALID_FIELD, f"state must be an object (the graph's input keys), got {kind}", cors)
        options = _options(run_input.forwarded_props, runtime)
        if isinstance(options, str):
            return _problem(422, ErrorCode.INVALID_FIELD, options, cors)
        from .agui_run import AguiRun

        run = AguiRun(runtime, identity, graph, run_input, legacy=options["legacy"], cancel_on_disconnect=options["cancel"])
        return _EventStream(run, cors)

    return [Route("/agui/{graph}", endpoint, methods=["GET", "POST", "OPTIONS"])]


def _problem(status: int, code: ErrorCode, detail: str, headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    return JSONResponse({"detail": detail, "code": code.value, **extra}, status_code=status, headers=dict(headers or {}))


def _identify(request: Request, runtime: Runtime) -> str | None:
    """As on the HTTP API (``x-api-key``, ``Authorization: Bearer``, the cookie), under the same
    budget of failed attempts per address (raises :class:`TooManyAttempts`)."""
    return check_token(runtime.auth, runtime.failed_auth, request, presented_token(request)[0])


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    return {"access-control-allow-origin": origin, "access-control-allow-credentials": "true", "vary": "Origin"}


def _options(forwarded: Any, runtime: Runtime) -> dict[str, bool] | str:
    """streamhil's switches in ``forwardedProps.streamhil``: ``legacy_interrupts`` (default: the
    server's setting) and ``on_disconnect`` (``cancel``, the default, or ``continue``)."""
    legacy = bool(getattr(runtime.settings, "agui_legacy_interrupts", False))
    cancel = True
    mine = forwarded.get("streamhil") if isinstance(forwarded, Mapping) else None
    if mine is None:
        return {"legacy": legacy, "cancel": cancel}
    if not isinstance(mine, Mapping):
        return "forwardedProps.streamhil must be an object"
    if "legacy_interrupts" in mine:
        if not isinstance(mine["legacy_interrupts"], bool):
            return "forwardedProps.streamhil.legacy_interrupts must be true or false"
        legacy = mine["legacy_interrupts"]
    if "on_disconnect" in mine:
        if mine["on_disconnect"] not in ("cancel", "continue"):
            return "forwardedProps.streamhil.on_disconnect must be 'cancel' or 'continue'"
        cancel = mine["on_disconnect"] == "cancel"
    return {"legacy": legacy, "cancel": cancel}


class _EventStream(Response):
    """The SSE answer: runs the AG-UI run while sending its events; a client that leaves ends it."""

    media_type = "text/event-stream"

    def __init__(self, run: AguiRun, headers: Mapping[str, str]) -> None:
        super().__init__(headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"}, media_type=self.media_type)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]  # streamed
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        gone = False

        async def emit(text: str) -> None:
            await send({"type": "http.response.body", "body": text.encode(), "more_body": True})

        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                nonlocal gone
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone = True
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                await self.run.stream(emit)
            except OSError:
                gone = True
            tg.cancel_scope.cancel()
        if gone:
            with anyio.CancelScope(shield=True):
                await self.run.client_left()
            return
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass

