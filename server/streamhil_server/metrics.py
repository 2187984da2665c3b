"""The metrics endpoint's Prometheus text form (the JSON form is ``ServerStatistics.to_json``)."""

from __future__ import annotations

from .runtime import ServerStatistics

__all__ = ["prometheus_text"]


def prometheus_text(stats: ServerStatistics) -> str:
    """``stats`` in the Prometheus text exposition format."""
    rows = [
        ("streamhil_connections", "gauge", "open WebSocket connections", stats.connections),
        ("streamhil_threads", "gauge", "threads the server knows", stats.runs.threads),
        ("streamhil_runs_active", "gauge", "runs executing now", stats.runs.active_runs),
        ("streamhil_runs_queued", "gauge", "runs waiting for their thread", stats.runs.queued_runs),
        ("streamhil_runs_started_total", "counter", "runs started since the process began", stats.runs.runs_started),
        ("streamhil_runs_finished_total", "counter", "runs that reached a terminal event", stats.runs.runs_finished),
        ("streamhil_interrupts_pending", "gauge", "interrupts waiting for an answer", stats.runs.interrupts_pending),
        ("streamhil_events_total", "counter", "events published", stats.events.events_total),
        ("streamhil_events_per_second", "gauge", "events per second over the last 10 s", stats.events.events_per_second),
        ("streamhil_watchers", "gauge", "thread subscriptions", stats.events.watchers),
        ("streamhil_slow_consumers_closed_total", "counter", "connections closed with 4008", stats.slow_consumers_closed),
    ]
    lines = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(lines) + "\n"
