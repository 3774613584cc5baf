"""What the daemon shows the outside: Prometheus metrics, the health document, and a small
HTTP server for `/healthz` and `/metrics` (or the routes to add to the console's app)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
"""twin's own registry (not the global one): tests and several daemons in one process stay apart."""

SIGNALS_INGESTED = Counter(
    "twin_signals_ingested", "Signals newly stored, by feed", ["feed"], registry=REGISTRY
)
SIGNALS_QUARANTINED = Counter(
    "twin_signals_quarantined", "Feed rows quarantined, by feed", ["feed"], registry=REGISTRY
)
FEED_ERRORS = Counter(
    "twin_feed_errors", "Feed polls that failed, by feed", ["feed"], registry=REGISTRY
)
SCORES_COMPUTED = Counter(
    "twin_scores_computed", "Risk scores computed by monitor passes", registry=REGISTRY
)
ALERTS_OPEN = Gauge(
    "twin_alerts_open", "Open alert episodes, by severity", ["severity"], registry=REGISTRY
)
INCIDENTS = Gauge("twin_incidents", "Incidents, by state", ["state"], registry=REGISTRY)
NOTIFICATIONS = Counter(
    "twin_notifications", "Notification deliveries, by outcome", ["outcome"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "twin_job_duration_seconds",
    "Wall time of each daemon job",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
JOB_FAILURES = Counter("twin_job_failures", "Jobs that raised, by job", ["job"], registry=REGISTRY)
SOLVER_SECONDS = Histogram(
    "twin_solver_seconds",
    "Planner time per re-plan (build + solve)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
LEADER = Gauge("twin_leader", "1 while this daemon holds the leadership, else 0", registry=REGISTRY)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobHealth:
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""
    failures_in_a_row: int = 0
    runs: int = 0
    last_seconds: float | None = None


@dataclass
class Health:
    """The daemon's own view of itself, served as `/healthz` (thread-safe)."""

    role: str = "starting"  # starting | leader | standby | stopping
    started_at: datetime = field(default_factory=_now)
    pid: int = 0
    jobs: dict[str, JobHealth] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_role(self, role: str) -> None:
        with self.lock:
            self.role = role
        LEADER.set(1 if role == "leader" else 0)

    def ran(self, job: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            entry = self.jobs.setdefault(job, JobHealth())
            entry.runs += 1
            entry.last_seconds = round(seconds, 4)
            if error is None:
                entry.last_success, entry.failures_in_a_row = _now(), 0
            else:
                entry.last_failure, entry.last_error = _now(), error[:500]
                entry.failures_in_a_row += 1

    def document(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        with self.lock:
            return {
                "status": "ok",
                "role": self.role,
                "pid": self.pid,
                "started_at": stamp(self.started_at),
                "jobs": {
                    name: {
                        "last_success": stamp(j.last_success),
                        "last_failure": stamp(j.last_failure),
                        "last_error": j.last_error or None,
                        "failures_in_a_row": j.failures_in_a_row,
                        "runs": j.runs,
                        "last_seconds": j.last_seconds,
                    }
                    for name, j in sorted(self.jobs.items())
                },
            }


@contextmanager
def timed(health: Health, job: str) -> Iterator[None]:
    """`with timed(health, "monitor"):` records the job's duration, success or failure."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        seconds = time.perf_counter() - started
        JOB_SECONDS.labels(job).observe(seconds)
        JOB_FAILURES.labels(job).inc()
        health.ran(job, seconds, f"{type(exc).__name__}: {exc}")
        raise
    seconds = time.perf_counter() - started
    JOB_SECONDS.labels(job).observe(seconds)
    health.ran(job, seconds)


HEALTH = Health()
"""This process's health (one daemon per process)."""


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def wsgi_app(health: Health) -> Callable[..., Any]:
    """A WSGI app answering `/healthz` (JSON) and `/metrics` (Prometheus text)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/healthz", "/health"):
            body = json.dumps(health.document()).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == "/metrics":
            body, kind = metrics_text()
            start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_in_thread(health: Health, host: str, port: int) -> WSGIServer:
    """Serve `/healthz` and `/metrics` on host:port from a daemon thread; `.shutdown()` stops it."""
    server = make_server(
        host, port, wsgi_app(health), server_class=_ThreadingServer, handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, name="twin-http", daemon=True).start()
    return server


__all__ = [
    "ALERTS_OPEN",
    "FEED_ERRORS",
    "INCIDENTS",
    "JOB_FAILURES",
    "JOB_SECONDS",
    "LEADER",
    "NOTIFICATIONS",
    "REGISTRY",
    "SCORES_COMPUTED",
    "SIGNALS_INGESTED",
    "SIGNALS_QUARANTINED",
    "SOLVER_SECONDS",
    "Health",
    "JobHealth",
    "metrics_text",
    "serve_in_thread",
    "timed",
    "wsgi_app",
]
