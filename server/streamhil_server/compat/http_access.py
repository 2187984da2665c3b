"""What every HTTP compatibility endpoint does around its own work: CORS, caller identity, JSON
bodies, and errors as ``{detail, code}`` with an HTTP status.

Identity: ``x-api-key`` (what the LangGraph SDKs send), else ``Authorization: Bearer``, else the
``streamhil_token`` cookie, mapped through the server's :class:`~..auth.Authenticator` — the same
tokens and identities as ``/ws``, so each identity sees only its own threads.

CORS: a request whose ``Origin`` is the server's own or in ``ServerSettings.allowed_origins``
(``--allow-origin``; ``"*"`` allows any) gets ``Access-Control-Allow-*`` headers, and its
preflight (``OPTIONS``) is answered with 204; other origins get no CORS headers (the browser
then refuses the response) and a 403 preflight.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from streamhil.protocol import ErrorCode
from streamhil.protocol.codec import wide_integer_problem

from ..auth import COOKIE_NAME, origin_allowed
from ..errors import CommandError, storage_unavailable
from ..runtime import Runtime
from .langgraph_views import error_body, error_status, for_surface

__all__ = ["Handler", "http_endpoint", "json_response", "read_json", "identify", "invalid"]

Handler = Callable[[Request, str], Awaitable[Response]]
_ALLOW_HEADERS = "authorization, content-type, x-api-key, x-auth-scheme, last-event-id, cache-control, accept"
HTTP_BUSY_HINT = "or send multitask_strategy='enqueue' to queue the run behind it ('interrupt' to cancel it)"
"""The end of a ``thread_busy`` detail on the LangGraph HTTP API and v3."""
_EXPOSE_HEADERS = "content-location, location, x-pagination-next, x-pagination-total"


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response (orjson; tuples become arrays, odd objects their repr)."""
    body = orjson.dumps(data, default=repr, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def invalid(message: str, path: str | None = None) -> CommandError:
    """A 422 for a request body the endpoint cannot use."""
    return CommandError(ErrorCode.INVALID_ARGUMENT, message, path=path)


async def read_json(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when empty and not ``required``)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise invalid("the request needs a JSON object body")
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CommandError(ErrorCode.BAD_JSON, f"the body is not JSON: {exc}") from None
    if body is None and not required:
        return {}
    if not isinstance(body, dict):
        raise invalid(f"the body must be a JSON object, got {type(body).__name__}")
    wide = wide_integer_problem(raw, body)  # orjson would have made it a float
    if wide is not None:
        raise CommandError(ErrorCode.INVALID_FIELD, wide[1], path=wide[0])
    return body


def identify(runtime: Runtime, request: HTTPConnection) -> str:
    """The caller's identity (from a request or a WebSocket upgrade), or ``unauthenticated`` (401)."""
    auth = runtime.auth
    if auth.open:
        return auth.identify(None) or ""
    token = request.headers.get("x-api-key")
    if not token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        token = request.cookies.get(COOKIE_NAME)
    identity = auth.identify(token) if token else None
    if identity is None:
        raise CommandError(
            ErrorCode.UNAUTHENTICATED,
            "missing or unknown API key: send it as x-api-key (or Authorization: Bearer)",
        )
    return identity


def _cors_headers(runtime: Runtime, request: Request) -> dict[str, str] | None:
    origin = request.headers.get("origin")
    if origin is None or not origin_allowed(request, runtime.settings.allowed_origins):
        return None
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": _EXPOSE_HEADERS,
        "vary": "Origin",
    }


def http_endpoint(runtime: Runtime, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running ``handler(request, identity)`` with CORS and error mapping."""

    async def endpoint(request: Request) -> Response:
        cors = _cors_headers(runtime, request)
        if request.method == "OPTIONS":
            if cors is None:
                return Response(status_code=403 if "origin" in request.headers else 204)
            asked = request.headers.get("access-control-request-headers")
            return Response(status_code=204, headers={
                **cors,
                "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                "access-control-allow-headers": asked or _ALLOW_HEADERS,
                "access-control-max-age": "600",
            })
        try:
            response = await handler(request, identify(runtime, request))
        except CommandError as exc:
            exc = for_surface(exc, HTTP_BUSY_HINT)
            response = json_response(error_body(exc), error_status(exc))
        except Exception as exc:
            unavailable = storage_unavailable(exc)
            if unavailable is None:
                raise
            response = json_response(error_body(unavailable), error_status(unavailable))  # 503: retry later
        if cors is not None:
            response.headers.update(cors)
        return response

    return endpoint
