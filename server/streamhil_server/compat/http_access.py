"""What every HTTP compatibility endpoint does around its own work: origin and CSRF checks, CORS,
caller identity, JSON bodies, and errors as ``{detail, code}`` with an HTTP status.

Identity: ``x-api-key`` (what the LangGraph SDKs send), else ``Authorization: Bearer``, else the
``streamhil_token`` cookie, mapped through the server's :class:`~..auth.Authenticator` — the same
tokens and identities as ``/ws``, so each identity sees only its own threads. A wrong token counts
against the caller's address as on ``/ws`` (:mod:`..token_check`): past the budget, 429 with
``Retry-After``.

Origins: a request whose ``Origin`` is neither the server's own nor in
``ServerSettings.allowed_origins`` (``--allow-origin``; ``"*"`` allows any) is refused with 403
``forbidden`` before anything runs, whatever its method (a browser sends ``Origin`` on every
cross-origin request but plain navigations, so another site's page cannot make it act with the
cookie, even with a "simple" request the browser does not preflight). Allowed origins get
``Access-Control-Allow-*`` headers and their preflight (``OPTIONS``) is answered with 204.

Ambient credentials: a request that changes something (not GET/HEAD) authenticated by the cookie,
or on a server without tokens, must send its body as ``Content-Type: application/json``, which no
cross-site form or ``no-cors`` request can; it is refused with 403 ``forbidden`` otherwise. Clients
that send their key in a header are not concerned (a browser never adds one cross-site).
GET requests change nothing.

Bodies: JSON objects nested at most 100 levels (as on ``/ws``), else 422 ``invalid_field``
naming the path, before anything is created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from streamhil.protocol import ErrorCode
from streamhil.protocol.codec import loads_body, nesting_problem, wide_integer_problem
from streamhil.protocol.messages import MAX_NESTING_DEPTH

from ..auth import COOKIE_NAME, origin_allowed
from ..errors import CommandError, storage_unavailable
from ..runtime import Runtime
from ..token_check import TooManyAttempts, check_token
from .langgraph_views import error_body, error_status, for_surface

__all__ = ["Handler", "http_endpoint", "json_response", "read_json", "identify", "invalid", "presented_token",
           "forgeable_body", "AMBIENT_BODY_REFUSAL"]

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


MAX_BODY = 8 * 1024 * 1024
"""Bytes a request body may have (the LangGraph API, v3 commands, AG-UI)."""


async def read_limited_body(request: Request) -> bytes | None:
    """The request's body, or None as soon as it grows past :data:`MAX_BODY` (never held
    whole); kept on ``request.state``, so a second call returns it without reading again."""
    kept = getattr(request.state, "limited_body", None)
    if kept is not None:
        return kept
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    body = request.state.limited_body = b"".join(chunks)
    return body


def _too_large() -> CommandError:
    return CommandError(ErrorCode.FRAME_TOO_LARGE, f"the body is larger than {MAX_BODY} bytes", details={"max_body_bytes": MAX_BODY})


async def read_json(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when empty and not ``required``)."""
    raw = await read_limited_body(request)
    if raw is None:
        raise _too_large()
    if not raw.strip():
        if required:
            raise invalid("the request needs a JSON object body")
        return {}
    try:
        body = loads_body(raw)
    except orjson.JSONDecodeError as exc:
        raise CommandError(ErrorCode.BAD_JSON, f"the body is not JSON: {exc}") from None
    if body is None and not required:
        return {}
    if not isinstance(body, dict):
        raise invalid(f"the body must be a JSON object, got {type(body).__name__}")
    deep = nesting_problem(body)  # orjson could not store it (254 levels), nor /ws take it
    if deep is not None:
        raise CommandError(ErrorCode.INVALID_FIELD, deep[1], path=deep[0], details={"max_nesting_depth": MAX_NESTING_DEPTH})
    wide = wide_integer_problem(raw, body)  # orjson would have made it a float
    if wide is not None:
        raise CommandError(ErrorCode.INVALID_FIELD, wide[1], path=wide[0])
    return body


