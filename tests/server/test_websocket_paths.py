"""A WebSocket upgrade to a path nothing serves gets HTTP 404 naming ``/ws``; it used to get the 403
of a refused Host or Origin, which sent a developer who mistyped the path to check
``--allow-origin`` and ``--allow-host`` (found by a tester).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from streamhil_server.demo_graphs import demo_graphs

from .conftest import LOCAL_WS, connect


@pytest.mark.parametrize("path", ["/wsx", "/ws/", "/websocket", "/threads/t-1/stream/eventz"])
def test_a_websocket_upgrade_to_a_mistyped_path_gets_404(make_client: Any, path: str) -> None:
    with make_client(demo_graphs()) as client:
        with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(LOCAL_WS.replace("/ws", path)):
            pass
        assert refused.value.status_code == 404
        assert f"no WebSocket endpoint at {path}" in refused.value.text and "/ws" in refused.value.text
        with connect(client) as wire:  # the right path still works
            wire.request("ping")
