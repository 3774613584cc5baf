"""What applied actions leave in force, and for how long: `until: clear` lasts until the
incident is rolled back, `until: <duration>` runs out that long after it was applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from tests.engine.test_engine import DAY, NOW, _closure_signals
from tests.playbook.chain_world import mini_network
from twin.domain.records import Shipment
from twin.engine.engine import Engine, EngineSettings
from twin.engine.state import EngineState
from twin.feeds.ingest import ingest_signals
from twin.playbook.actions import in_force
from twin.playbook.schema import Playbook

HOURS = timedelta(hours=1)


def _playbook(until: str) -> Playbook:
    return Playbook.model_validate(
        yaml.safe_load(
            f"""
id: avoid-for-a-while
description: avoid the chokepoint for a fixed time, whatever the alert does
match: {{dimension: security, target_kind: chokepoint, severity: critical}}
actions:
  - avoid: {{target: "{{{{ alert.target }}}}", until: {until}}}
  - derate: {{target: YTN-RTM-CAPE, by_pct: 50, until: {until}}}
approval: auto
rollback: never
"""
        )
    )


def _ship(sid: str, ready_days: float) -> Shipment:
    return Shipment(
        id=sid,
        origin="CN-SZ",
        destination="NL-VENLO",
        units=10,
        ready_at=NOW + ready_days * DAY,
        due_at=NOW + (ready_days + 60) * DAY,
    )


def _applied(until: str) -> tuple[Engine, timedelta]:
    """An engine whose playbook was applied, and when (from NOW)."""
    engine = Engine.from_state(mini_network(), [_playbook(until)], EngineState(), EngineSettings())
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    for step in range(8):
        at = step * 6 * HOURS
        report = engine.tick(NOW + at)
        if any(i.state.value == "applied" for i in report.incidents):
            return engine, at
    raise AssertionError("the playbook was never applied")


def _lanes(engine: Engine, sid: str) -> list[str]:
    return [leg.lane for a in engine.routes[sid] for leg in a.legs]


def test_a_duration_lifts_what_the_actions_left_in_force() -> None:
    engine, applied = _applied("12h")
    items = engine.in_force
    assert [(i.kind, i.target, i.until) for i in items] == [
        ("avoid", "SUEZ", "12h"),
        ("derate", "YTN-RTM-CAPE", "12h"),
    ]
    assert {i.ends_at for i in items} == {NOW + applied + 12 * HOURS}
    # While in force, new freight is planned round the Cape, not through the avoided Suez.
    engine.plan_shipments([_ship("A", 0)], NOW + applied + HOURS, use_risk=False)
    assert "YTN-RTM-CAPE" in _lanes(engine, "A")
    engine.tick(NOW + applied + 11 * HOURS)
    assert engine.active_constraints().avoid == {"SUEZ"}
    # Twelve hours after it was applied, while the alert is still open, it is lifted.
    engine.tick(NOW + applied + 12 * HOURS)
    assert engine.alert_state.open_alerts, "the alert has not cleared"
    assert engine.in_force == () and engine.state().in_force == ()
    assert not engine.active_constraints().avoid and not engine.active_constraints().capacity_pct
    engine.plan_shipments([_ship("B", 0)], NOW + applied + 13 * HOURS, use_risk=False)
    assert "YTN-RTM-SUEZ" in _lanes(engine, "B")


def test_until_clear_stays_while_the_incident_stays_applied() -> None:
    engine, applied = _applied("clear")
    engine.tick(NOW + applied + 30 * DAY)
    assert engine.active_constraints().avoid == {"SUEZ"}
    assert {i.ends_at for i in engine.in_force} == {None}


@pytest.mark.parametrize("until", ["12h", "clear"])
def test_the_registry_rebuilds_what_an_applied_incident_keeps(until: str) -> None:
    """What a restarted daemon rebuilds from a stored incident is what the engine kept."""
    engine, applied = _applied(until)
    (incident,) = engine.incidents.values()
    assert in_force(incident, incident.updated_at) == engine.in_force
    assert incident.updated_at == NOW + applied


def test_an_avoid_keeps_the_window_of_an_announced_change() -> None:
    """A closure announced weeks ahead: the avoid applied now keeps freight off the strait only
    if it would pass the strait once the closure bites; freight booked now passes it before."""
    from twin.domain.signals import Signal

    bites = NOW + 40 * DAY
    signals = [
        Signal(
            ts=NOW,
            source="t",
            dimension="security",
            target="SUEZ",
            metric=metric,
            value=value,
            effective_at=bites,
        )
        for metric, value in (("advisory_level", 4), ("incidents_7d", 8))
    ]
    engine = Engine.from_state(
        mini_network(), [_playbook("clear")], EngineState(), EngineSettings()
    )
    engine.ingest(ingest_signals(signals, engine.network).frame)
    applied = None
    for step in range(8):
        report = engine.tick(NOW + step * 6 * HOURS)
        if any(i.state.value == "applied" for i in report.incidents):
            applied = NOW + step * 6 * HOURS
            break
    assert applied is not None, "the announced closure opened no incident"
    (avoid,) = [i for i in engine.in_force if i.kind == "avoid"]
    assert avoid.window == (bites, None)
    # Booked now: Yantian in half a day, Suez some three weeks on, before the closure bites.
    engine.plan_shipments([_ship("EARLY", 0)], applied, use_risk=False)
    assert "YTN-RTM-SUEZ" in _lanes(engine, "EARLY")
    # Booked a month on, the freight would pass Suez after it closes: round the Cape.
    later = applied + 30 * DAY
    engine.plan_shipments([_ship("LATE", 30)], later, use_risk=False)
    assert "YTN-RTM-CAPE" in _lanes(engine, "LATE")
    assert engine.active_constraints(later).avoid == {"YTN-RTM-SUEZ"}
    # Without a time, the avoid is the whole target, as before.
    assert engine.active_constraints().avoid >= {"SUEZ"}
