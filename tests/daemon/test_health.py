"""`/healthz` tells the truth: degraded after a failed run, a recent file quarantine or a stale
lease; a run put off while backing off is neither a success nor a new failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from twin.engine import jobs
from twin.schedule import metrics
from twin.schedule.metrics import Deferred, Health, timed, wsgi_app


def _get(health: Health, path: str = "/healthz") -> dict:
    out: dict = {}

    def start(status: str, headers: list) -> None:
        out["status"] = status

    body = b"".join(wsgi_app(health)({"PATH_INFO": path}, start))
    return json.loads(body)


def test_a_fresh_daemon_is_ok() -> None:
    health = Health()
    health.set_role("leader")
    doc = _get(health)
    assert (doc["status"], doc["problems"]) == ("ok", [])


def test_a_failed_run_degrades_until_a_run_succeeds() -> None:
    health = Health()
    with pytest.raises(RuntimeError), timed(health, "monitor"):
        raise RuntimeError("database is gone")
    doc = _get(health)
    assert doc["status"] == "degraded"
    assert doc["problems"] == ["monitor: 1 failure(s) in a row: RuntimeError: database is gone"]
    with timed(health, "monitor"):
        pass
    assert _get(health)["status"] == "ok"


def test_runs_put_off_while_backing_off_keep_the_failure_count() -> None:
    # Before: a run waiting to retry counted as a success and reset failures_in_a_row to 0.
    health = Health()
    for _ in range(2):
        with pytest.raises(OSError), timed(health, "feed:remote"):
            raise OSError("unreachable")
    for _ in range(3):
        with timed(health, "feed:remote"):
            raise Deferred("backing off")
    job = _get(health)["jobs"]["feed:remote"]
    assert (job["failures_in_a_row"], job["deferred"], job["last_success"]) == (2, 3, None)
    assert _get(health)["status"] == "degraded"


def test_the_feed_job_reports_a_backing_off_poll_as_deferred(monkeypatch, tmp_path) -> None:
    health = Health()

    class FakeService:
        def __init__(self) -> None:
            self.health = health
            self.config = type("C", (), {"feed": lambda self, name: object()})()

    monkeypatch.setattr(jobs, "service_for", lambda config, base: FakeService())
    monkeypatch.setattr(jobs, "poll_feed", lambda service, settings: None)
    jobs.feed_job("twin.toml", str(tmp_path), "wall", "remote")
    job = health.document()["jobs"]["feed:remote"]
    assert (job["deferred"], job["failures_in_a_row"], job["last_success"]) == (1, 0, None)


def test_a_file_quarantined_in_the_last_hour_degrades() -> None:
    health = Health()
    health.file_quarantined("drop")
    now = datetime.now(UTC)
    assert health.document(now)["status"] == "degraded"
    assert health.document(now)["problems"][0].startswith("feed:drop: quarantined a file at ")
    assert health.document(now + timedelta(hours=1, seconds=1))["status"] == "ok"


def test_a_leader_whose_lease_is_stale_is_degraded() -> None:
    health = Health()
    health.set_role("leader")
    health.lease_held(lease_seconds=3)
    now = datetime.now(UTC)
    assert health.document(now + timedelta(seconds=2))["status"] == "ok"
    late = health.document(now + timedelta(seconds=10))
    assert late["status"] == "degraded" and late["problems"][0].startswith("leader: lease")
    # a standby holds no lease: nothing to be stale
    health.set_role("standby")
    assert health.document(now + timedelta(seconds=10))["status"] == "ok"


def test_metrics_count_quarantined_files_and_rows_per_feed() -> None:
    metrics.FILES_QUARANTINED.labels("health-test").inc()
    metrics.SIGNALS_QUARANTINED.labels("health-test").inc(4)
    text = metrics.metrics_text()[0].decode()
    assert 'twin_feed_files_quarantined_total{feed="health-test"} 1.0' in text
    assert 'twin_signals_quarantined_total{feed="health-test"} 4.0' in text
