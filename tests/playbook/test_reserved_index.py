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


def test_an_index_with_routes_laid_over_equals_one_built_afresh() -> None:
    network, _ = load_network("demo")
    shipments = generate_shipments(network, start=T0, days=8, per_day=150, seed=5)
    plans = cheapest_assignments(network, shipments)
    routes: dict[str, tuple[Assignment, ...]] = {a.shipment: (a,) for a in plans}
    now = T0 + timedelta(days=2, hours=7)
    index = ReservedIndex(routes, now)
    rng = random.Random(11)
    ids = sorted(routes)
    for size in (1, 25, 400, len(ids)):
        # Laid over: other shipments' routes (another lane, another day, split), nothing
        # (held), and shipments not in the plan of record at all.
        changed: dict[str, tuple[Assignment, ...]] = {}
        for sid in rng.sample(ids, size):
            donor = routes[rng.choice(ids)][0]
            pick = rng.random()
            if pick < 0.2:
                changed[sid] = ()
            elif pick < 0.6:
                changed[sid] = (donor.model_copy(update={"shipment": sid, "units": 0.37 * donor.units}),
                                donor.model_copy(update={"shipment": sid, "units": 0.63 * donor.units}))  # fmt: skip
            else:
                changed[sid] = (donor.model_copy(update={"shipment": sid}),)
        changed["NEW-1"] = (routes[ids[0]][0].model_copy(update={"shipment": "NEW-1"}),)
        merged = {**routes, **changed}
        fresh, laid = ReservedIndex(merged, now), index.overlaid(merged, changed)
        assert laid.total == fresh.total  # exactly: same keys, bit-equal sums
        exclude = frozenset(rng.sample(sorted(merged), min(50, len(merged))))
        assert laid.without(exclude) == fresh.without(exclude)
        assert laid.without(exclude) == reserved_lane_capacity(merged, now, exclude=exclude)
    assert index.total == ReservedIndex(routes, now).total, "the plan of record's index is kept"
