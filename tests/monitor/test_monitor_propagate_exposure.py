"""Propagation through `via` and lane ends; exposure of planned paths with hand-checked times."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from monitor_helpers import T0, row

from twin.domain.alerts import RiskScore
from twin.domain.plans import Assignment, Leg
from twin.domain.records import Shipment
from twin.scoring.exposure import cheapest_assignments, delay_days, expected_delay_days, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import signals_frame

D = timedelta(days=1)


def scored(net, rows):
    result = assess(signals_frame(rows), net, T0)
    return {(r.target, r.dimension): r for r in result.frame.itertuples()}


def test_chokepoint_risk_reaches_every_lane_via_it(net):
    scores = scored(net, [row("BAB_EL_MANDEB", "advisory_level", 4, "security")])
    lane = scores[("SHA-RTM", "security")]
    assert lane.score == pytest.approx(1.0)
    assert lane.sources == ("BAB_EL_MANDEB",)
    assert "from BAB_EL_MANDEB (via)" in lane.explain
    assert ("SHA-RTM-CAPE", "security") not in scores  # the Cape lane does not pass it


def test_node_risk_reaches_lanes_with_attenuation(net):
    scores = scored(
        net, [row("NLRTM", "utilization", 1.0), row("NLRTM", "inspection_rate", 0.3, "customs")]
    )
    # Arriving lanes: capacity x 0.8, customs x 1.0; the leaving road lane: capacity x 0.8, no customs.
    assert scores[("SHA-RTM", "capacity")].score == pytest.approx(0.8)
    assert scores[("SHA-RTM-CAPE", "customs")].score == pytest.approx(1.0)
    assert scores[("RTM-WH", "capacity")].score == pytest.approx(0.8)
    assert ("RTM-WH", "customs") not in scores
    assert "x0.8" in scores[("SHA-RTM", "capacity")].explain


def test_lane_keeps_its_own_score_when_higher(net):
    scores = scored(
        net,
        [
            row("SUEZ", "transits_per_day", 35.7),  # drop 0.3 -> 0.4
            row("SHA-RTM", "utilization", 1.0),
        ],
    )
    lane = scores[("SHA-RTM", "capacity")]
    assert lane.score == pytest.approx(1.0)
    assert "own: utilization" in lane.explain and "from SUEZ" in lane.explain
    assert lane.sources == ("SHA-RTM", "SUEZ")


def leg(lane, a, b, depart, days):
    return Leg(
        lane=lane, from_node=a, to_node=b, depart_at=depart, arrive_at=depart + timedelta(days=days)
    )


def plan(units=10.0, start=T0):
    legs = (
        leg("SHA-RTM", "CNSHA", "NLRTM", start, 8),
        leg("RTM-WH", "NLRTM", "NL-WH", start + 10 * D, 1),
    )
    return Assignment(
        shipment="S1", units=units, legs=legs, eta=legs[-1].arrive_at, cost=0, late_days=0
    )


def risk(target, dimension, score, kind="chokepoint", **kw):
    return RiskScore(
        target=target, dimension=dimension, score=score, at=T0, kind=kind, sources=(target,), **kw
    )


def test_exposure_times_along_the_path(net):
    scores = [
        risk("BAB_EL_MANDEB", "security", 1.0),
        risk("NLRTM", "customs", 0.6, kind="port"),
        risk("SUEZ", "capacity", 0.3),
    ]  # below the exposure threshold
    found = exposure(scores, [plan()], net, T0, timedelta(days=30))
    assert [(e.target, e.dimension) for e in found] == [
        ("BAB_EL_MANDEB", "security"),
        ("NLRTM", "customs"),
    ]
    bab, rtm = found
    # Equator: CNSHA lon 0, BAB lon 5, NLRTM lon 20 -> a quarter of the 8-day leg = 2 days.
    assert bab.at == T0 + 2 * D
    assert bab.units == 10 and bab.lane == "SHA-RTM"
    assert bab.expected_delay_days == pytest.approx(10.0)  # closure-level security: Cape detour
    assert rtm.at == T0 + 8 * D
    assert rtm.expected_delay_days == pytest.approx(4.0 * (0.6 - 0.2) / 0.8)


def test_exposure_respects_horizon_and_risk_window(net):
    later = risk("BAB_EL_MANDEB", "security", 1.0, starts_at=T0 + 5 * D)
    assert exposure([later], [plan()], net, T0, timedelta(days=30)) == []  # passes on day 2
    over = risk("BAB_EL_MANDEB", "security", 1.0, until=T0 + D)
    assert exposure([over], [plan()], net, T0, timedelta(days=30)) == []
    now = risk("BAB_EL_MANDEB", "security", 1.0)
    assert exposure([now], [plan()], net, T0, timedelta(days=1)) == []  # beyond the horizon
    assert exposure([now], [plan(start=T0 - 5 * D)], net, T0, timedelta(days=30)) == []  # passed


def test_propagated_lane_scores_are_not_counted_twice(net):
    result = assess(signals_frame([row("BAB_EL_MANDEB", "advisory_level", 4, "security")]), net, T0)
    found = exposure(result.frame, [plan()], net, T0, timedelta(days=30))
    assert [(e.target, e.dimension) for e in found] == [("BAB_EL_MANDEB", "security")]


def test_expected_delay_days_per_target():
    scores = [
        risk("BAB_EL_MANDEB", "security", 1.0),
        risk("USLAX", "customs", 0.6, kind="port"),
        risk("USLAX", "capacity", 0.2, kind="port"),
    ]
    assert expected_delay_days(scores) == pytest.approx({"BAB_EL_MANDEB": 10.0, "USLAX": 2.0})
    assert delay_days("cost", 1.0) == 0.0


def test_cheapest_assignment_times(net):
    shipment = Shipment(
        id="S1", origin="CNSHA", destination="NL-WH", units=5, ready_at=T0, due_at=T0 + 30 * D
    )
    (assignment,) = cheapest_assignments(net, [shipment])
    assert assignment.path == ["SHA-RTM", "RTM-WH"]
    # 8 days at sea, then 1 handling + 1 clearance day at NLRTM (customs entry for CN), 1 day road.
    assert assignment.legs[1].depart_at == T0 + 10 * D
    assert assignment.eta == T0 + 11 * D
    assert assignment.cost == pytest.approx(5 * 75)
    assert math.isclose(assignment.late_days, 0.0)
    assert datetime(2024, 1, 21, tzinfo=UTC) == assignment.eta


def test_an_announced_closure_exposes_freight_that_will_arrive_during_it(net):
    # Closure of Rotterdam announced now, from day 7 (the plan arrives on day 8) for a week.
    scored = assess(
        signals_frame([row("NLRTM", "capacity_pct", 0, effective_at=T0 + 7 * D)]), net, T0
    )
    found = exposure(scored.frame, [plan()], net, T0, timedelta(days=30))
    assert [(e.shipment, e.target, e.at) for e in found] == [("S1", "NLRTM", T0 + 8 * D)]
    # Freight arriving before it starts is not exposed.
    early = assess(
        signals_frame([row("NLRTM", "capacity_pct", 0, effective_at=T0 + 9 * D)]), net, T0
    )
    assert exposure(early.frame, [plan()], net, T0, timedelta(days=30)) == []
