"""Tokens in URLs stay out of the server's log (security report 3, item 5): ``/?token=`` (the web
UI's login) and ``?token=`` on the v3 WebSocket are the documented ways to pass one, and uvicorn
writes every URL to its log."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from streamhil_server.log_redaction import RedactCredentials, redact_url

from .served import served


@pytest.mark.parametrize(
    "url,logged",
    [
        ("/?token=s3cret", "/?token=[redacted]"),
        ("/threads/t/stream/events?token=s3cret", "/threads/t/stream/events?token=[redacted]"),
        ("/x?a=1&api_key=k&b=2", "/x?a=1&api_key=[redacted]&b=2"),
        ("/?access_token=abc#top", "/?access_token=[redacted]#top"),
        ("/?password=p&session_id=s", "/?password=[redacted]&session_id=[redacted]"),
        ("/chat/?ws=ws://host/ws&token=", "/chat/?ws=ws://host/ws&token="),
        ("/threads?limit=10", "/threads?limit=10"),
    ],
)
def test_credential_looking_parameters_are_redacted(url: str, logged: str) -> None:
    assert redact_url(url) == logged


def test_the_filter_rewrites_a_records_arguments() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/?token=s3cret", "1.1", 307), None)
    assert RedactCredentials().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /?token=[redacted] HTTP/1.1" 307'


def test_the_server_log_never_holds_a_token_given_in_a_url(tmp_path: Path) -> None:
    websockets = pytest.importorskip("websockets.sync.client")
    with served(tmp_path / "demo.sqlite", "--token", "alice:s3cret-alice", "--log-level", "info") as server:
        assert httpx.get(server.base + "/?token=s3cret-alice").status_code == 307
        assert httpx.get(server.base + "/threads/t?api_key=s3cret-alice").status_code == 401  # (a key goes in a header)
        with websockets.connect(server.base.replace("http", "ws") + "/threads/t/stream/events?token=s3cret-alice"):
            pass
    assert "GET /?token=[redacted]" in server.log and "/stream/events?token=[redacted]" in server.log, server.log
    assert "s3cret-alice" not in server.log, server.log
