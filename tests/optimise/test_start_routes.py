"""Start routes (e.g. the plan in force, when re-planning) change where column generation
starts, never what the planner proves: the optimum still equals the independent oracle."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optimise.oracles import NOW, Case, cases, request_for, time_expanded_optimum
from tests.optimise.test_oracle_time_expanded import check_plan_is_feasible, run
from twin.domain.plans import PlanStatus
from twin.domain.records import Lane, Network, Node, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.optimise import PlanRequest, SolveOptions, build, plan
from twin.optimise import columns as columns_module
from twin.optimise.columns import ColumnPool, start_legs
from twin.optimise.instance import compile_instance
from twin.optimise.replan import current_routes, replan
from twin.optimise.request import Position


@st.composite
def with_start_routes(draw: st.DrawFn) -> tuple[Case, dict]:
    """A case and, per shipment, start routes: its optimal routes, shifted copies and random
    lane walks (most of those are not timed routes at all)."""
    case = draw(cases(splits=(True, False), max_ships=4))
    lanes = list(case.view.network.lanes)
    optimal = run(case)
    routes: dict[str, list] = {}
    for a in optimal.assignments:
        if draw(st.booleans()):
            shift = timedelta(days=draw(st.integers(0, 2)))
            routes.setdefault(a.shipment, []).append(
                tuple((leg.lane, leg.depart_at + shift) for leg in a.legs)
            )
    for s in case.shipments:
        for _ in range(draw(st.integers(0, 2))):
            walk = draw(st.lists(st.sampled_from(lanes), min_size=1, max_size=3))
            days = draw(
                st.lists(st.integers(0, case.horizon), min_size=len(walk), max_size=len(walk))
            )
            routes.setdefault(s.id, []).append(
                tuple(
                    (lane.id, NOW + timedelta(days=d))
                    for lane, d in zip(walk, sorted(days), strict=True)
                )
            )
    return case, {sid: tuple(r) for sid, r in routes.items()}


@settings(max_examples=60, deadline=None)
@given(with_start_routes())
def test_start_routes_never_change_the_proven_optimum(drawn: tuple[Case, dict]) -> None:
    case, routes = drawn
    request = request_for(case, start_routes=routes)
    result = plan(case.view, request, SolveOptions(time_limit_s=30))
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)


def _line() -> Network:
    """A -> B -> C by road (1 day each, B a port), and A -> C by air (1 day)."""
    nodes = tuple(
        Node(id=n, kind=k) for n, k in (("A", "origin"), ("B", "port"), ("C", "warehouse"))
    )

    def lane(i: str, a: str, b: str, cost: float) -> Lane:
        return Lane(id=i, **{"from": a}, to=b, mode="road", transit_days=1, cost_per_unit=cost)

    return Network(
        name="line",
        nodes=nodes,
        lanes=(lane("AB", "A", "B", 1), lane("BC", "B", "C", 1), lane("AC", "A", "C", 5)),
    )


def _day(d: int):
    return NOW + timedelta(days=d)


def test_start_legs_keep_timed_routes_only_and_the_part_left_from_the_position() -> None:
    ship = Shipment(id="S", origin="A", destination="C", units=5, ready_at=NOW, due_at=_day(9))
    moved = Shipment(id="M", origin="A", destination="C", units=5, ready_at=NOW, due_at=_day(9))
    request = PlanRequest(
        now=NOW,
        shipments=(ship, moved),
        positions={"M": Position("B", _day(2))},
        start_routes={
            "S": (
                (("AB", _day(0)), ("BC", _day(1))),  # a timed route
                (("AB", _day(1)), ("BC", _day(1))),  # leaves B before it gets there
                (("AB", _day(0)),),  # stops short of C
                (("AC", _day(3)),),  # on the closed lane
            ),
            # Already at B: what is left of the route from B on day 2 or later.
            "M": ((("AB", _day(0)), ("BC", _day(2))), (("AB", _day(0)), ("BC", _day(1)))),
        },
    )
    instance = compile_instance(NetworkView(_line(), WhatIf(avoid=frozenset({"AC"}))), request)
    lane = {lane_id: i for i, lane_id in enumerate(instance.lane_ids)}
    by_shipment = {instance.commodities[k].shipments[0]: v for k, v in start_legs(instance).items()}
    assert by_shipment == {
        "S": [((lane["AB"], 0), (lane["BC"], 1))],
        "M": [((lane["BC"], 2),)],
    }


def test_a_replan_starts_from_the_routes_the_change_left_open() -> None:
    ships = tuple(
        Shipment(id=f"S{i}", origin="A", destination="C", units=5, ready_at=NOW, due_at=_day(9))
        for i in range(3)
    )
    net = _line()
    request = PlanRequest(now=NOW, shipments=ships)
    current = plan(NetworkView(net), request)
    assert {tuple(a.path) for a in current.assignments} == {("AB", "BC")}
    routes = current_routes(current, {"S0", "S1"})
    assert set(routes) == {"S0", "S1"}
    # With AB derated to nothing, the start routes are gone and the re-plan flies.
    closed = NetworkView(net, WhatIf(avoid=frozenset({"AB"})))
    new, diff = replan(closed, request, current, ["S0", "S1"])
    assert new.status is PlanStatus.optimal
    assert {tuple(a.path) for a in new.assignments} == {("AC",)}
    assert diff.cost_delta == pytest.approx(2 * 5 * (5 - 2))
    # With nothing closed, the start routes are already optimal: the pool starts with them.
    model = build(NetworkView(net), replace(request, start_routes=routes, shipments=ships[:2]))
    assert {tuple(lane for lane, _ in col.legs) for col in model.pool.columns} == {
        (model.instance.lane_ids.index("AB"), model.instance.lane_ids.index("BC"))
    }


def test_a_new_pool_takes_the_dp_buffers_of_one_that_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Earlier plans' pools that sit in reference cycles give their buffers back now, not
    # mid-test; then no spare buffers are left (larger ones would rightly be taken first).
    gc.collect()
    monkeypatch.setattr(columns_module, "_SPARE_BUFFERS", [])
    ships = tuple(
        Shipment(id=f"S{i}", origin="A", destination="C", units=5, ready_at=NOW, due_at=_day(9))
        for i in range(3)
    )
    instance = compile_instance(NetworkView(_line()), PlanRequest(now=NOW, shipments=ships))
    first = ColumnPool(instance)
    held = [id(b) for b in columns_module._buffers(first, 3)]
    del first  # in no cycle: its finalizer runs here
    second = ColumnPool(instance)
    assert [id(b) for b in columns_module._buffers(second, 3)] == held
    # A buffer handed over is all inf again, whatever the last run wrote.
    assert all(float(b.flat.min()) == float("inf") for b in second.dp_buffers)
