"""Which event loop runs in this thread, without importing one (sniffio's method, on anyio's backends)."""

from __future__ import annotations

import sys

__all__ = ["current_backend"]


def current_backend() -> str | None:
    """``"trio"``, ``"asyncio"``, or None when no event loop runs in this thread."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        return "asyncio"
    return None
