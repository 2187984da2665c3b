"""The server's tunables, with the protocol's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from streamhil.protocol import DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_SEND_QUEUE

__all__ = ["ServerSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """Limits and timeouts of one server.

    ``max_send_queue`` frames may wait for a slow socket before it is closed with 4008;
    ``ring_size`` recent events per thread are replayed from memory, older ones from SQLite;
    ``max_events_per_thread`` bounds each stored log (older cursors get ``cursor_too_old``).
    ``allowed_hosts``: ``Host`` names served besides loopback ones (``"*"``: any); None means
    loopback only on a server without tokens (DNS-rebinding defence) and any host with tokens.
    ``metrics_token``: the bearer token ``/metrics`` asks for; without it ``/metrics`` is open on
    a server without tokens and refused (403) on one with tokens.
    """

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_send_queue: int = DEFAULT_MAX_SEND_QUEUE
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS
    hello_timeout: float = 10.0
    close_timeout: float = 2.0
    ring_size: int = 256
    max_events_per_thread: int = 100_000
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_frame_bytes", "max_send_queue", "heartbeat_interval_ms", "ring_size", "max_events_per_thread"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServerSettings.{name} must be an integer >= 1, got {value!r}")
        if self.allowed_hosts is not None and not all(isinstance(h, str) and h for h in self.allowed_hosts):
            raise ValueError(f"ServerSettings.allowed_hosts must be non-empty host names, got {self.allowed_hosts!r}")
        if self.metrics_token is not None and not self.metrics_token:
            raise ValueError("ServerSettings.metrics_token must not be empty (None turns it off)")
        for name in ("hello_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerSettings.{name} must be > 0, got {getattr(self, name)!r}")
