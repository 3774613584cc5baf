"""Mixed splittable/unsplittable instances are solved to proven optimality (issue 18).

The defeating structure: an unsplittable shipment and a splittable one share a capacitated
lane. At the LP optimum the splittable shipment's second-cheapest route prices at exactly its
dual (it is "dominated" there), so column generation never lists it; but once the unsplittable
shipment takes the shared lane whole, that route is the only cheap way to finish the
splittable freight. Price-and-branch over the unsplittable routes alone then proves the wrong
plan optimal.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import highspy
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optimise.oracles import NOW, Case, cases, lane, time_expanded_optimum
from tests.optimise.test_oracle_time_expanded import check_plan_is_feasible, run
from twin.domain.plans import PlanStatus
from twin.domain.records import Network, Node, Shipment
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, SolveOptions, build, plan
from twin.optimise.solve import _Master


def four_node_case() -> Case:
    """N0 -> N2 on L0 (12/unit, 3 a day) or L1 (14/unit, 4 a day); N2 -> N3 on L2 (1/unit).

    S0: 2 units N0 -> N3, unsplittable; S1: 5 units N0 -> N2, splittable; horizon day 2, so
    S0 leaves N0 on day 0 and S1 on day 0 or 1. By hand: S0 on L0 (2 x 13 = 26) leaves L0 one
    unit on day 0 and three on day 1, so S1 sends 4 units on L0 (48) and 1 on L1 (14): 88.
    S0 on L1 (2 x 15 = 30) lets S1 fill L0 (5 x 12 = 60): 90, which the planner used to
    return as `optimal`.
    """
    lanes = (
        lane(0, "N0", "N2", 1.0, 12.0, 3.0),
        lane(1, "N0", "N2", 1.0, 14.0, 4.0),
        lane(2, "N2", "N3", 1.0, 1.0, 5.0),
    )
    nodes = tuple(Node(id=f"N{i}", kind="warehouse") for i in range(4))
    due = NOW + timedelta(days=2)
    ships = (
        Shipment(
            id="S0", origin="N0", destination="N3", units=2, ready_at=NOW, due_at=due, split=False
        ),
        Shipment(
            id="S1", origin="N0", destination="N2", units=5, ready_at=NOW, due_at=due, split=True
        ),
    )
    network = Network(name="four", nodes=nodes, lanes=lanes)
    return Case(NetworkView(network), ships, 2, 300.0, {})


def test_four_node_case_is_solved_to_the_hand_counted_optimum() -> None:
    case = four_node_case()
    result = run(case)
    assert time_expanded_optimum(case) == pytest.approx(88.0)
    assert result.status is PlanStatus.optimal
    assert result.objective == pytest.approx(88.0)
    assert result.lower_bound == pytest.approx(88.0)
    assert result.gap == pytest.approx(0.0, abs=1e-6)
    check_plan_is_feasible(case, result)
    s0 = result.for_shipment("S0")
    assert [a.path for a in s0] == [["L0", "L2"]]


def test_an_unfinished_proof_is_feasible_with_its_gap() -> None:
    case = four_node_case()
    request = PlanRequest(
        now=NOW, shipments=case.shipments, horizon_days=2, unserved_penalty_per_unit=300.0
    )
    result = plan(case.view, request, SolveOptions(node_limit=0))
    assert result.status is PlanStatus.feasible
    assert not result.status.applicable
    assert result.lower_bound is not None and result.objective is not None
    assert result.lower_bound <= 88.0 + 1e-9 <= result.objective + 2e-9
    assert result.gap == pytest.approx(result.objective - result.lower_bound)
    doc = result.to_document()
    assert doc["gap"] == result.gap and doc["lower_bound"] == result.lower_bound
    check_plan_is_feasible(case, result)


@st.composite
def shared_lane_cases(draw: st.DrawFn) -> Case:
    """Two hops N0 -> N1 -> N2 with three parallel capacitated lanes each; one unsplittable and
    one splittable shipment N0 -> N2 that together overfill the cheap lanes (the structure
    above; about 1 draw in 12 defeated the planner before the fix)."""
    lanes = []
    for hop in range(2):
        for _ in range(3):
            lanes.append(
                lane(
                    len(lanes),
                    f"N{hop}",
                    f"N{hop + 1}",
                    1.0,
                    float(draw(st.integers(0, 12))),
                    float(draw(st.integers(2, 6))),
                )
            )
    nodes = tuple(Node(id=f"N{i}", kind="warehouse") for i in range(3))
    due = NOW + timedelta(days=2)
    ships = (
        Shipment(
            id="U",
            origin="N0",
            destination="N2",
            units=draw(st.integers(2, 5)),
            ready_at=NOW,
            due_at=due,
            split=False,
        ),
        Shipment(
            id="S",
            origin="N0",
            destination="N2",
            units=draw(st.integers(1, 5)),
            ready_at=NOW,
            due_at=due,
            split=True,
        ),
    )
    return Case(
        NetworkView(Network(name="shared", nodes=nodes, lanes=tuple(lanes))), ships, 2, 300.0, {}
    )


@settings(max_examples=120, deadline=None)
@given(shared_lane_cases())
def test_shared_lane_mixes_equal_the_time_expanded_oracle(case: Case) -> None:
    result = run(case)
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)
    assert result.lower_bound == pytest.approx(result.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(cases(splits=(True,)))
def test_direct_master_equals_the_pyomo_model(case: Case) -> None:
    """solve hands HiGHS the pool's arrays; the declarative Pyomo model of the same columns,
    solved through Pyomo's own HiGHS interface, has the same optimum."""
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=case.penalty,
        risk_days=case.risk,
    )
    model = build(case.view, request)
    master = _Master(model, SolveOptions())
    assert master.run(30.0) == highspy.HighsModelStatus.kOptimal
    pyo.SolverFactory("appsi_highs").solve(model.model)
    assert master.objective() == pytest.approx(pyo.value(model.model.cost), rel=1e-9, abs=1e-9)


