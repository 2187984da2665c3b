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
    """

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_send_queue: int = DEFAULT_MAX_SEND_QUEUE
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS
    hello_timeout: float = 10.0
    close_timeout: float = 2.0
    ring_size: int = 256
    max_events_per_thread: int = 100_000
    allowed_origins: tuple[str, ...] = ()
    agui_legacy_interrupts: bool = False
    """AG-UI runs that pause send the legacy ``CUSTOM on_interrupt`` events and a ``RUN_FINISHED``
    without outcome (CopilotKit v1-era apps) instead of the interrupt outcome."""

    def __post_init__(self) -> None:
        for name in ("max_frame_bytes", "max_send_queue", "heartbeat_interval_ms", "ring_size", "max_events_per_thread"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServerSettings.{name} must be an integer >= 1, got {value!r}")
        for name in ("hello_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerSettings.{name} must be > 0, got {getattr(self, name)!r}")
