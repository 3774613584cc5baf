"""The reserved-capacity index the engine builds once per pass gives, for every set of
re-planned shipments, exactly what summing the plan of record afresh gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from twin.domain.plans import Assignment
from twin.files.networks import load_network
from twin.scoring.exposure import cheapest_assignments
from twin.shipments.capacity import ReservedIndex, reserved_lane_capacity
from twin.shipments.generate import generate_shipments

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def test_index_without_a_set_equals_the_sum_without_it() -> None:
    network, _ = load_network("demo")
    shipments = generate_shipments(network, start=T0, days=8, per_day=150, seed=3)
    routes: dict[str, tuple[Assignment, ...]] = {}
    rng = random.Random(7)
    for a in cheapest_assignments(network, shipments):
        # Split shipments: two assignments of odd units (the float sums are order-sensitive).
        share = rng.choice([1.0, 0.37, 0.5])
        parts = [a.model_copy(update={"units": a.units * share})]
        if share < 1.0:
            parts.append(a.model_copy(update={"units": a.units * (1 - share)}))
        routes[a.shipment] = tuple(parts)
    now = T0 + timedelta(days=3, hours=5)  # some legs already left, some assignments done
    index = ReservedIndex(routes, now)
    ids = sorted(routes)
    assert index.without(frozenset()) == reserved_lane_capacity(routes, now)
    for size in (1, 10, 300, len(ids) // 2, len(ids)):
        exclude = frozenset(rng.sample(ids, size))
        expected = reserved_lane_capacity(routes, now, exclude=exclude)
        got = index.without(exclude)
        assert got == expected  # exactly: same keys, bit-equal sums
    assert index.without(frozenset(ids)) == {}
    assert index.without(frozenset({"not-a-shipment"})) == reserved_lane_capacity(routes, now)
