"""What the daemon shows the outside: Prometheus metrics, the health document, and a small
HTTP server for `/healthz` and `/metrics` (or the routes to add to the console's app)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
FILES_QUARANTINED = Counter(
    "twin_feed_files_quarantined",
    "Feed files quarantined whole (held until re-queued), by feed",
    ["feed"],
    registry=REGISTRY,
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


# A feed that quarantined a file this recently makes the daemon `degraded`.
QUARANTINE_WINDOW = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


class Deferred(Exception):
    """Raised inside `timed` by a job that did not run because it is backing off after a
    failure: the run counts neither as a success nor as another failure."""


@dataclass
class JobHealth:
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""
    failures_in_a_row: int = 0
    runs: int = 0
    deferred: int = 0  # runs put off while backing off (neither success nor failure)
    last_seconds: float | None = None


@dataclass
class Health:
    """The daemon's own view of itself, served as `/healthz` (thread-safe)."""

    role: str = "starting"  # starting | leader | standby | stopping
    started_at: datetime = field(default_factory=_now)
    pid: int = 0
    jobs: dict[str, JobHealth] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # When each feed last quarantined a file whole.
    files_quarantined: dict[str, datetime] = field(default_factory=dict)
    # The leader's lease: when it was last confirmed held, and for how long that holds.
    lease_seconds: float = 15.0
    lease_confirmed: datetime | None = None

    def set_role(self, role: str) -> None:
        with self.lock:
            self.role = role
            if role == "leader":
                self.lease_confirmed = _now()
        LEADER.set(1 if role == "leader" else 0)

    def lease_held(self, lease_seconds: float | None = None) -> None:
        """The leader confirmed it still holds its lease (each leadership check)."""
        with self.lock:
            self.lease_confirmed = _now()
            if lease_seconds is not None:
                self.lease_seconds = lease_seconds

    def file_quarantined(self, feed: str) -> None:
        with self.lock:
            self.files_quarantined[feed] = _now()

    def deferred(self, job: str) -> None:
        """A run put off (backing off after a failure): the failure count stands."""
        with self.lock:
            self.jobs.setdefault(job, JobHealth()).deferred += 1

    def problems(self, now: datetime | None = None) -> list[str]:
        """Why the daemon is degraded (empty: it is ok)."""
        at = now or _now()
        out = []
        with self.lock:
            for name, job in sorted(self.jobs.items()):
                if job.failures_in_a_row:
                    out.append(
                        f"{name}: {job.failures_in_a_row} failure(s) in a row: {job.last_error}"
                    )
            for feed, when in sorted(self.files_quarantined.items()):
                if at - when <= QUARANTINE_WINDOW:
                    out.append(f"feed:{feed}: quarantined a file at {_stamp(when)}")
            if self.role == "leader" and self.lease_confirmed is not None:
                age = (at - self.lease_confirmed).total_seconds()
                if age > self.lease_seconds:
                    out.append(
                        f"leader: lease not confirmed for {age:.0f}s "
                        f"(lease_seconds {self.lease_seconds:g})"
                    )
        return out

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

    def document(self, now: datetime | None = None) -> dict[str, Any]:
        stamp = _stamp
        problems = self.problems(now)
        with self.lock:
            return {
                "status": "degraded" if problems else "ok",
                "problems": problems,
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
                        "deferred": j.deferred,
                        "last_seconds": j.last_seconds,
                    }
                    for name, j in sorted(self.jobs.items())
                },
                "files_quarantined": {
                    feed: stamp(when) for feed, when in sorted(self.files_quarantined.items())
                },
                "lease_confirmed": stamp(self.lease_confirmed),
            }


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@contextmanager
def timed(health: Health, job: str) -> Iterator[None]:
    """`with timed(health, "monitor"):` records the job's duration, success or failure."""
    started = time.perf_counter()
    try:
        yield
    except Deferred:
        health.deferred(job)
        return
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
    "FILES_QUARANTINED",
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
    "Deferred",
    "Health",
    "JobHealth",
    "metrics_text",
    "serve_in_thread",
    "timed",
    "wsgi_app",
]