def test_out_of_time_before_any_mip_plan_still_gives_a_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When neither the dive nor any MIP run finds a plan in time, the LP's plan with the
    shipments it splits left unserved stands (feasible, with its proven gap), rather than no
    plan at all."""
    real_run, real_integrality = _Master.run, _Master.set_integrality
    mip_runs = []

    def set_integrality(self: _Master, integer: bool) -> None:
        self.integer_now = integer  # type: ignore[attr-defined]
        real_integrality(self, integer)

    def run(self: _Master, time_left: float) -> highspy.HighsModelStatus:
        if getattr(self, "integer_now", False):
            mip_runs.append(time_left)
            return highspy.HighsModelStatus.kTimeLimit
        return real_run(self, time_left)

    monkeypatch.setattr(_Master, "set_integrality", set_integrality)
    monkeypatch.setattr(_Master, "run", run)
    solve_module = importlib.import_module("twin.optimise.solve")
    monkeypatch.setattr(solve_module, "_has_solution", lambda master: False)
    # The dive's LPs ran out of time too.
    monkeypatch.setattr(solve_module, "_dive", lambda master, budget, values: None)
    case = four_node_case()
    request = PlanRequest(
        now=NOW, shipments=case.shipments, horizon_days=2, unserved_penalty_per_unit=300.0
    )
    # No branch-and-price: the plan is that one. S0 (2 units) unserved at 300 a unit; S1
    # re-optimised with it: all 5 units on L0 (3 on day 0, 2 on day 1) at 12.
    result = plan(case.view, request, SolveOptions(node_limit=0))
    assert mip_runs, "the LP left S0 split, so the incumbent MIP ran"
    assert result.status is PlanStatus.feasible
    check_plan_is_feasible(case, result)
    assert [u.shipment for u in result.unserved] == ["S0"]
    assert result.objective == pytest.approx(600.0 + 5 * 12.0)
    assert result.lower_bound is not None and result.lower_bound <= 88.0 + 1e-9
    # With branch-and-price, that plan is only where the tree starts: it proves the optimum.
    result = plan(case.view, request)
    assert result.status is PlanStatus.optimal
    assert result.objective == pytest.approx(88.0)
    check_plan_is_feasible(case, result)


def test_the_dive_alone_finds_the_optimum_of_the_defeating_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no MIP at all (mip_columns=0, as on a master too large for one), the dive from
    the LP to whole route choices finds the four-node case's optimum (88, two independent
    solvers), and the plan is exact only with the proof."""
    real_integrality = _Master.set_integrality
    integer_runs = []

    def set_integrality(self: _Master, integer: bool) -> None:
        integer_runs.append(integer)
        real_integrality(self, integer)

    monkeypatch.setattr(_Master, "set_integrality", set_integrality)
    case = four_node_case()
    request = PlanRequest(
        now=NOW, shipments=case.shipments, horizon_days=2, unserved_penalty_per_unit=300.0
    )
    result = plan(case.view, request, SolveOptions(node_limit=0, mip_columns=0))
    assert True not in integer_runs
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(88.0)
    assert result.status is PlanStatus.optimal
    assert result.lower_bound is not None and result.lower_bound >= 88.0 - 1e-6
