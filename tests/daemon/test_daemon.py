"""`twin daemon` as users run it: real processes, files dropped into the feed folder, real PostgreSQL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.daemon.conftest import (
    Daemon,
    Receiver,
    drop_signals,
    query,
    red_sea,
    wait_for,
    write_config,
)


def _applied(url: str) -> list[tuple[str, str]]:
    return [
        (r.id, r.state)
        for r in query(url, "SELECT id, state FROM incidents WHERE state = 'applied'")
    ]


@pytest.mark.postgres
def test_signals_become_an_applied_incident_and_a_notification(
    tmp_path: Path, pg_url: str, receiver: Receiver, daemons: list[Daemon]
) -> None:
    write_config(tmp_path, pg_url, hook=receiver.url)
    daemon = Daemon(tmp_path)
    daemons.append(daemon)
    wait_for(lambda: daemon.role() == "leader", 30, what="the daemon to lead")
    wait_for(
        lambda: query(pg_url, "SELECT count(*) FROM plan_routes")[0][0] == 60,
        30,
        what="shipments planned",
    )
    dropped = time.monotonic()
    drop_signals(tmp_path, "red-sea.jsonl", red_sea())
    wait_for(lambda: _applied(pg_url), 20, what="an applied incident")
    took = time.monotonic() - dropped
    assert took < 15, f"signals → applied incident took {took:.1f}s with 1s intervals"
    wait_for(lambda: receiver.keys, 10, what="the notification")
    outbox = query(pg_url, "SELECT id, delivered_at FROM notification_outbox")
    assert len(outbox) == 1 and outbox[0].delivered_at is not None
    assert receiver.keys == [outbox[0].id]

    health = daemon.health()
    assert health["role"] == "leader"
    assert {"feed:drop", "monitor", "replan"} <= set(health["jobs"])
    assert health["jobs"]["monitor"]["last_success"] is not None
    text = daemon.metrics()
    assert re.search(r'^twin_signals_ingested_total\{feed="drop"\} 2\.0$', text, re.MULTILINE)
    assert re.search(r'^twin_incidents\{state="applied"\} 1\.0$', text, re.MULTILINE)
    assert re.search(r'^twin_alerts_open\{severity="critical"\} [1-9]', text, re.MULTILINE)
    assert "twin_job_duration_seconds_bucket" in text and "twin_solver_seconds_count" in text
    # The jobs live in the same database, in their own table.
    jobs = {r.id for r in query(pg_url, "SELECT id FROM twin_scheduler_jobs")}
    assert jobs == {"feed:drop", "monitor", "replan"}

    started = time.monotonic()
    assert daemon.terminate() == 0
    assert time.monotonic() - started < 10
    assert '"msg": "daemon stopped"' in daemon.logs()


@pytest.mark.postgres
def test_one_leader_and_a_standby_takes_over(
    tmp_path: Path, pg_url: str, daemons: list[Daemon]
) -> None:
    write_config(tmp_path, pg_url)
    first, second = Daemon(tmp_path), Daemon(tmp_path)
    daemons += [first, second]
    wait_for(
        lambda: {first.role(), second.role()} == {"leader", "standby"},
        40,
        what="one leader, one standby",
    )
    leader, standby = (first, second) if first.role() == "leader" else (second, first)
    time.sleep(2)
    assert {leader.role(), standby.role()} == {"leader", "standby"}, "still exactly one leader"
    assert standby.health()["jobs"] == {}, "the standby runs no job"

    leader.kill()
    killed = time.monotonic()
    wait_for(lambda: standby.role() == "leader", 30, what="the standby to take over")
    assert time.monotonic() - killed < 30
    drop_signals(tmp_path, "after-takeover.jsonl", red_sea(source="later"))
    wait_for(
        lambda: query(pg_url, "SELECT count(*) FROM signals WHERE source = 'later'")[0][0] == 2,
        20,
        what="the new leader to ingest",
    )
    assert standby.terminate() == 0


@pytest.mark.postgres
def test_feed_failures_are_retried_and_never_stop_other_jobs(
    tmp_path: Path, pg_url: str, daemons: list[Daemon]
) -> None:
    write_config(tmp_path, pg_url, feed_url="http://127.0.0.1:9/unreachable")
    daemon = Daemon(tmp_path)
    daemons.append(daemon)
    (tmp_path / "feeds" / "broken.jsonl").write_text(
        '{"ts": "soon", "source": "x", "dimension": "security", "target": "SUEZ", "metric": "incidents_7d", "value": "many"}\n'
    )
    drop_signals(tmp_path, "good.jsonl", red_sea())
    wait_for(
        lambda: daemon.health()["jobs"].get("feed:remote", {}).get("failures_in_a_row", 0) >= 1,
        30,
        what="the unreachable feed to be reported",
    )
    wait_for(lambda: _applied(pg_url), 30, what="the other jobs to carry on")
    health = daemon.health()
    assert "ConnectError" in (health["jobs"]["feed:remote"]["last_error"] or "")
    assert health["jobs"]["feed:drop"]["failures_in_a_row"] == 0
    # health tells the truth: a failing feed and a quarantined file degrade it
    assert health["status"] == "degraded"
    assert any(p.startswith("feed:remote: ") for p in health["problems"])
    assert any(p.startswith("feed:drop: quarantined a file") for p in health["problems"])
    assert query(pg_url, "SELECT count(*) FROM quarantine")[0][0] >= 1
    assert re.search(
        r'^twin_feed_errors_total\{feed="remote"\} [1-9]', daemon.metrics(), re.MULTILINE
    )
    # Backoff: after the first failure the feed is left alone for 2s, 4s, ... not polled each second.
    runs = health["jobs"]["feed:remote"]["runs"]
    failures = health["jobs"]["feed:remote"]["failures_in_a_row"]
    assert failures <= runs
    assert daemon.terminate() == 0


def test_sqlite_second_daemon_refuses(tmp_path: Path, daemons: list[Daemon]) -> None:
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    write_config(tmp_path, url)
    first = Daemon(tmp_path)
    daemons.append(first)
    wait_for(lambda: first.role() == "leader", 30, what="the first daemon to lead")
    second = Daemon(tmp_path)
    daemons.append(second)
    assert second.proc.wait(30) == 1
    assert "another twin daemon" in second.logs() and str(first.proc.pid) in second.logs()
    assert first.role() == "leader"
    assert first.terminate() == 0
