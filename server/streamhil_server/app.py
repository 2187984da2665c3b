"""``create_app()``: the Starlette application (WebSocket at ``/ws``, ``/healthz``, ``/livez``, ``/metrics``,
AG-UI at ``/agui/{graph}``, the browser UI) whose lifespan owns the server's :class:`~.runtime.Runtime`.

Mount it inside another Starlette or FastAPI app by handing its lifespan to the host (Starlette
does not run a mounted app's lifespan)::

    hil = create_app(graphs={"approve": graph})
    host = Starlette(routes=[Mount("/hil", app=hil)], lifespan=hil.router.lifespan_context)
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from streamhil.checkpoint.base import BaseCheckpointSaver

from .auth import Authenticator
from .compat.agui import agui_routes
from .compat.langgraph_http import langgraph_routes
from .connection import Connection
from .hosts import HostGuard
from .log_redaction import redact_credentials_in_logs
from .metrics import metrics_refusal, prometheus_text
from .registry import GraphRegistry
from .runtime import Runtime
from .settings import ServerSettings
from .transport import AbortHandle
from .web import web_routes

__all__ = ["create_app"]


def create_app(
    graphs: Mapping[str, Any] | GraphRegistry | None = None,
    *,
    db: str | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    tokens: Mapping[str, str] | Callable[[str], str | None] | None = None,
    settings: ServerSettings | None = None,
    web: bool = True,
    langgraph_api: bool = True,
    on_startup: Callable[[], None] | None = None,
    on_failure: Callable[[BaseException], None] | None = None,
) -> Starlette:
    """A Starlette app serving ``graphs`` (name → compiled graph).

    ``db`` is where checkpoints and the event logs are kept: a SQLite file, a PostgreSQL URL
    (``postgresql://user@host:port/dbname``), or ``None`` (in memory);
    ``checkpointer`` overrides the saver. ``tokens`` maps tokens to identities (or is a
    function doing so); without it anyone may connect. ``on_startup`` is called once the
    server is ready (runs recovered); ``on_failure`` if its runtime stops by itself afterwards
    (a background worker failed): the app then refuses connections (``/healthz`` says
    ``stopped``), and the host should exit so that its supervisor starts it again
    (``streamhil-server`` does). ``app.state.runtime`` is the :class:`~.runtime.Runtime`.
    ``langgraph_api`` serves LangGraph's Agent Server HTTP API at the root
    (docs/langgraph-clients.md), so ``langgraph_sdk.get_client(url=...)`` works against it.
    """
    registry = graphs if isinstance(graphs, GraphRegistry) else GraphRegistry(graphs)
    runtime = Runtime(
        registry, db=db, checkpointer=checkpointer, settings=settings, auth=Authenticator(tokens)
    )
    serving = _Serving()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any = None) -> AsyncIterator[None]:
        started = False
        redact_credentials_in_logs()  # ?token= must not reach uvicorn's log
        try:
            async with runtime:
                serving.running = started = True
                if on_startup is not None:
                    on_startup()
                try:
                    yield
                finally:
                    serving.running = False
        except BaseException as exc:
            if started:  # not a shutdown: a worker of the runtime failed while serving
                serving.stopped_by = exc
                if on_failure is not None:
                    on_failure(exc)
            raise

    async def websocket_endpoint(websocket: WebSocket) -> None:
        if not serving.running:
            await websocket.close(code=1013)  # try again later: the server is not started
            return
        await Connection(websocket, runtime).serve()

    async def healthz(request: Request) -> Response:
        if not serving.running:
            status = "starting" if serving.stopped_by is None else "stopped"
            return JSONResponse({"status": status}, status_code=503)
        health = runtime.storage.health
        if not health.available:  # the database cannot be reached: send traffic elsewhere meanwhile
            return JSONResponse({"status": "storage_unavailable", "reason": health.reason}, status_code=503)
        body: dict[str, Any] = {"status": "ok", "epoch": runtime.store.epoch}
        if runtime.auth.open:  # a server with tokens does not name its graphs to strangers
            body["graphs"] = registry.names()
        return JSONResponse(body)

    async def livez(request: Request) -> Response:
        """Liveness: the process serves (503 only once its runtime stopped). Unlike ``/healthz``,
        it does not depend on the database: restarting a process does not bring its database back."""
        if serving.stopped_by is not None:
            return JSONResponse({"status": "stopped"}, status_code=503)
        return JSONResponse({"status": "ok" if serving.running else "starting"})

    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(request, runtime.settings.metrics_token, open_server=runtime.auth.open)
        if refusal is not None:
            return refusal
        stats = runtime.statistics()
        try:
            cluster = await runtime.cluster_statistics()
        except Exception as exc:  # the database is away: this process's own figures still count
            cluster = {"error": f"{type(exc).__name__}: {exc}"}
        if cluster is not None:
            stats = dataclasses.replace(stats, cluster=cluster)
        if request.query_params.get("format") == "prometheus":
            return PlainTextResponse(prometheus_text(stats), media_type="text/plain; version=0.0.4")
        return JSONResponse(stats.to_json())

    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", websocket_endpoint),
        Route("/healthz", healthz),
        Route("/livez", livez),
        Route("/metrics", metrics),
    ]
    routes += agui_routes(runtime, lambda: serving.running)
    if langgraph_api:
        routes += langgraph_routes(runtime)  # before the UI, whose catch-all would take GET /threads/...
    if web:
        routes += web_routes()
    routes.append(WebSocketRoute("/{path:path}", _no_websocket_here))  # last: after every WebSocket route
    settings = runtime.settings
    guarded = settings.allowed_hosts is not None or runtime.auth.open
    middleware = [Middleware(AbortHandle)]
    if guarded:
        middleware.append(Middleware(HostGuard, allowed=settings.allowed_hosts))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.runtime = runtime
    return app


async def _no_websocket_here(websocket: WebSocket) -> None:
    """A WebSocket upgrade to a path nothing serves: HTTP 404 naming the right path (Starlette
    would close it before accepting, which the server answers with 403, the status of a refused
    Host or Origin, and sends a developer who mistyped the path the wrong way)."""
    path = websocket.url.path
    shown = path if len(path) <= 100 else path[:100] + "…"
    served = f"{websocket.scope.get('root_path', '')}/ws"  # (inside a host app: under its mount)
    body = f"no WebSocket endpoint at {shown}: the streamhil protocol is served at {served}\n"
    try:
        await websocket.send_denial_response(PlainTextResponse(body, status_code=404))
    except RuntimeError:  # the ASGI server cannot send a response to an upgrade: refuse it
        await websocket.close(code=1008)


@dataclasses.dataclass(slots=True)
class _Serving:
    """Whether the app's runtime is up, and what stopped it if it stopped by itself."""

    running: bool = False
    stopped_by: BaseException | None = None
