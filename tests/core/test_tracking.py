"""Actual carrier events re-time the plan of record (twin.shipments.tracking)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from twin.domain.plans import Assignment, Leg
from twin.shipments.tracking import follow_event

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def route(*hops: tuple[str, str, float, float]) -> Assignment:
    """Legs (from, to, depart day, arrive day) from T0."""
    legs = tuple(
        Leg(lane=f"{a}-{b}", from_node=a, to_node=b, depart_at=T0 + d * D, arrive_at=T0 + r * D)
        for a, b, d, r in hops
    )
    return Assignment(
        shipment="S1", units=10, legs=legs, eta=legs[-1].arrive_at + D, cost=100, late_days=0
    )


PLAN = route(("ORIGIN", "CNYTN", 0, 0.5), ("CNYTN", "USLAX", 2, 18), ("USLAX", "WH", 20, 21))


def test_late_arrival_pushes_the_rest_of_the_route_back() -> None:
    (moved,) = follow_event([PLAN], "USLAX", "ARRI", T0 + 21 * D)  # three days late
    assert moved.legs[1].arrive_at == T0 + 21 * D
    assert moved.legs[2].depart_at == T0 + 23 * D  # the planned two days at the port are kept
    assert moved.legs[2].arrive_at == T0 + 24 * D
    assert moved.eta == PLAN.eta + 3 * D
    assert moved.legs[0] == PLAN.legs[0]


def test_early_arrival_waits_for_the_planned_departure() -> None:
    (moved,) = follow_event([PLAN], "USLAX", "DISC", T0 + 17 * D)
    assert moved.legs[1].arrive_at == T0 + 17 * D
    assert moved.legs[2] == PLAN.legs[2]
    assert moved.eta == PLAN.eta


def test_late_departure_keeps_the_transit_and_cuts_back_nothing_done() -> None:
    (moved,) = follow_event([PLAN], "CNYTN", "DEPA", T0 + 4 * D)
    assert (moved.legs[1].depart_at, moved.legs[1].arrive_at) == (T0 + 4 * D, T0 + 20 * D)
    assert moved.legs[2].depart_at == T0 + 22 * D
    assert moved.legs[0] == PLAN.legs[0]


def test_an_event_off_the_route_or_not_a_movement_changes_nothing() -> None:
    assert follow_event([PLAN], "NLRTM", "ARRI", T0) is None
    assert follow_event([PLAN], "USLAX", "INSP", T0) is None
    assert follow_event([PLAN], "ORIGIN", "ARRI", T0) is None  # nothing arrives at the origin


def test_only_split_parts_through_the_node_move() -> None:
    other = route(("ORIGIN", "CNYTN", 0, 0.5), ("CNYTN", "USOAK", 2, 17), ("USOAK", "WH", 19, 21))
    first, second = follow_event([PLAN, other], "USLAX", "ARRI", T0 + 19 * D)
    assert first.eta == PLAN.eta + D and second == other


@given(
    st.lists(st.tuples(st.floats(0, 5), st.floats(0.1, 20)), min_size=1, max_size=5),
    st.integers(0, 4),
    st.sampled_from(["ARRI", "DEPA", "DISC", "LOAD", "GTIN", "GTOT"]),
    st.floats(-200, 200),
)
def test_any_event_leaves_a_consistent_route_and_is_idempotent(
    gaps, which, event, offset_h
) -> None:
    hops, t = [], 0.0
    for i, (gap, transit) in enumerate(gaps):
        hops.append((f"N{i}", f"N{i + 1}", t + gap, t + gap + transit))
        t += gap + transit
    plan = route(*hops)
    k = min(which, len(hops) - 1)
    node = hops[k][1] if event in ("ARRI", "DISC", "GTIN") else hops[k][0]
    anchor = plan.legs[k].arrive_at if event in ("ARRI", "DISC", "GTIN") else plan.legs[k].depart_at
    at = anchor + offset_h * H
    moved = follow_event([plan], node, event, at)
    assert moved is not None
    legs = moved[0].legs
    assert at in (legs[k].arrive_at, legs[k].depart_at)
    for leg, planned in zip(legs, plan.legs, strict=True):
        assert leg.depart_at <= leg.arrive_at
        assert leg.lane == planned.lane
    for before, after in itertools.pairwise(legs):
        assert before.arrive_at <= after.depart_at
    for j in range(k + 1, len(legs)):
        assert legs[j].depart_at >= plan.legs[j].depart_at  # never earlier than planned
    assert follow_event(moved, node, event, at) == moved
