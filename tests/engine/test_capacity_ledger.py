"""The capacity ledger the engine keeps (and the daemon from pass to pass) gives, for every set
of re-planned shipments, at every `now`, exactly what summing the plan of record afresh gives
(`reserved_lane_capacity`), as the plan changes under it: routes laid over and taken back,
shipments added in the middle of the plan's order or gone, passes at later times.

(It replaces ReservedIndex; its two tests, the index without a set and with routes laid over,
are the first two here, checked the same way.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from twin.domain.plans import Assignment, Leg
from twin.files.networks import load_network
from twin.scoring.exposure import cheapest_assignments
from twin.shipments.capacity import CapacityLedger, reserved_lane_capacity
from twin.shipments.generate import generate_shipments

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _plan(seed: int, split: bool) -> dict[str, tuple[Assignment, ...]]:
    network, _ = load_network("demo")
    shipments = generate_shipments(network, start=T0, days=8, per_day=150, seed=seed)
    routes: dict[str, tuple[Assignment, ...]] = {}
    rng = random.Random(seed)
    for a in cheapest_assignments(network, shipments):
        # Split shipments: two assignments of odd units (the float sums are order-sensitive).
        share = rng.choice([1.0, 0.37, 0.5]) if split else 1.0
        parts = [a.model_copy(update={"units": a.units * share})]
        if share < 1.0:
            parts.append(a.model_copy(update={"units": a.units * (1 - share)}))
        routes[a.shipment] = tuple(parts)
    return dict(sorted(routes.items()))


def _check(ledger: CapacityLedger, routes: dict[str, tuple[Assignment, ...]], now: datetime,
           rng: random.Random) -> None:  # fmt: skip
    view = ledger.sync(routes).at(now)
    assert view.without(frozenset()) == reserved_lane_capacity(routes, now)
    ids = sorted(routes)
    for size in (1, 10, 300, len(ids) // 2):
        exclude = frozenset(rng.sample(ids, min(size, len(ids))))
        # exactly: same keys, bit-equal sums
        assert view.without(exclude) == reserved_lane_capacity(routes, now, exclude=exclude)
    assert view.without(frozenset(ids)) == {}
    assert view.without(frozenset({"not-a-shipment"})) == reserved_lane_capacity(routes, now)


def test_the_ledger_without_a_set_equals_the_sum_without_it() -> None:
    routes = _plan(3, split=True)
    rng = random.Random(7)
    ledger = CapacityLedger()
    # Some legs already left, some assignments done; then later passes of the same ledger.
    for hours in (3 * 24 + 5, 3 * 24 + 11, 5 * 24):
        _check(ledger, routes, T0 + timedelta(hours=hours), rng)


def test_routes_laid_over_and_taken_back_equal_a_fresh_sum() -> None:
    routes = _plan(5, split=False)
    now = T0 + timedelta(days=2, hours=7)
    ledger = CapacityLedger()
    rng = random.Random(11)
    ids = sorted(routes)
    _check(ledger, routes, now, rng)
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
        _check(ledger, {**routes, **changed}, now, rng)
        _check(ledger, routes, now, rng)  # the plan of record again


def test_shipments_coming_in_the_middle_and_going_and_a_reordered_plan() -> None:
    routes = _plan(9, split=True)
    rng = random.Random(13)
    ledger = CapacityLedger()
    now = T0 + timedelta(days=1)
    _check(ledger, routes, now, rng)
    ids = sorted(routes)
    # The daemon's next pass: some delivered (gone), new ones in id order among the others.
    gone = set(rng.sample(ids, 200))
    fresh = {f"{sid}-b": tuple(a.model_copy(update={"shipment": f"{sid}-b"}) for a in r)
             for sid, r in rng.sample(sorted(routes.items()), 150)}  # fmt: skip
    later = dict(sorted([*((s, r) for s, r in routes.items() if s not in gone), *fresh.items()]))
    _check(ledger, later, now + timedelta(hours=6), rng)
    # A plan in another order is summed in that order.
    shuffled = list(later.items())
    rng.shuffle(shuffled)
    _check(ledger, dict(shuffled), now + timedelta(hours=6), rng)


def test_an_assignment_whose_legs_are_out_of_time_order() -> None:
    # Its last leg leaves before an earlier one: once that last leg has left, the assignment
    # takes nothing any more (as a fresh sum has it), though the other leg is still ahead.
    first = Leg(lane="A", from_node="X", to_node="Y", depart_at=T0 + timedelta(days=3),
                arrive_at=T0 + timedelta(days=4))  # fmt: skip
    last = Leg(lane="B", from_node="Y", to_node="Z", depart_at=T0 + timedelta(days=1),
               arrive_at=T0 + timedelta(days=2))  # fmt: skip
    odd = Assignment(shipment="S1", units=5, legs=(first, last), eta=last.arrive_at, cost=1.0,
                     late_days=0.0)  # fmt: skip
    plain = odd.model_copy(update={"shipment": "S2", "legs": (first,), "units": 2.5})
    routes = {"S1": (odd,), "S2": (plain,)}
    ledger = CapacityLedger()
    for days in (0, 2):
        now = T0 + timedelta(days=days)
        assert ledger.sync(routes).at(now).without(frozenset()) == reserved_lane_capacity(
            routes, now
        )
