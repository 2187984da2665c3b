"""The streamhil Python SDK: an asyncio client for the streamhil WebSocket protocol.

asyncio only (built on ``websockets.asyncio``)::

    async with open_client("ws://localhost:8000/ws", token="...") as client:
        run = await client.start_run("publish", {"topic": "otters"})
        async for event in run:
            if isinstance(event, InterruptEvent):
                await run.resume({"approved": True})
"""

from __future__ import annotations

from .backoff import backoff_delays as backoff_delays
from .client import Client as Client
from .client import ClientStatistics as ClientStatistics
from .client import open_client as open_client
from .cursor import ThreadCursor as ThreadCursor
from .cursor import Verdict as Verdict
from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .events import *  # noqa: F403
from .events import __all__ as _events_all
from .handles import Run as Run
from .handles import ThreadsWatch as ThreadsWatch
from .handles import ThreadWatch as ThreadWatch

__all__ = [
    "backoff_delays",
    "Client",
    "ClientStatistics",
    "open_client",
    "ThreadCursor",
    "Verdict",
    "Run",
    "ThreadWatch",
    "ThreadsWatch",
    *_errors_all,
    *_events_all,
]
