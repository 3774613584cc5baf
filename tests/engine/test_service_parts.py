"""The daemon's steps, part by part: the shipments file read only when it changes, the outbox
stamped with the pass's `now`, the console demo on the library's own playbook."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twin.api.demo import PLAYBOOK_FILE, demo_signals, drop_feed_file, write_demo
from twin.domain.incidents import Notification
from twin.engine import context
from twin.engine.context import Service
from twin.engine.outbox import deliver_pending
from twin.engine.passes import replan_pass
from twin.engine.service import (
    forget_services,
    incidents_of,
    routes_of,
    run_once,
    service_for,
    shipments_of,
)
from twin.engine.stored import load_engine_state
from twin.files.shipments import load_shipments, write_shipments
from twin.store.db import session_scope
from twin.store.routes import enqueue_notifications, list_outbox

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, Service]]:
    forget_services()
    config = write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=T0)
    yield config, service_for(config, base=tmp_path)
    forget_services()


def test_the_shipments_file_is_read_again_only_when_it_changes(
    demo: tuple[Path, Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, service = demo
    reads: list[Path] = []

    def counting(path: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        reads.append(path)
        return load_shipments(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(context, "load_shipments", counting)
    replan_pass(service, T0)
    replan_pass(service, T0 + DAY)
    assert reads == [], "an unchanged file is not read again"
    path = config.parent / "shipments.csv"
    # Touched but the same bytes: its hash says so, it is not parsed again.
    later = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    replan_pass(service, T0 + DAY)
    assert reads == []
    # Changed: read once, and the new shipment is stored.
    ships, _ = load_shipments(path, service.network)
    extra = ships[0].model_copy(update={"id": "S9"})
    write_shipments([*ships, extra], path)
    replan_pass(service, T0 + DAY)
    replan_pass(service, T0 + DAY)
    assert reads == [path]
    assert "S9" in {s.id for s in shipments_of(service)}


def test_the_outbox_is_stamped_with_the_given_now(demo: tuple[Path, Service]) -> None:
    _, service = demo
    note = Notification(channel="nowhere", summary="SUEZ closed", severity="critical")
    with session_scope(service.db) as session:
        enqueue_notifications(session, items=[("INC-x", note)], at=T0)
    assert deliver_pending(service, T0 + DAY) == 0
    with session_scope(service.db) as session:
        (item,) = list_outbox(session)
    assert item.delivered_at is not None
    assert item.delivered_at.replace(tzinfo=UTC) == T0 + DAY
    assert "no channel named 'nowhere'" in item.outcome


def test_the_demo_runs_the_library_playbook_as_shipped(tmp_path: Path) -> None:
    write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=T0)
    copied = tmp_path / "playbooks" / "avoid-closed-chokepoint.yaml"
    assert copied.read_bytes() == PLAYBOOK_FILE.read_bytes()
    assert PLAYBOOK_FILE.parent.name == "playbooks" and PLAYBOOK_FILE.is_file()


def test_the_daemon_lifts_an_avoid_when_its_duration_runs_out(tmp_path: Path) -> None:
    """The stored path: an `avoid … until: 12h` applied by a pass stays in force on the
    passes after it (rebuilt from the stored incident) and is gone 12 hours after it was
    applied, while the alert is still open."""
    forget_services()
    config = write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=T0)
    (tmp_path / "playbooks" / "avoid-closed-chokepoint.yaml").write_text(
        "id: avoid-for-a-while\n"
        "description: avoid the chokepoint for twelve hours\n"
        "match: {dimension: security, target_kind: chokepoint, severity: critical}\n"
        'actions:\n  - avoid: {target: "{{ alert.target }}", until: 12h}\n'
        "approval: auto\nrollback: never\n",
        encoding="utf-8",
    )
    drop_feed_file(tmp_path, "suez.jsonl", demo_signals(T0))
    service = service_for(config, base=tmp_path)
    applied_at = None
    for step in range(9):
        at = T0 + step * timedelta(hours=6)
        report = run_once(config, at, base=tmp_path)
        if any(i.state.value == "applied" for i in report.incidents):
            applied_at = at
            break
    assert applied_at is not None, "the playbook was applied"

    def in_force(at: datetime) -> list[tuple[str, str, str]]:
        with session_scope(service.db) as session:
            loaded = load_engine_state(service, session, at)
        assert loaded.state.alert_state.open_alerts, "the Suez alert is still open"
        return [(i.kind, i.target, i.until) for i in loaded.state.in_force]

    assert in_force(applied_at + timedelta(hours=11)) == [("avoid", "SUEZ", "12h")]
    assert in_force(applied_at + timedelta(hours=12)) == []
    forget_services()


def test_a_pass_whose_replan_budget_runs_out_stores_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With `[monitor] replan_budget` spent before the re-plan starts, the Suez incident is
    stored proposed, nothing re-routed, its reason says the shipments kept their routes, and
    the daemon's log names the incident."""
    forget_services()
    config = write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=T0)
    with config.open("a", encoding="utf-8") as toml:
        toml.write("\n[monitor]\nreplan_budget = 0.000001\n")
    drop_feed_file(tmp_path, "suez.jsonl", demo_signals(T0))
    service = service_for(config, base=tmp_path)
    opened = None
    with caplog.at_level("WARNING", logger="twin.daemon"):
        for step in range(9):
            report = run_once(config, T0 + step * timedelta(hours=6), base=tmp_path)
            if report.incidents:
                opened = report
                break
    assert opened is not None, "the Suez alert opened an incident"
    (incident,) = incidents_of(service)
    assert incident.state.value == "proposed" and incident.diff.status == "time_limit"
    assert incident.diff.changes == () and opened.rerouted == {}
    suez = [
        sid
        for sid, routes in routes_of(service).items()
        for a in routes
        if any("SUEZ" in lane for lane in a.path)
    ]
    assert suez, "the exposed freight still goes through Suez"
    (reason,) = [r for r in incident.needs_approval if "replan_budget" in r]
    assert "not re-planned" in reason and "keep their current routes" in reason
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(incident.id in m and "not re-planned" in m for m in warned), warned
    forget_services()
