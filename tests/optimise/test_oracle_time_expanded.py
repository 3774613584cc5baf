"""The planner's optimum equals an independent time-expanded arc model on small instances."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings

from tests.optimise.oracles import NOW, Case, cases, time_expanded_optimum
from twin.domain.plans import Plan, PlanStatus
from twin.optimise import PlanRequest, SolveOptions, plan, timeline


def run(case: Case) -> Plan:
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=case.penalty,
        risk_days=case.risk,
    )
    return plan(case.view, request, SolveOptions(time_limit_s=30))


def check_plan_is_feasible(case: Case, result: Plan) -> None:
    """Every unit is routed or unserved; capacities hold per day; costs add up; time rules hold."""
    view, net = case.view, case.view.network
    units = defaultdict(float)
    lane_load: dict[tuple[str, int], float] = defaultdict(float)
    node_load: dict[tuple[str, int], float] = defaultdict(float)
    by_id = {s.id: s for s in case.shipments}
    for a in result.assignments:
        s = by_id[a.shipment]
        units[a.shipment] += a.units
        at = s.origin
        ready = timeline.ready_day(NOW, s.ready_at)
        for leg in a.legs:
            lane = net.lane_by_id[leg.lane]
            assert view.lane_open(lane) and lane.from_ == at
            depart = round(timeline.day_offset(NOW, leg.depart_at))
            arrive = round(timeline.day_offset(NOW, leg.arrive_at))
            assert depart >= ready
            lane_load[(lane.id, depart)] += a.units
            node_load[(lane.to, arrive)] += a.units
            at, ready = lane.to, arrive
        assert at == s.destination
        assert a.late_days == timeline.late_days(ready, timeline.due_day(NOW, s.due_at))
    for u in result.unserved:
        units[u.shipment] += u.units
        assert u.reason
    for s in case.shipments:
        assert units[s.id] == pytest.approx(s.units, abs=1e-6)
        if not s.split:
            assert (
                len([a for a in result.assignments if a.shipment == s.id])
                + len([u for u in result.unserved if u.shipment == s.id])
                == 1
            )
    for (lane_id, _day), load in lane_load.items():
        cap = view.lane_capacity(net.lane_by_id[lane_id])
        assert cap is None or load <= cap + 1e-6
    for (node_id, _day), load in node_load.items():
        cap = view.node_capacity(net.node_by_id[node_id])
        assert cap is None or load <= cap + 1e-6
    assert result.cost.total == pytest.approx(result.objective, rel=1e-7, abs=1e-6)
    assert sum(a.cost for a in result.assignments) == pytest.approx(
        result.cost.transport + result.cost.lateness + result.cost.risk, rel=1e-7, abs=1e-6
    )


@settings(max_examples=60)
@given(cases(splits=(True,)))
def test_splittable_lp_equals_time_expanded_oracle(case: Case) -> None:
    result = run(case)
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)


@settings(max_examples=60)
@given(cases(splits=(False,)))
def test_unsplittable_mip_equals_time_expanded_oracle(case: Case) -> None:
    result = run(case)
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)


@settings(max_examples=60)
@given(cases(splits=(True, False), max_ships=5))
def test_mixed_equals_time_expanded_oracle(case: Case) -> None:
    result = run(case)
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)
