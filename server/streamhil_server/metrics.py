"""The metrics endpoint: who may read it, and its Prometheus text form (the JSON form is
``ServerStatistics.to_json``)."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .runtime import ServerStatistics

__all__ = ["metrics_refusal", "prometheus_text"]


def metrics_refusal(request: Request, metrics_token: str | None, *, open_server: bool) -> Response | None:
    """Why ``/metrics`` is refused to this request, or None to serve it.

    With a metrics token: ``Authorization: Bearer <metrics token>`` is required (401). Without
    one: open on a server without tokens (it answers loopback hosts only), refused (403) on a
    server with tokens, whose users must not see each other's activity.
    """
    if metrics_token is not None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), metrics_token.encode()):
            return None
        return PlainTextResponse(
            "metrics need the metrics token: Authorization: Bearer <token>\n", status_code=401,
            headers={"www-authenticate": 'Bearer realm="streamhil-metrics"'},
        )
    if open_server:
        return None
    return PlainTextResponse(
        "metrics are off on a server with tokens: start it with --metrics-token to read them\n", status_code=403
    )


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
        ("streamhil_storage_available", "gauge", "1 while the storage's database can be reached", int(stats.storage_available)),
        ("streamhil_storage_outages_total", "counter", "times the storage was found unavailable", stats.storage_outages),
    ]
    cluster = stats.cluster
    if cluster is not None and "error" not in cluster:
        rows += [
            ("streamhil_cluster_processes_alive", "gauge", "processes serving the database (every process reports it)", cluster["alive"]),
            ("streamhil_cluster_leases_held", "gauge", "thread leases held by any process", cluster["leases_held"]),
            ("streamhil_cluster_takeovers_due", "gauge", "threads with open runs whose lease ran out", cluster["takeovers_due"]),
            ("streamhil_cluster_commands_waiting", "gauge", "forwarded commands not taken yet", cluster["commands"]["waiting"]),
            ("streamhil_cluster_commands_in_progress", "gauge", "forwarded commands taken, not answered", cluster["commands"]["in_progress"]),
        ]
    lines = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    if stats.leases is not None:
        name = "streamhil_leases_held"
        lines += [f"# HELP {name} thread leases this process holds", f"# TYPE {name} gauge", f"{name} {stats.leases['held']}"]
    return "\n".join(lines) + "\n"
