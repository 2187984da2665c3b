"""The browser UI: ``streamhil_web``'s files, found with importlib.resources.

``/`` redirects to ``/chat/`` (the chat UI, ``chat/index.html``) and a folder without its slash
(``/dashboard``) to the folder, keeping the query string (``?token=``, ``?ws=``); every other
file of the package is served at its path inside the package (``/lib/protocol.js``,
``/style.css``), so pages can use relative links and the app can be mounted under any prefix.
Only web file types are served, never the package's Python files.
"""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["web_routes", "WEB_PACKAGE"]

WEB_PACKAGE = "streamhil_web"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


def _root() -> Traversable | None:
    try:
        return importlib.resources.files(WEB_PACKAGE)
    except ModuleNotFoundError:
        return None


def _node(parts: list[str]) -> Traversable | None:
    """The package's file or folder at ``parts``; None outside it (``..``, hidden names)."""
    root = _root()
    if root is None or any(p in (".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    node: Traversable = root
    for part in parts:
        node = node.joinpath(part)
    return node


def _is_folder(path: str) -> bool:
    node = _node([p for p in path.split("/") if p])
    return node is not None and node.is_dir()


def _find(path: str) -> tuple[Traversable, str] | None:
    parts = [p for p in path.split("/") if p]
    node = _node(parts)
    if node is None:
        return None
    if node.is_dir():
        node = node.joinpath("index.html")
        parts.append("index.html")
    if not node.is_file():
        return None
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if parts and "." in parts[-1] else ""
    media = _TYPES.get(suffix.lower())
    if media is None:
        return None
    return node, media


def _moved(request: Request, target: str) -> RedirectResponse:
    """A redirect to ``target`` under the app's prefix that keeps the query string (``?token=``,
    ``?ws=``); a fragment never reaches the server, and the browser keeps it across a redirect."""
    query = request.url.query
    return RedirectResponse(request.scope.get("root_path", "") + target + (f"?{query}" if query else ""), status_code=307)


def _redirect(target: str):
    async def endpoint(request: Request) -> Response:
        return _moved(request, target)

    return endpoint


async def _asset(request: Request) -> Response:
    path = request.path_params.get("path", "")
    if path and not path.endswith("/") and _is_folder(path):  # relative links need the slash
        return _moved(request, "/" + path + "/")
    found = _find(path)
    if found is None:
        return PlainTextResponse(f"not found: /{path}", status_code=404)
    node, media = found
    return Response(node.read_bytes(), media_type=media, headers={"cache-control": "no-cache"})


def web_routes() -> list[BaseRoute]:
    """Routes serving the chat UI, the dashboard and their assets."""
    return [
        Route("/", _redirect("/chat/"), methods=["GET", "HEAD"]),
        Route("/dashboard", _redirect("/dashboard/"), methods=["GET", "HEAD"]),
        Route("/{path:path}", _asset, methods=["GET", "HEAD"]),
    ]
