"""Listing the routes within the gap (the proof step of price-and-branch) finds exactly the
routes a plain enumeration of every timed route finds, with duals, day-by-day room and
lateness; and says it is incomplete when a shipment has more than the cap."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optimise.oracles import NOW, Case, cases
from twin.optimise import PlanRequest, columns
from twin.optimise.columns import (
    Column,
    ColumnPool,
    dual_costs,
    initial_columns,
    price,
    routes_within,
)
from twin.optimise.instance import Commodity, Instance, compile_instance
from twin.optimise.timeline import late_days

Route = tuple[tuple[int, int], ...]


def every_route(
    inst: Instance, c: Commodity, adjust: np.ndarray, limit: float
) -> dict[Route, float]:
    """Every timed route of `c` (any departure days, arcs it fits) costing at most `limit` per
    unit, by plain depth-first enumeration (arc costs are non-negative, so a prefix over the
    limit cannot finish under it)."""
    batch = inst.batches[c.batch]
    H = inst.horizon
    out: dict[Route, float] = {}

    def walk(v: int, t: int, legs: Route, spent: float) -> None:
        if v == c.dest and legs:
            total = spent + c.penalty * late_days(t, c.due)
            if total <= limit:
                out[legs] = total
        for lane in range(len(inst.frm)):
            if int(inst.frm[lane]) != v:
                continue
            d = int(batch.dur[lane])
            for day in range(t, H - d + 1):
                if inst.arc_room(batch, np.array([lane]), day)[0] < c.units - 1e-9:
                    continue
                step = spent + float(batch.cost[lane]) + float(adjust[lane, day])
                if step <= limit:
                    walk(int(inst.to[lane]), day + d, (*legs, (lane, day)), step)

    walk(c.source, c.ready, (), 0.0)
    return out


@settings(max_examples=60, deadline=None)
@given(cases(max_nodes=5, max_lanes=9, splits=(False,)), st.data())
def test_routes_within_equal_plain_enumeration(case: Case, data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    reserved_lane = {
        (lane.id, day): float(rng.integers(0, 12))
        for lane in case.view.network.lanes
        for day in range(case.horizon + 1)
        if rng.random() < 0.3
    }
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        risk_days=case.risk,
        reserved_lane=reserved_lane,
    )
    inst = compile_instance(case.view, request)
    pool = initial_columns(inst)
    # Capacity duals (<= 0) on the rows the initial routes use, and demand duals that leave
    # some room above each shipment's cheapest route.
    lane_dual = -rng.integers(0, 15, len(pool.lane_rows)).astype(float)
    node_dual = -rng.integers(0, 15, len(pool.node_rows)).astype(float)
    demand_dual = np.array(
        [c.units * float(rng.integers(0, 60)) for c in inst.commodities], dtype=float
    )
    delta = float(data.draw(st.sampled_from([0.0, 5.0, 40.0, 200.0])))
    todo = [c for c in inst.commodities if c.blocked is None and c.source != c.dest]
    got, complete = routes_within(pool, demand_dual, lane_dual, node_dual, delta, todo, 10**6)
    assert complete
    got_by = {(col.commodity, col.legs) for col in got}
    want_strict: set[tuple[int, Route]] = set()
    want_loose: set[tuple[int, Route]] = set()
    for c in todo:
        adjust = dual_costs(
            inst,
            inst.batches[c.batch],
            *_items(pool, lane_dual, node_dual),
        )
        limit = (demand_dual[c.index] + delta) / c.units
        for legs, cost in every_route(inst, c, adjust, limit + 1e-6).items():
            if (c.index, legs) in pool.seen:
                continue
            want_loose.add((c.index, legs))
            if cost <= limit - 1e-6:
                want_strict.add((c.index, legs))
    assert want_strict <= got_by <= want_loose
    # The cap: a shipment with n routes within the limit (outside the pool, so at least n
    # listed) makes a listing capped at n - 1 incomplete.
    counts = [sum(1 for k, _ in want_strict if k == c.index) for c in todo]
    if counts and max(counts) >= 1:
        busiest = todo[int(np.argmax(counts))]
        _, complete = routes_within(
            pool, demand_dual, lane_dual, node_dual, delta, [busiest], max(counts) - 1
        )
        assert not complete


def _items(
    pool: ColumnPool, lane_dual: np.ndarray, node_dual: np.ndarray
) -> tuple[list[tuple[tuple[int, int], float]], list[tuple[tuple[int, int], float]]]:
    lanes = [(key, -float(lane_dual[r])) for key, r in pool.lane_rows.items()]
    nodes = [(key, -float(node_dual[r])) for key, r in pool.node_rows.items()]
    return lanes, nodes


@settings(max_examples=60, deadline=None)
@given(cases(max_nodes=7, max_lanes=16), st.data())
def test_a_star_bound_changes_no_priced_column(case: Case, data: st.DataObject) -> None:
    """Pricing and listing with the A* bound (least cost to the destination) give the same
    columns as the full DPs, at random duals."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    request = PlanRequest(
        now=NOW, shipments=case.shipments, horizon_days=case.horizon, risk_days=case.risk
    )
    inst = compile_instance(case.view, request)
    pool = initial_columns(inst)
    lane_dual = -rng.integers(0, 15, len(pool.lane_rows)).astype(float)
    node_dual = -rng.integers(0, 15, len(pool.node_rows)).astype(float)
    # Demand duals a little above each shipment's cheapest route, so routes price out by
    # small margins (the ones a too-tight bound would lose).
    cheapest = np.where(np.isfinite(pool.lower_bound_pu), pool.lower_bound_pu, 0.0)
    demand_dual = np.array(
        [c.units * (cheapest[c.index] + float(rng.integers(0, 12))) for c in inst.commodities]
    )
    todo = [c for c in inst.commodities if not c.split]

    def both() -> tuple[list[Column], list[Column]]:
        priced = price(pool, demand_dual, lane_dual, node_dual, 1e-7)
        listed, _ = routes_within(pool, demand_dual, lane_dual, node_dual, 30.0, todo, 10**6)
        return priced, listed

    bounded = both()
    with patch.object(columns, "least_cost_to", lambda *_: None):
        full = both()
    assert bounded == full


@settings(max_examples=300, deadline=None)
@given(case=cases(max_nodes=7, max_lanes=16))
def test_initial_routes_by_the_fast_path_cost_what_the_dp_finds(case: Case) -> None:
    """The on-time cheapest path (Dijkstra) stands in for the static DP only where it is as
    cheap, and a late one only bounds the DP's search (A*): every commodity gets a route of
    the same cost, the same lower bound and the same blocked reason with and without them."""
    request = PlanRequest(
        now=NOW, shipments=case.shipments, horizon_days=case.horizon, risk_days=case.risk
    )
    fast_inst = compile_instance(case.view, request)
    fast = initial_columns(fast_inst)
    slow_inst = compile_instance(case.view, request)
    with patch.object(columns, "_on_time_cheapest", lambda *_: ({}, {}, {})):
        slow = initial_columns(slow_inst)
    np.testing.assert_allclose(fast.lower_bound_pu, slow.lower_bound_pu, rtol=1e-12)
    assert [c.blocked for c in fast_inst.commodities] == [c.blocked for c in slow_inst.commodities]
    assert [c.commodity for c in fast.columns] == [c.commodity for c in slow.columns]
    for a, b in zip(fast.columns, slow.columns, strict=True):
        assert a.cost_pu == pytest.approx(b.cost_pu, rel=1e-12, abs=1e-12)
        assert a.late_days == 0 or a.legs == b.legs
