"""The reserved-capacity ledger the engine keeps across bookings gives, at every booking,
exactly what summing the whole plan of record afresh gives (same keys, bit-equal sums)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from twin.domain.plans import Assignment, Leg
from twin.files.networks import load_network
from twin.scoring.exposure import cheapest_assignments
from twin.shipments.capacity import CapacityLedger, ReservedLedger, reserved_lane_capacity
from twin.shipments.generate import generate_shipments

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _split(a: Assignment, rng: random.Random) -> tuple[Assignment, ...]:
    # Odd fractions of units: float sums then depend on their order.
    share = rng.choice([1.0, 0.37, 0.1, 1 / 3, 0.913])
    parts = [a.model_copy(update={"units": a.units * share})]
    if share < 1.0:
        parts.append(a.model_copy(update={"units": a.units * (1 - share) + 0.01}))
    return tuple(parts)


def _same(got: dict[tuple[str, int], float], want: dict[tuple[str, int], float]) -> None:
    assert got.keys() == want.keys()
    assert all(got[k].hex() == want[k].hex() for k in want)


@pytest.mark.parametrize("kind", [ReservedLedger, CapacityLedger])
def test_ledger_matches_the_full_sum_through_bookings_reroutes_and_removals(kind: type) -> None:
    network, _ = load_network("demo")
    shipments = generate_shipments(network, start=T0, days=5, per_day=300, seed=5)
    cheapest = {a.shipment: a for a in cheapest_assignments(network, shipments)}
    rng = random.Random(11)
    ids = list(cheapest)
    ledger = kind()
    routes: dict[str, tuple[Assignment, ...]] = {}
    now = T0
    checked = 0
    while ids:
        batch, ids = ids[:100], ids[100:]
        # The batch being booked is excluded; some of it may already hold routes (re-plans).
        exclude = set(batch) | set(rng.sample(sorted(routes), min(len(routes), 5)))
        _same(ledger.reserved(routes, now, exclude), reserved_lane_capacity(routes, now, exclude))
        for sid in batch:
            routes[sid] = _split(cheapest[sid], rng)
        for sid in rng.sample(sorted(routes), min(len(routes), 25)):  # re-routed in place
            routes[sid] = _split(cheapest[sid], rng)
        if len(routes) > 100 and rng.random() < 0.5:
            routes.pop(rng.choice(sorted(routes)))  # a route taken away
        if rng.random() < 0.2:  # taken away and booked again: it moves to the end
            moved = rng.choice(sorted(routes))
            routes[moved] = routes.pop(moved)
        _same(ledger.reserved(routes, now), reserved_lane_capacity(routes, now))
        checked += 2
        now += timedelta(hours=rng.choice([0, 6, 13, 24]))
    # An earlier `now` (a re-run) is summed afresh, still exactly.
    _same(ledger.reserved(routes, T0), reserved_lane_capacity(routes, T0))
    assert checked > 20


@pytest.mark.parametrize("kind", [ReservedLedger, CapacityLedger])
def test_a_route_changed_mid_plan_is_summed_in_the_plans_order(kind: type) -> None:
    # 1e-16 + 1e-16 + 1.0 rounds differently from 1e-16 + 1.0 + 1e-16: the order must hold.
    leg = Leg(
        lane="L",
        from_node="A",
        to_node="B",
        depart_at=T0 + timedelta(days=2),
        arrive_at=T0 + timedelta(days=3),
    )

    def route(sid: str, units: float) -> tuple[Assignment, ...]:
        return (
            Assignment(
                shipment=sid, units=units, legs=(leg,), eta=leg.arrive_at, cost=1.0, late_days=0
            ),
        )

    routes = {"S1": route("S1", 1e-16), "S2": route("S2", 1e-16), "S3": route("S3", 1.0)}
    ledger = kind()
    _same(ledger.reserved(routes, T0), reserved_lane_capacity(routes, T0))
    routes["S1"] = route("S1", 1e-16)  # re-routed in place: still first in the plan
    want = reserved_lane_capacity(routes, T0)
    assert want == {("L", 2): 1.0000000000000002}
    _same(ledger.reserved(routes, T0), want)
    _same(ledger.reserved(routes, T0, {"S2"}), reserved_lane_capacity(routes, T0, {"S2"}))
