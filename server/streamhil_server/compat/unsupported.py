"""The Agent Server endpoints streamhil does not serve, answered as every other error of this
API is: ``{detail, code: "not_supported"}``, saying what is not supported and what to do instead
(404 for a path streamhil has no endpoint at, 405 with ``Allow`` for a method it does not serve
at a path it has). Without them the request would reach Starlette's plain-text 404/405.

The list is in docs/langgraph-clients.md ("Not supported").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from streamhil.protocol import ErrorCode

from ..errors import CommandError
from ..runtime import Runtime
from .http_access import http_endpoint

__all__ = ["NotSupported", "unsupported_routes"]

_PREFIXES = ("/assistants", "/threads", "/runs", "/store")
"""The Agent Server API's paths: whatever streamhil does not serve under them is answered here."""

_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_ANY = None  # any method
_ONE_PER_GRAPH = "there is one assistant per graph the server was started with"
_FEATURES: list[tuple[str | None, re.Pattern[str], str, str]] = [
    (method, re.compile(pattern), what, instead)
    for method, pattern, what, instead in [
        ("POST", r"/assistants/count", "counting assistants", "POST /assistants/search answers with x-pagination-total"),
        ("POST", r"/assistants", "creating assistants", _ONE_PER_GRAPH),
        ("PATCH", r"/assistants/[^/]+", "updating assistants", _ONE_PER_GRAPH),
        ("DELETE", r"/assistants/[^/]+", "deleting assistants", _ONE_PER_GRAPH),
        (_ANY, r"/assistants/[^/]+/(schemas|subgraphs)(/.*)?", "assistant schemas and subgraphs", ""),
        (_ANY, r"/assistants/[^/]+/(versions|latest)", "assistant versions", _ONE_PER_GRAPH),
        ("POST", r"/threads/count", "counting threads", "use POST /threads/search"),
        ("POST", r"/threads/prune", "pruning threads", ""),
        ("DELETE", r"/threads/[^/]+", "deleting threads", ""),
        ("POST", r"/threads/[^/]+/copy", "copying threads", ""),
        ("GET", r"/threads/[^/]+/stream", "a thread's runs as one stream", "join each run with GET /threads/{id}/runs/{run_id}/stream"),
        ("PATCH", r"/threads/[^/]+/state", "changing a checkpoint's metadata", ""),
        ("DELETE", r"/threads/[^/]+/runs/[^/]+", "deleting runs", ""),
        (_ANY, r"(/threads/[^/]+)?/runs/crons(/.*)?", "crons", ""),
        ("POST", r"/runs/batch", "batches of runs", ""),
        ("POST", r"/runs/cancel", "cancelling runs in bulk", "cancel each with POST /threads/{id}/runs/{run_id}/cancel"),
        ("POST", r"/runs(/stream|/wait)?", "stateless runs", "create a thread (POST /threads) and run on it"),
        (_ANY, r"/store(/.*)?", "the store", ""),
    ]
]


class NotSupported(CommandError):
    """A request for something streamhil-server does not do: ``not_supported`` with ``status``."""

    wire_code = "not_supported"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(ErrorCode.NOT_FOUND, message)
        self.http_status = status


def unsupported_routes(runtime: Runtime, served: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Catch-all routes for the API's paths, to be put after the ``served`` ones."""

    def allowed_at(request: Request) -> list[str]:
        """The methods ``served`` answers at the request's path (none: no endpoint there)."""
        methods = {
            m for route in served if isinstance(route, Route) and route.methods
            and route.matches(request.scope)[0] is Match.PARTIAL for m in route.methods
        }
        return sorted(methods - {"HEAD", "OPTIONS"})

    async def refuse(request: Request, identity: str) -> Response:
        path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
        allowed = allowed_at(request)
        feature = next((f for f in _FEATURES if f[0] in (None, request.method) and f[1].fullmatch(path)), None)
        if feature is not None:
            _, _, what, instead = feature
            message = f"{request.method} {path}: streamhil-server does not support {what}"
            message += f"; {instead}" if instead else ""
        else:
            message = f"{request.method} {path} is not an endpoint streamhil-server serves"
            message += f"; this path serves {', '.join(allowed)}" if allowed else ""
        raise NotSupported(message + " (see docs/langgraph-clients.md, Not supported)", 405 if allowed else 404)

    endpoint = http_endpoint(runtime, refuse)

    async def answer(request: Request) -> Response:
        response = await endpoint(request)
        if response.status_code == 405:
            response.headers["allow"] = ", ".join(allowed_at(request))
        return response

    routes: list[BaseRoute] = []
    for prefix in _PREFIXES:
        routes.append(Route(prefix, answer, methods=_EVERY_METHOD))
        routes.append(Route(prefix + "/{rest:path}", answer, methods=_EVERY_METHOD))
    return routes
