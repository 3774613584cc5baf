"""The stress sweep on one live model ranks elements as a rebuild-per-element sweep does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin.domain.plans import PlanStatus
from twin.files.networks import load_network
from twin.network.graph import NetworkView, WhatIf
from twin.optimise import PlanRequest, extract
from twin.optimise.replan import replan
from twin.shipments.generate import generate_shipments
from twin.stress import Closure, Impact, Sweeper, closures, elements_of, rank, sweep

START = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> tuple[NetworkView, PlanRequest]:
    network, _ = load_network("demo")
    ships = generate_shipments(network, start=START, days=3, per_day=15, seed=3)
    return NetworkView(network), PlanRequest(now=START, shipments=tuple(ships))


def _rebuilt(view: NetworkView, request: PlanRequest, sweeper: Sweeper, element: str) -> Impact:
    """Close `element` by rebuilding: a fresh model of the network with it avoided, re-planning
    the shipments whose baseline routes it carries against everyone else's capacity."""
    network = view.network
    closed = NetworkView(network, WhatIf(avoid=frozenset({element})))
    baseline = extract(sweeper.model, sweeper.baseline)
    exposed = sorted(
        {
            a.shipment
            for a in baseline.assignments
            if any(not closed.lane_open(network.lane_by_id[leg.lane]) for leg in a.legs)
        }
    )
    if not exposed:
        return Impact(element, "", (element,), 0, 0.0, 0.0, 0.0, 0.0, "optimal")
    new, diff = replan(closed, request, baseline, exposed)
    late = {a.shipment: a.units for a in baseline.assignments if a.late_days > 0}
    return Impact(
        label=element,
        kind="",
        elements=(element,),
        affected_shipments=len(exposed),
        affected_units=0.0,
        added_cost=diff.cost_delta,
        unserved_units=sum(c.new_unserved - c.old_unserved for c in diff.changes),
        late_units=sum(a.units for a in new.assignments if a.late_days > 0)
        - sum(u for s, u in late.items() if s in exposed),
        status=new.status.value,
    )


def test_persistent_sweep_ranks_as_a_rebuild_per_element(
    demo: tuple[NetworkView, PlanRequest],
) -> None:
    view, request = demo
    sweeper = Sweeper(view, request)
    assert sweeper.baseline.status is PlanStatus.optimal
    used = {
        leg.lane for a in extract(sweeper.model, sweeper.baseline).assignments for leg in a.legs
    }
    network = view.network
    lanes = sorted(used)[:25] + [x.id for x in network.lanes if x.id not in used][:5]
    nodes = sorted({network.lane_by_id[x].from_ for x in used})[:15]
    chokepoints = [e for e, kind in elements_of(network, ["chokepoint"])]
    elements = chokepoints + nodes + lanes
    whole = sweeper.model.instance.horizon + 1
    swept = rank([sweeper.impact(c) for c in closures(elements, 0, whole)])
    rebuilt = rank([_rebuilt(view, request, sweeper, e) for e in elements])
    assert [i.label for i in swept] == [i.label for i in rebuilt]
    for a, b in zip(swept, rebuilt, strict=True):
        assert a.status == b.status == "optimal"
        assert a.affected_shipments == b.affected_shipments, a.label
        assert a.added_cost == pytest.approx(b.added_cost, rel=1e-7, abs=1e-5), a.label
        assert a.unserved_units == pytest.approx(b.unserved_units, abs=1e-6), a.label
        assert a.late_units == pytest.approx(b.late_units, abs=1e-6), a.label
    assert any(i.added_cost > 0 for i in swept)
    assert swept[-1].added_cost == pytest.approx(0.0, abs=1e-6)  # an unused lane costs nothing


def test_a_closure_span_only_closes_those_days(demo: tuple[NetworkView, PlanRequest]) -> None:
    view, request = demo
    sweeper = Sweeper(view, request)
    horizon = sweeper.model.instance.horizon
    whole = sweeper.impact(Closure(("SUEZ",), 0, horizon + 1))
    late_span = sweeper.impact(Closure(("SUEZ",), horizon, 1))
    never = sweeper.impact(Closure(("SUEZ",), horizon + 5, 3))
    assert whole.added_cost > 0
    assert never.added_cost == pytest.approx(0.0) and never.affected_shipments == 0
    assert late_span.added_cost <= whole.added_cost + 1e-6


def test_pairs_and_unknown_elements(demo: tuple[NetworkView, PlanRequest]) -> None:
    view, request = demo
    assert len(closures(["A", "B", "C"], pairs=True)) == 3
    with pytest.raises(ValueError, match="not a node, lane or chokepoint"):
        sweep(view, request, [Closure(("NOPE",))])
    report = sweep(view, request, closures(["SUEZ", "CAPE_OF_GOOD_HOPE"], pairs=True))
    assert [i.label for i in report.impacts] == ["SUEZ+CAPE_OF_GOOD_HOPE"]
