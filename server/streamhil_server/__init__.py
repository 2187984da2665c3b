"""The streamhil WebSocket server: ``create_app()`` builds the Starlette app; ``streamhil-server``
(``python -m streamhil_server``) runs it with uvicorn."""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("streamhil_server needs the 'server' extra: pip install 'streamhil[server]'") from exc

from .app import create_app as create_app
from .registry import GraphRegistry as GraphRegistry
from .settings import ServerSettings as ServerSettings

__all__ = ["create_app", "GraphRegistry", "ServerSettings"]
