"""Keeps credentials out of the server's log: uvicorn writes every request's URL (its access log,
and ``"WebSocket /path?query" [accepted]`` in its error log), and ``/?token=…`` (the web UI's
login) and ``?token=`` on the v3 WebSocket put a token there.

:func:`redact_credentials_in_logs` adds a filter to uvicorn's loggers that replaces the value of
every query parameter whose name looks like a credential (``token``, ``api_key``, ``password``,
``secret``, ``auth``, ``session``, ``signature``…) with ``[redacted]``. The app's lifespan calls it
(idempotent), so the filter is on however the app is served.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactCredentials", "redact_credentials_in_logs", "redact_url"]

LOGGERS = ("uvicorn.access", "uvicorn.error")
REDACTED = "[redacted]"
_CREDENTIAL_PARAM = re.compile(
    r"(?P<name>[?&;](?:[^=&#\s\"]*?)(?:token|key|secret|passw|pwd|auth|session|signature|sig|credential|code)"
    r"[^=&#\s\"]*=)(?P<value>[^&#\s\"]*)",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """``text`` with the values of credential-looking query parameters replaced."""
    if "=" not in text:
        return text
    return _CREDENTIAL_PARAM.sub(lambda m: m.group("name") + (REDACTED if m.group("value") else ""), text)


class RedactCredentials(logging.Filter):
    """Rewrites a record's message and string arguments with :func:`redact_url` (never drops it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_credentials_in_logs() -> None:
    """Put :class:`RedactCredentials` on uvicorn's loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
