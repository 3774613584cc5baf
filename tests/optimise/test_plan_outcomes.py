"""Unserved units with reasons, typed statuses that are never applied, time rules, re-plans."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest

from tests.optimise.oracles import NOW, lane
from twin.bench.congested import peak_season
from twin.bench.plan import bench_shipments
from twin.domain.plans import Plan, PlanStatus
from twin.domain.records import Network, Node, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.network.synthetic import generate_network
from twin.optimise import (
    PlanRequest,
    Position,
    SolveOptions,
    build,
    extract,
    pipeline,
    plan,
    solve,
    timeline,
)
from twin.optimise.build import PlanModel
from twin.optimise.replan import replan
from twin.optimise.solve import INTEGER_SHARE, _Master


def small() -> Network:
    nodes = (
        Node(id="A", kind="origin", country="CN"),
        Node(id="B", kind="port", country="CN"),
        Node(id="C", kind="port", country="US", clearance_days=1.0, handling_days=0.5),
        Node(id="D", kind="warehouse", country="US"),
        Node(id="Z", kind="warehouse", country="US"),
    )
    lanes = (
        lane(0, "A", "B", 0.5, 2, None),
        lane(1, "B", "C", 10, 50, 30),
        lane(2, "B", "C", 3, 400, 10),
        lane(3, "C", "D", 1, 5, None),
    )
    return Network(name="small", nodes=nodes, lanes=lanes)


def shipment(
    sid: str, units: float, due_days: float, dest: str = "D", split: bool = True
) -> Shipment:
    return Shipment(
        id=sid,
        origin="A",
        destination=dest,
        units=units,
        ready_at=NOW,
        due_at=NOW + timedelta(days=due_days),
        split=split,
    )


def test_time_rules_give_eta_and_lateness() -> None:
    # A->B 1 day, B->C ceil(10 + 0.5 handling + 1 clearance) = 12, C->D 1: arrives day 14.
    result = plan(NetworkView(small()), PlanRequest(now=NOW, shipments=(shipment("S", 5, 12),)))
    (a,) = result.assignments
    assert a.path == ["L0", "L1", "L3"]
    assert a.eta == NOW + timedelta(days=14)
    assert a.late_days == 2
    assert result.cost.lateness == pytest.approx(5 * 2 * 4.0)
    assert timeline.arc_days(10, 0.5, 1.0) == 12


def test_unreachable_destination_is_unserved_with_reason() -> None:
    ships = (shipment("S1", 5, 20), shipment("S2", 7, 20, dest="Z"))
    result = plan(NetworkView(small()), PlanRequest(now=NOW, shipments=ships))
    assert result.status is PlanStatus.optimal
    assert [(u.shipment, u.units) for u in result.unserved] == [("S2", 7)]
    assert "no open route" in result.unserved[0].reason
    assert result.cost.unserved == pytest.approx(7 * 10_000)


def test_avoided_lane_reroutes_and_closed_network_leaves_units_unserved() -> None:
    view = NetworkView(small(), WhatIf(avoid=frozenset({"L1"})))
    result = plan(view, PlanRequest(now=NOW, shipments=(shipment("S1", 5, 20),)))
    assert result.assignments[0].path == ["L0", "L2", "L3"]
    shut = NetworkView(small(), WhatIf(avoid=frozenset({"C"})))
    result = plan(shut, PlanRequest(now=NOW, shipments=(shipment("S1", 5, 20),)))
    assert result.assignments == () and "no open route" in result.unserved[0].reason


def test_capacity_splits_or_leaves_unserved_with_reason() -> None:
    # By day 14 the slow lane (30/day, 12 days) can leave on day 1 only, the fast one (10/day,
    # 5 days) on days 1..8: 110 of 120 units arrive within the horizon.
    request = PlanRequest(now=NOW, shipments=(shipment("S", 120, 14),), horizon_days=14)
    result = plan(NetworkView(small()), request)
    assert sum(a.units for a in result.assignments) == pytest.approx(110)
    assert result.unserved[0].units == pytest.approx(10)
    assert "no capacity" in result.unserved[0].reason
    # Unsplittable: the whole shipment must fit one route.
    request = PlanRequest(now=NOW, shipments=(shipment("S", 25, 30, split=False),), horizon_days=30)
    result = plan(NetworkView(small()), request)
    assert len(result.assignments) == 1 and result.assignments[0].units == 25


def test_time_limit_gives_a_typed_status_that_is_never_applicable() -> None:
    net = generate_network(200, 2000, seed=3)
    request = PlanRequest(now=NOW, shipments=tuple(bench_shipments(net, 500, NOW, seed=3)))
    model = build(NetworkView(net), request)
    result = solve(model, SolveOptions(time_limit_s=0.0))
    assert result.status in (PlanStatus.time_limit, PlanStatus.feasible)
    assert not result.status.applicable
    planned = extract(model, result)
    assert planned.status is result.status and not planned.status.applicable


def test_column_generation_leaves_the_integer_stage_time_for_a_plan() -> None:
    """Once the root column generation has used all but INTEGER_SHARE of the budget it
    stops, and the integer stage still makes a plan from the routes found (`feasible`, no
    LP bound claimed). The clock jumps to 85 of 100 s after the first LP."""
    net = generate_network(200, 2000, seed=3)
    request = PlanRequest(now=NOW, shipments=tuple(bench_shipments(net, 100, NOW, seed=3)))
    model = build(NetworkView(net), request)
    master_runs = []
    real_run = _Master.run

    def run(self: _Master, time_left: float) -> object:
        master_runs.append(time_left)
        return real_run(self, time_left)

    def clock() -> float:
        return 85.0 if master_runs else 0.0

    with patch.object(_Master, "run", run):
        result = solve(model, SolveOptions(time_limit_s=100.0), clock)
    assert INTEGER_SHARE * 100.0 >= 100.0 - 85.0
    assert result.rounds == 1
    assert result.status is PlanStatus.feasible and result.objective is not None
    assert result.lp_bound is None and "column generation stopped" in result.message
    planned = extract(model, result)
    assert planned.assignments


def test_statuses_only_optimal_is_applicable() -> None:
    assert [s for s in PlanStatus if s.applicable] == [PlanStatus.optimal]


def test_replan_moves_only_exposed_shipments_within_residual_capacity() -> None:
    net = small()
    ships = (shipment("S1", 20, 20), shipment("S2", 15, 20), shipment("S3", 5, 20))
    request = PlanRequest(now=NOW, shipments=ships)
    current = plan(NetworkView(net), request)
    assert all(a.path == ["L0", "L1", "L3"] for a in current.assignments)
    # The slow sea lane is to be avoided: S2 and S3 are exposed, S1 keeps its route.
    view = NetworkView(net, WhatIf(avoid=frozenset({"L1"})))
    new, diff = replan(view, request, current, ["S2", "S3"])
    assert new.status is PlanStatus.optimal
    assert {a.shipment for a in new.assignments} | {u.shipment for u in new.unserved} == {
        "S2",
        "S3",
    }
    # The fast lane takes 10/day; S1's reservation is on L1, which is avoided anyway.
    assert all(a.path == ["L0", "L2", "L3"] for a in new.assignments)
    by = {c.shipment: c for c in diff.changes}
    assert by["S3"].old_paths == (("L0", "L1", "L3"),) and by["S3"].new_paths == (
        ("L0", "L2", "L3"),
    )
    assert by["S3"].eta_delta_days is not None and by["S3"].eta_delta_days < 0
    assert by["S3"].late_days_avoided == 0
    assert diff.cost_delta == pytest.approx(sum(c.cost_delta for c in diff.changes))


def test_replan_respects_capacity_held_by_others() -> None:
    net = small()
    ships = tuple(
        s.model_copy(update={"late_penalty_per_unit_day": 100.0})
        for s in (shipment("S1", 8, 8), shipment("S2", 5, 8))
    )
    request = PlanRequest(now=NOW, shipments=ships, horizon_days=20)
    current = plan(NetworkView(net), request)
    # Both are late on the slow lane, so the fast lane (10/day) carries them on day 1 and 2.
    fast = [a for a in current.assignments if a.path[1] == "L2"]
    assert sum(a.units for a in fast) == pytest.approx(13)
    new, _ = replan(NetworkView(net), request, current, ["S2"])
    load: dict = {}
    for a in list(new.assignments) + [a for a in current.assignments if a.shipment != "S2"]:
        for leg in a.legs:
            load[(leg.lane, leg.depart_at)] = load.get((leg.lane, leg.depart_at), 0) + a.units
    assert all(v <= 10 + 1e-6 for (lane_id, _), v in load.items() if lane_id == "L2")


def test_position_overrides_origin_and_ready_time() -> None:
    s = shipment("S", 5, 20)
    request = PlanRequest(
        now=NOW, shipments=(s,), positions={"S": Position("C", NOW + timedelta(days=3, hours=2))}
    )
    (a,) = plan(NetworkView(small()), request).assignments
    assert a.path == ["L3"] and a.eta == NOW + timedelta(days=5)


def test_the_time_limit_counts_the_build() -> None:
    """`plan`'s budget runs from the start of the build: a build that takes 85 of 100 s
    leaves column generation too little to go on past its first LP (INTEGER_SHARE is kept
    for the integer stage), and the plan still comes back, `feasible` with no bound
    claimed. The same plan with a build that takes no time proves its LP optimum."""
    net = generate_network(200, 2000, seed=3)
    request = PlanRequest(now=NOW, shipments=tuple(bench_shipments(net, 100, NOW, seed=3)))
    real_build = pipeline.build

    def planned(build_s: float) -> Plan:
        now = [0.0]

        def slow_build(*args: Any) -> PlanModel:
            out = real_build(*args)
            now[0] += build_s
            return out

        with patch.object(pipeline, "build", slow_build):
            return plan(NetworkView(net), request, SolveOptions(time_limit_s=100.0), lambda: now[0])

    late = planned(85.0)
    assert late.status is PlanStatus.feasible and late.assignments
    assert "column generation stopped" in late.message and late.lower_bound is None
    assert late.timing["rounds"] == 1
    quick = planned(0.0)
    assert quick.status is PlanStatus.optimal and quick.lower_bound is not None


def test_column_generation_cut_short_still_proves_a_lagrangian_bound() -> None:
    """A budget that ends after the first whole pricing pass leaves no LP optimum, but that
    pass bounds every plan (LP value + each shipment's least reduced cost): the plan is
    `feasible` with that bound, which is at most the LP optimum over every route that the
    same solve with time proves, and at most its plan's cost."""
    net = generate_network(40, 200, seed=7)
    shipments = tuple(bench_shipments(net, 80, NOW, seed=7))
    view = NetworkView(net, WhatIf(capacity_pct=peak_season(net, shipments, 0.5)))
    request = PlanRequest(now=NOW, shipments=shipments)
    full = solve(build(view, request), SolveOptions(time_limit_s=60))
    assert full.lp_bound is not None and full.rounds > 2 and full.objective is not None
    solve_module = importlib.import_module("twin.optimise.solve")
    passes = []
    real_price = solve_module.price_within

    def price_within(*args: Any, **kwargs: Any) -> Any:
        out = real_price(*args, **kwargs)
        passes.append(kwargs.get("reduced") is not None)
        return out

    def clock() -> float:
        return 90.0 if passes else 0.0

    with patch.object(solve_module, "price_within", price_within):
        cut = solve(build(view, request), SolveOptions(time_limit_s=100.0), clock)
    assert passes == [True]
    assert cut.status is PlanStatus.feasible and cut.lp_bound is None
    assert cut.lower_bound is not None and cut.objective is not None
    assert cut.lower_bound <= full.lp_bound + 1e-6 * abs(full.lp_bound)
    assert cut.lower_bound <= cut.objective and cut.gap == cut.objective - cut.lower_bound
