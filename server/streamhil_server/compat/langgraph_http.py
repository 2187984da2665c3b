"""The routes of LangGraph's Agent Server API that streamhil serves (see
docs/langgraph-clients.md), mounted at the server's root beside the UI: the classic HTTP+SSE
API and the v3 thread protocol (commands, SSE and WebSocket event streams).

Every route also answers CORS preflights (``OPTIONS``); see :mod:`.http_access`.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route, WebSocketRoute

from ..runtime import Runtime
from .http_access import Handler, http_endpoint
from .langgraph_runs import LangGraphRuns
from .langgraph_threads import LangGraphThreads
from .langgraph_v3 import LangGraphV3
from .unsupported import unsupported_routes

__all__ = ["langgraph_routes"]


def langgraph_routes(runtime: Runtime) -> list[BaseRoute]:
    """The Agent Server routes, each calling ``runtime``'s run manager and event hub in process."""
    threads = LangGraphThreads(runtime)
    runs = LangGraphRuns(runtime)
    v3 = LangGraphV3(runtime, runs)
    table: list[tuple[str, str, Handler]] = [
        ("/info", "GET", threads.info),
        ("/assistants/search", "POST", threads.search_assistants),
        ("/assistants/{assistant_id}", "GET", threads.get_assistant),
        ("/assistants/{assistant_id}/graph", "GET", threads.assistant_graph),
        ("/threads", "POST", threads.create_thread),
        ("/threads/search", "POST", threads.search_threads),
        ("/threads/{thread_id}", "GET", threads.get_thread),
        ("/threads/{thread_id}", "PATCH", threads.patch_thread),
        ("/threads/{thread_id}/state", "GET", threads.get_state),
        ("/threads/{thread_id}/state", "POST", threads.update_state),
        ("/threads/{thread_id}/state/checkpoint", "POST", threads.state_at),
        ("/threads/{thread_id}/state/{checkpoint_id}", "GET", threads.get_state),
        ("/threads/{thread_id}/history", "POST", threads.history),
        ("/threads/{thread_id}/runs", "POST", runs.create),
        ("/threads/{thread_id}/runs", "GET", runs.list_runs),
        ("/threads/{thread_id}/runs/stream", "POST", runs.stream),
        ("/threads/{thread_id}/runs/wait", "POST", runs.wait),
        ("/threads/{thread_id}/runs/{run_id}", "GET", runs.get),
        ("/threads/{thread_id}/runs/{run_id}/join", "GET", runs.join),
        ("/threads/{thread_id}/runs/{run_id}/stream", "GET", runs.join_stream),
        ("/threads/{thread_id}/runs/{run_id}/cancel", "POST", runs.cancel),
        ("/threads/{thread_id}/commands", "POST", v3.commands),
        ("/threads/{thread_id}/stream/events", "POST", v3.stream_events),
    ]
    by_path: dict[str, dict[str, Handler]] = {}
    for path, method, handler in table:
        by_path.setdefault(path, {})[method] = handler
    routes: list[BaseRoute] = []
    for path, handlers in by_path.items():
        routes.append(Route(path, _dispatch(runtime, handlers), methods=[*handlers, "OPTIONS"]))
    routes.append(WebSocketRoute("/threads/{thread_id}/stream/events", _holding(runtime, v3.websocket)))
    return routes + unsupported_routes(runtime, routes)


def _dispatch(runtime: Runtime, handlers: dict[str, Handler]) -> Any:
    """One endpoint for a path: the handler of the request's method (OPTIONS: the preflight)."""
    endpoints = {method: http_endpoint(runtime, handler) for method, handler in handlers.items()}
    preflight = next(iter(endpoints.values()))

    async def endpoint(request: Any) -> Any:
        thread_id = request.path_params.get("thread_id")
        if thread_id is None:
            return await endpoints.get(request.method, preflight)(request)
        await runtime.refresh_thread(thread_id)  # several processes: what the others wrote
        async with runtime.runs.holding(thread_id):  # in memory while the handler looks it up
            return await endpoints.get(request.method, preflight)(request)

    return endpoint


def _holding(runtime: Runtime, handler: Any) -> Any:
    """A WebSocket endpoint that keeps its path's thread in memory while it runs."""

    async def endpoint(websocket: Any) -> None:
        await runtime.refresh_thread(websocket.path_params["thread_id"])
        async with runtime.runs.holding(websocket.path_params["thread_id"]):
            await handler(websocket)

    return endpoint
