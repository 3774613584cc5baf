"""The engine's tick on a small network: signals → scores → alert → playbook → re-routed plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.playbook.chain_world import mini_network
from twin.domain.incidents import IncidentState
from twin.domain.records import Shipment
from twin.domain.signals import Signal
from twin.engine.engine import Engine, EngineSettings, reserved_lane_capacity
from twin.feeds.ingest import ingest_signals
from twin.files.playbooks import load_playbooks
from twin.playbook.actions import InForce
from twin.playbook.incidents import transition

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"


def _engine(**settings: object) -> Engine:
    engine = Engine(mini_network(), load_playbooks(LIBRARY), EngineSettings(**settings))
    ships = [
        Shipment(
            id="S1",
            origin="CN-SZ",
            destination="NL-VENLO",
            units=40,
            ready_at=NOW + 3 * DAY,
            due_at=NOW + 45 * DAY,
        ),
        Shipment(
            id="S2",
            origin="CN-SZ",
            destination="NL-VENLO",
            units=20,
            priority="express",
            ready_at=NOW + 4 * DAY,
            due_at=NOW + 40 * DAY,
        ),
    ]
    made = engine.plan_shipments(ships, NOW)
    assert made.status.value == "optimal"
    return engine


def _closure_signals(at: datetime) -> list[Signal]:
    return [
        Signal(
            ts=at, source="t", dimension="security", target="SUEZ", metric="advisory_level", value=4
        ),
        Signal(
            ts=at, source="t", dimension="security", target="SUEZ", metric="incidents_7d", value=8
        ),
    ]


def test_plan_of_record_goes_through_suez_when_all_is_calm() -> None:
    engine = _engine()
    assert [a.path for a in engine.routes["S1"]] == [
        ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-VENLO-ROAD"]
    ]
    report = engine.tick(NOW)
    assert report.events == [] and report.incidents == []


def test_unsafe_chokepoint_fires_the_playbook_and_reroutes_round_the_cape() -> None:
    engine = _engine()
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    opened = None
    for step in range(8):  # the `for` count needs consecutive passes above the threshold
        report = engine.tick(NOW + step * timedelta(hours=6))
        if report.incidents:
            opened = report
            break
    assert opened is not None, "a critical security alert on SUEZ must open an incident"
    (incident,) = opened.incidents
    assert incident.playbook_id == "avoid-closed-chokepoint" and incident.alert.target == "SUEZ"
    # Round the Cape costs more than the playbook's 40% guardrail: it waits for a person.
    assert incident.state.value == "proposed" and incident.needs_approval
    assert opened.rerouted == {} and "SUEZ" not in engine.active_constraints().avoid
    approved, _ = transition(
        incident, IncidentState.approved, at=opened.at, by="ana", why="go round"
    )
    # A person's decision reaches the engine through its state, as the daemon's store brings it.
    state = engine.state()
    state.incidents[approved.id] = approved
    engine = Engine.from_state(engine.network, engine.playbooks, state, engine.settings)
    opened = engine.tick(opened.at + timedelta(hours=6))
    assert [i.state.value for i in opened.incidents] == ["applied"]
    assert set(opened.rerouted) == {"S1", "S2"}
    for sid in ("S1", "S2"):
        lanes = [leg.lane for a in engine.routes[sid] for leg in a.legs]
        assert "YTN-RTM-SUEZ" not in lanes
    assert "SUEZ" in engine.active_constraints().avoid
    # The same alert does not fire a second incident on later passes.
    again = engine.tick(opened.at + timedelta(hours=6))
    assert not [i for i in again.incidents if i.state.value == "proposed"]
    assert len(engine.incidents) == 1


def test_shadow_mode_records_but_changes_nothing() -> None:
    engine = _engine(shadow=True)
    before = {sid: routes for sid, routes in engine.routes.items()}
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    for step in range(8):
        engine.tick(NOW + step * timedelta(hours=6))
    assert engine.incidents, "shadow mode still records the incident"
    assert {i.state.value for i in engine.incidents.values()} == {"shadowed"}
    assert engine.routes == before
    assert not engine.in_force


def test_reserved_capacity_counts_only_departures_ahead() -> None:
    engine = _engine()
    taken = reserved_lane_capacity(engine.routes, NOW + 5 * DAY)
    # S1 (40) and S2 (20) leave Yantian on day 4 and 5 after NOW; only S2's departure is ahead.
    suez = {key: units for key, units in taken.items() if key[0] == "YTN-RTM-SUEZ"}
    assert sum(suez.values()) == 20


def test_risk_is_priced_only_when_the_freight_would_meet_it() -> None:
    engine = _engine()
    # Suez blocked now, expected to reopen in 5 days: freight booked now reaches Suez ~3 weeks
    # out (0.5 d road, then ~70% of a 30-day voyage), after the reopening.
    short = Signal(
        ts=NOW,
        source="t",
        dimension="capacity",
        target="SUEZ",
        metric="capacity_pct",
        value=0,
        expected_until=NOW + 5 * DAY,
    )
    engine.ingest(ingest_signals([short], engine.network).frame)
    engine.tick(NOW)
    assert "YTN-RTM-SUEZ" not in engine.risk_days(NOW)
    # Expected to last five weeks: the same freight would meet it.
    longer = short.model_copy(update={"ts": NOW + DAY, "expected_until": NOW + 35 * DAY})
    engine.ingest(ingest_signals([longer], engine.network).frame)
    engine.tick(NOW + DAY)
    risk = engine.risk_days(NOW + DAY)
    assert risk["YTN-RTM-SUEZ"] > 0 and "YTN-RTM-CAPE" not in risk


def test_holds_are_lifted_when_their_incident_is_released() -> None:
    engine = _engine()
    engine.keep(InForce("hold", "S1", "clear", "INC-1", NOW, holds=True))
    engine.keep(InForce("hold", "S2", "clear", "INC-2", NOW, holds=True))
    engine.release("INC-1")
    assert engine.holds == {"S2": "INC-2"}


def test_an_escalation_is_answered_again_once() -> None:
    engine = _engine()

    def run(value: float, start: datetime) -> list[str]:
        reading = Signal(
            ts=start,
            source="t",
            dimension="capacity",
            target="NLRTM",
            metric="vessels_waiting",
            value=value,
        )
        engine.ingest(ingest_signals([reading], engine.network).frame)
        for step in range(8):
            engine.tick(start + step * timedelta(hours=6))
        found = sorted(engine.incidents.values(), key=lambda i: i.created_at)
        return [i.alert.severity.value for i in found]

    assert run(40, NOW) == ["warn"]  # a queue: a warning, answered by port-congestion-divert
    assert run(120, NOW + 2 * DAY) == ["warn", "critical"]  # the same episode escalates
    first, second = sorted(engine.incidents.values(), key=lambda i: i.created_at)
    assert first.alert_id == second.alert_id
    assert first.playbook_id == second.playbook_id == "port-congestion-divert"
    # Re-firing at the same severity answers nothing more.
    assert run(125, NOW + 4 * DAY) == ["warn", "critical"]
