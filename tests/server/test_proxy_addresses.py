"""Failed logins are counted per client address (security report 3, item 3): behind a reverse
proxy that uvicorn trusts (``--forwarded-allow-ips``; 127.0.0.1 by default) that is each client's
address from ``X-Forwarded-For``, so one client guessing locks out only itself; a proxy it does
not trust is one address for all its clients."""

from __future__ import annotations

from pathlib import Path

import httpx

from .served import served

BURST = 10  # ServerSettings.auth_failures_burst


def _search(base: str, key: str, client: str) -> int:
    headers = {"x-api-key": key, "x-forwarded-for": client}
    return httpx.post(base + "/threads/search", json={}, headers=headers).status_code


def test_behind_a_trusted_proxy_a_guessing_client_locks_out_only_itself(tmp_path: Path) -> None:
    with served(tmp_path / "demo.sqlite", "--token", "alice:a-key") as server:  # the proxy: 127.0.0.1
        assert [_search(server.base, f"guess-{i}", "203.0.113.9") for i in range(BURST)] == [401] * BURST
        assert _search(server.base, "a-key", "203.0.113.9") == 429
        assert _search(server.base, "a-key", "198.51.100.7") == 200  # another client behind the same proxy


def test_an_untrusted_proxy_is_one_address_for_all(tmp_path: Path) -> None:
    with served(tmp_path / "demo.sqlite", "--token", "alice:a-key", "--forwarded-allow-ips", "192.0.2.1") as server:
        assert [_search(server.base, f"guess-{i}", "203.0.113.9") for i in range(BURST)] == [401] * BURST
        assert _search(server.base, "a-key", "198.51.100.7") == 429  # X-Forwarded-For ignored: 127.0.0.1 is locked