def presented_token(request: HTTPConnection) -> tuple[str | None, bool]:
    """The token the request presents, and whether it came from the cookie (a browser sends
    that by itself, also on requests another site makes)."""
    token = request.headers.get("x-api-key")
    if not token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if token:
        return token, False
    cookie = request.cookies.get(COOKIE_NAME)
    return cookie or None, bool(cookie)


def identify(runtime: Runtime, request: HTTPConnection, token: str | None = None) -> str:
    """The caller's identity (from a request or a WebSocket upgrade; ``token`` when given, else
    the one it presents), or ``unauthenticated`` (401), or ``too_many_requests`` (429, with
    ``details.retry_after_s``) when its address failed too often."""
    auth = runtime.auth
    if auth.open:
        return auth.identify(None) or ""
    if token is None:
        token, _ = presented_token(request)
    try:
        identity = check_token(auth, runtime.failed_auth, request, token)
    except TooManyAttempts as exc:
        raise CommandError(
            ErrorCode.TOO_MANY_REQUESTS, f"too many failed attempts from this address; retry in {exc.retry_after_header} s",
            details={"retry_after_s": int(exc.retry_after_header)},
        ) from None
    if identity is None:
        raise CommandError(
            ErrorCode.UNAUTHENTICATED,
            "missing or unknown API key: send it as x-api-key (or Authorization: Bearer)",
        )
    return identity


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AMBIENT_BODY_REFUSAL = (
    "a request authenticated by the streamhil_token cookie (or sent to a server without tokens) "
    "must send its body as Content-Type: application/json"
)


def forgeable_body(runtime: Runtime, request: Request, body: bytes) -> bool:
    """Whether ``body`` could come from another site's form or ``no-cors`` request: it is not
    sent as JSON, and the caller's credentials are ambient (the cookie, or a server without
    tokens), not a key in a header, which a browser never adds cross-site."""
    if not (runtime.auth.open or presented_token(request)[1]):
        return False
    content_type = request.headers.get("content-type")
    if content_type is None:
        return bool(body.strip())
    media = content_type.partition(";")[0].strip().lower()
    return not (media == "application/json" or (media.startswith("application/") and media.endswith("+json")))


async def _forged_body_refusal(runtime: Runtime, request: Request) -> CommandError | None:
    """Why this request's body may be another site's forgery (see the module's docstring), or
    None. Called once the caller is identified: the body is read only for ambient credentials
    (kept: the handler reads it again), and only up to :data:`MAX_BODY`."""
    if request.method in _SAFE_METHODS or not (runtime.auth.open or presented_token(request)[1]):
        return None
    body = await read_limited_body(request)
    if body is None:
        return _too_large()
    if forgeable_body(runtime, request, body):
        return CommandError(ErrorCode.FORBIDDEN, AMBIENT_BODY_REFUSAL)
    return None


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


def _retry_after(error: CommandError) -> dict[str, str]:
    """``Retry-After`` for a 429 that says how long to wait."""
    wait = (error.details or {}).get("retry_after_s") if error.code == ErrorCode.TOO_MANY_REQUESTS else None
    return {"retry-after": str(wait)} if isinstance(wait, int) else {}


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
            if not origin_allowed(request, runtime.settings.allowed_origins):
                raise CommandError(ErrorCode.FORBIDDEN, f"origin {request.headers.get('origin')!r} is not allowed")
            identity = identify(runtime, request)  # 401 / 429 before any body is read
            refusal = await _forged_body_refusal(runtime, request)
            if refusal is not None:
                raise refusal
            response = await handler(request, identity)
        except CommandError as exc:
            exc = for_surface(exc, HTTP_BUSY_HINT)
            response = json_response(error_body(exc), error_status(exc), _retry_after(exc))
        except Exception as exc:
            unavailable = storage_unavailable(exc)
            if unavailable is None:
                raise
            response = json_response(error_body(unavailable), error_status(unavailable))  # 503: retry later
        if cors is not None:
            response.headers.update(cors)
        return response

    return endpoint
