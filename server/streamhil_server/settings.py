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
    ``event_flush_delay`` (seconds, SQLite only) is how long an event may wait for its step's
    checkpoint write before the hub stores it on its own (a long step still streams);
    ``max_idle_threads`` idle threads, and the latest checkpoints of ``head_cache_size`` thread
    namespaces, are kept in memory (the others are read from the storage when needed).
    ``allowed_hosts``: ``Host`` names served besides loopback ones (``"*"``: any); None means
    loopback only on a server without tokens (DNS-rebinding defence) and any host with tokens.
    ``metrics_token``: the bearer token ``/metrics`` asks for; without it ``/metrics`` is open on
    a server without tokens and refused (403) on one with tokens.

    Fairness (docs/server.md, "Limits and defences"): a connection's send queue is bounded in
    bytes too (``max_send_queue_bytes``); a connection may have ``max_commands_in_flight``
    unanswered commands (``too_many_requests`` past it) and send ``max_frames_per_second`` frames
    (past it the server reads its socket more slowly); an identity — on a server without tokens, a
    connection — may have ``max_runs_per_identity`` runs queued or active (``too_many_runs``),
    and on a server with tokens at most ``max_concurrent_runs_per_identity`` of them execute at
    once. ``get_history`` replies are cut to ``max_reply_bytes`` (with ``next_before``). An
    address that failed authentication ``auth_failures_burst`` times (refilled at
    ``auth_failures_per_minute``) is refused (4429 on a WebSocket, 429 on HTTP) until it has waited,
    on every surface that checks a token (:mod:`.token_check`).
    ``lease_ttl`` (PostgreSQL, several processes): seconds a process's lease on a thread lasts
    unless renewed (every third of it); a process that dies has its threads taken over within
    about ``lease_ttl * 4 / 3`` seconds.
    ``batch_frames``: a client that asks for it in ``hello`` gets the frames that wait in its send
    queue together, as one WebSocket message holding a JSON array of them (fewer socket writes;
    docs/protocol.md section 1.1); off, every frame is a message of its own.
    ``agui_legacy_interrupts``: AG-UI runs that pause send the legacy ``CUSTOM on_interrupt``
    events and a ``RUN_FINISHED`` without outcome (CopilotKit v1-era apps), not the outcome.
    """

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_send_queue: int = DEFAULT_MAX_SEND_QUEUE
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS
    hello_timeout: float = 10.0
    close_timeout: float = 2.0
    ring_size: int = 256
    max_events_per_thread: int = 100_000
    allowed_origins: tuple[str, ...] = ()
    event_flush_delay: float = 0.05
    max_idle_threads: int = 1000
    head_cache_size: int = 10_000
    allowed_hosts: tuple[str, ...] | None = None
    metrics_token: str | None = None
    max_send_queue_bytes: int = 16 * 1024 * 1024
    max_commands_in_flight: int = 128
    max_frames_per_second: int = 1_000
    max_runs_per_identity: int = 1_000
    max_concurrent_runs_per_identity: int = 16
    max_reply_bytes: int = 4 * 1024 * 1024
    auth_failures_burst: int = 10
    auth_failures_per_minute: int = 30
    agui_legacy_interrupts: bool = False
    batch_frames: bool = True
    lease_ttl: float = 6.0

    def __post_init__(self) -> None:
        for name in ("max_frame_bytes", "max_send_queue", "heartbeat_interval_ms", "ring_size", "max_events_per_thread",
                     "max_send_queue_bytes", "max_commands_in_flight", "max_frames_per_second", "max_runs_per_identity",
                     "max_concurrent_runs_per_identity", "max_reply_bytes", "auth_failures_burst",
                     "auth_failures_per_minute", "max_idle_threads", "head_cache_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServerSettings.{name} must be an integer >= 1, got {value!r}")
        if not 0 <= self.event_flush_delay <= 60:
            raise ValueError(f"ServerSettings.event_flush_delay must be between 0 and 60 seconds, got {self.event_flush_delay!r}")
        if self.allowed_hosts is not None and not all(isinstance(h, str) and h for h in self.allowed_hosts):
            raise ValueError(f"ServerSettings.allowed_hosts must be non-empty host names, got {self.allowed_hosts!r}")
        if self.metrics_token is not None and not self.metrics_token:
            raise ValueError("ServerSettings.metrics_token must not be empty (None turns it off)")
        if not 0.2 <= self.lease_ttl <= 3600:
            raise ValueError(f"ServerSettings.lease_ttl must be between 0.2 and 3600 seconds, got {self.lease_ttl!r}")
        for name in ("hello_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerSettings.{name} must be > 0, got {getattr(self, name)!r}")
