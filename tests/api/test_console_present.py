"""What a person reads, computed from the records: alerts grouped by cause, routes in place
names, the decision in money, the roll-back note, lane geometry. Checked against hand-counted
numbers and known geography."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from twin.api.demo import demo_network
from twin.api.geometry import great_circle, land_features, lane_path, unwrap
from twin.api.present import (
    affected_text,
    causes_by_severity,
    decision,
    group_alerts,
    money,
    route_text,
)
from twin.domain.alerts import Alert, Severity
from twin.domain.incidents import Incident, PlanDiff, ShipmentChange
from twin.domain.records import Priority, Shipment
from twin.playbook.runner import RollbackPlan
from twin.store.decisions import rollback_note

NOW = datetime(2024, 1, 10, tzinfo=UTC)


def alert(ident: str, target: str, kind: str, inhibited_by: str | None = None) -> Alert:
    return Alert(
        id=ident,
        target=target,
        dimension="security",
        severity=Severity.critical,
        score=0.9,
        peak=0.9,
        opened_at=NOW,
        updated_at=NOW,
        kind=kind,
        inhibited_by=inhibited_by,
    )


def test_lane_echoes_fold_under_the_alert_that_inhibits_them() -> None:
    root = alert("BAB/security", "BAB_EL_MANDEB", "chokepoint")
    echoes = [alert(f"L{k}/security", f"L{k}", "lane", inhibited_by=root.id) for k in range(136)]
    # An echo of an echo still belongs to the first cause; an alert whose inhibitor is not
    # among those shown is a cause of its own.
    chained = alert("P1/security", "P1", "port", inhibited_by="L0/security")
    orphan = alert("L999/security", "L999", "lane", inhibited_by="gone/security")
    other = alert("USLAX/customs", "USLAX", "port")
    groups = group_alerts([*echoes[:10], root, *echoes[10:], chained, orphan, other])
    assert [g.root.id for g in groups] == [root.id, orphan.id, other.id]
    assert len(groups[0].affected) == 137
    assert groups[0].affected_text == "136 lanes and 1 port affected"
    assert affected_text(echoes[:1]) == "1 lane affected" and affected_text([]) == ""
    # A lane with two echoes (security and capacity) is one lane affected.
    twice = [e.model_copy(update={"dimension": "capacity", "id": e.id + "c"}) for e in echoes]
    assert affected_text([*echoes, *twice]) == "136 lanes affected (272 alerts)"
    counts = causes_by_severity(groups)
    assert len(counts["critical"]) == 3 and counts["warn"] == []


def test_routes_read_as_places_with_mode_and_days() -> None:
    network = demo_network()
    assert route_text(network, ["YTN-RTM-CAPE"]) == (
        "Yantian → Strait of Malacca → Cape of Good Hope → Rotterdam, sea 40 d"
    )
    assert route_text(network, ["SZ-YTN-ROAD", "NOPE"]) == (
        "Shenzhen → Yantian, road 1 d; NOPE (not in the network)"
    )


def change(shipment: str, units: float, late_days: float, old: float, new: float) -> ShipmentChange:
    return ShipmentChange(
        shipment=shipment,
        units=units,
        action="reroute",
        old_path=("YTN-RTM-SUEZ",),
        new_path=("YTN-RTM-CAPE",),
        old_cost=old,
        new_cost=new,
        late_days_avoided=late_days,
        no_return_at=NOW + timedelta(days=int(units)),
    )


def incident(*changes: ShipmentChange) -> Incident:
    return Incident.model_validate(
        {
            "id": "INC-1",
            "alert_id": "a",
            "playbook_id": "p",
            "why": "test",
            "alert": alert("a", "SUEZ", "chokepoint").model_dump(),
            "diff": PlanDiff(changes=changes, status="optimal").model_dump(),
            "approval": "required",
            "rollback": "manual",
            "created_at": NOW,
            "updated_at": NOW,
        }
    )


def test_the_decision_prices_lateness_at_each_shipments_penalty() -> None:
    found = incident(change("S1", 40, 3.0, 2400, 3000), change("S2", 20, 2.0, 1200, 1500))
    ships = {
        "S1": Shipment(
            id="S1", origin="A", destination="B", units=40, ready_at=NOW, due_at=NOW
        ),  # standard: 4 per unit-day
        "S2": Shipment(
            id="S2",
            origin="A",
            destination="B",
            units=20,
            ready_at=NOW,
            due_at=NOW,
            priority=Priority.express,  # 40 per unit-day
        ),
    }
    d = decision(found, ships, "EUR")
    # By hand: 40 × 3 = 120 unit-days at 4 = 480; 20 × 2 = 40 unit-days at 40 = 1,600.
    assert d.late_unit_days == pytest.approx(160) and d.late_price == pytest.approx(2080)
    assert d.plan_cost == pytest.approx(900) and d.net == pytest.approx(1180)
    assert money(d.net, d.currency) == "EUR 1,180" and money(-900, "EUR") == "−EUR 900"
    # A shipment the store no longer has is priced at the standard penalty and named.
    assert decision(found, {}, "EUR").unpriced == ("S1", "S2")


def test_rollback_says_what_it_restores_and_what_it_keeps() -> None:
    found = incident(change("S1", 1, 0, 1, 2), change("S2", 2, 0, 1, 2), change("S3", 3, 0, 1, 2))
    note = rollback_note(found, RollbackPlan(restore={"S3": ()}, kept=("S1", "S2")))
    assert note.startswith("restores 1 shipment to its earlier route (S3); keeps 2 on the new")
    assert "(S1, S2): past their point of no return" in note
    assert "2024-01-11 00:00Z" in note  # the first of the kept ones left then
    none_kept = rollback_note(found, RollbackPlan(restore={"S1": (), "S2": ()}, kept=()))
    assert "restores 2 shipments" in none_kept and "keeps 0" in none_kept


def test_sea_lanes_follow_the_sea_and_air_lanes_great_circles() -> None:
    network = demo_network()
    lanes = network.lane_by_id
    cape = lane_path(network, lanes["YTN-RTM-CAPE"])
    suez = lane_path(network, lanes["YTN-RTM-SUEZ"])
    assert cape and suez
    # Round Africa: the Cape route goes south of 30°S; the Suez one passes the canal
    # (30.6°N 32.3°E) and never goes south of the equator's 5th parallel south.
    assert min(lat for _, lat in cape) < -30 and min(lat for _, lat in suez) > -10
    assert any(abs(lon - 32.3) < 1 and abs(lat - 30.5) < 1.5 for lon, lat in suez)
    # Never across the middle of Africa (roughly 10°S-10°N, 15-30°E is land).
    assert not any(15 < lon < 30 and -10 < lat < 10 for lon, lat in cape)
    air = lane_path(network, lanes["SZX-AMS-AIR"])
    # The great circle bends north of both ends (Schiphol is at 52.3°N): 57.5°N by the
    # vertex formula cos(lat_max) = |sin(initial bearing)| cos(lat_start).
    assert air and 57.0 < max(lat for _, lat in air) < 58.0
    # Great circles cross the antimeridian continuously.
    pacific = unwrap(great_circle((139.7, 35.7), (-118.2, 34.0)))
    assert all(abs(b[0] - a[0]) < 30 for a, b in itertools.pairwise(pacific))
    assert len(land_features()["geometry"]["coordinates"]) > 100
