"""Pricing adds day-shifted copies of each shipment's cheapest route (routes_per_round).

When a shipment's cheapest route fills its day, the next days' copies are what the master
needs next; priced one route per round, column generation finds them one day per round (the
daemon's HORMUZ re-plan ran out of time that way, docs/planner.md). The copies change only
how fast the LP optimum is reached, never the plan's value: checked against the
time-expanded oracle.
"""

from __future__ import annotations

from datetime import timedelta

import highspy
import pytest

from tests.optimise.oracles import NOW, Case, lane, time_expanded_optimum
from tests.optimise.test_oracle_time_expanded import check_plan_is_feasible
from twin.domain.plans import PlanStatus
from twin.domain.records import Network, Node, Shipment
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, SolveOptions, build, plan
from twin.optimise.solve import _Master


def saturated_chain() -> Case:
    """N0 -> N1 -> N2, two units a day on each lane; 24 units due on day 2, so the freight
    leaves over twelve days, each later day a day later (lateness 5 per unit-day)."""
    lanes = (lane(0, "N0", "N1", 1.0, 3.0, 2.0), lane(1, "N1", "N2", 1.0, 4.0, 2.0))
    nodes = tuple(Node(id=f"N{i}", kind="warehouse") for i in range(3))
    ship = Shipment(
        id="S0",
        origin="N0",
        destination="N2",
        units=24,
        ready_at=NOW,
        due_at=NOW + timedelta(days=2),
        split=True,
        late_penalty_per_unit_day=5.0,
    )
    return Case(
        NetworkView(Network(name="chain", nodes=nodes, lanes=lanes)), (ship,), 20, 300.0, {}
    )


@pytest.mark.parametrize("routes", [1, 8])
def test_shifted_copies_reach_the_oracle_optimum(routes: int) -> None:
    case = saturated_chain()
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=300.0,
    )
    result = plan(case.view, request, SolveOptions(routes_per_round=routes))
    assert result.status is PlanStatus.optimal
    assert result.objective == pytest.approx(time_expanded_optimum(case))
    check_plan_is_feasible(case, result)


def test_shifted_copies_fill_several_days_per_round() -> None:
    case = saturated_chain()
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=300.0,
    )
    one = plan(case.view, request, SolveOptions(routes_per_round=1))
    eight = plan(case.view, request, SolveOptions(routes_per_round=8))
    # One route a round: one more day per round, for twelve days of freight (20 rounds
    # measured); eight a round: 6.
    assert one.timing["rounds"] >= 12
    assert eight.timing["rounds"] * 3 <= one.timing["rounds"]
    assert eight.objective == pytest.approx(one.objective)


def test_a_later_run_gets_the_time_left_not_less() -> None:
    """HiGHS checks time_limit against its run clock summed over the model's runs: a later
    run given less time left than the runs before it used must still solve (it used to stop
    at once with `time limit`)."""
    case = saturated_chain()
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=300.0,
    )
    master = _Master(build(case.view, request), SolveOptions())
    assert master.run(30.0) == highspy.HighsModelStatus.kOptimal
    used = master.h.getRunTime()
    assert used > 0.0
    master.h.clearSolver()  # the next run starts cold, so it has work to do
    assert master.run(0.5) == highspy.HighsModelStatus.kOptimal
    # The limit HiGHS compares with its summed clock: what ran before plus the 0.5 s left.
    assert master.h.getOptionValue("time_limit")[1] == pytest.approx(used + 0.5)
