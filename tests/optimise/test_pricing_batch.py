"""Pricing in batches (a pass stops once it has `pricing_batch` new routes) changes how the
planner gets to its answer, never what it proves."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings

from tests.optimise.oracles import NOW, Case, cases, request_for, time_expanded_optimum
from tests.optimise.test_oracle_time_expanded import check_plan_is_feasible
from twin.domain.plans import PlanStatus
from twin.domain.records import Lane, Network, Node, Shipment
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, SolveOptions, build, plan
from twin.optimise import columns as columns_module
from twin.optimise.columns import price_within
from twin.optimise.solve import _Master


@settings(max_examples=60, deadline=None)
@given(cases(splits=(True, False), max_ships=8))
def test_batches_of_one_route_still_reach_the_proven_optimum(case: Case) -> None:
    # One start point per DP run and one route per shipment, so a pass can stop after any
    # of them (about one draw in seven then needs more rounds than with whole passes).
    options = SolveOptions(time_limit_s=30, pricing_batch=1, routes_per_round=1)
    with patch.object(columns_module, "KEYS_PER_RUN", 1):
        result = plan(case.view, request_for(case), options)
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)


def test_a_pass_cut_at_its_batch_prices_those_with_most_to_gain_and_proves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three shipments ready on days 0, 1 and 2 (three DP start points, one per run here)
    outgrow the cheap direct lane; the one with the most units has most to gain. A pass cut
    at one route prices it first, is a capped search, and leaves the others at -inf."""
    monkeypatch.setattr(columns_module, "KEYS_PER_RUN", 1)
    lanes = (
        Lane(id="AC", **{"from": "A"}, to="C", mode="road", transit_days=1, cost_per_unit=1,
             capacity=5),
        Lane(id="AB", **{"from": "A"}, to="B", mode="road", transit_days=1, cost_per_unit=2),
        Lane(id="BC", **{"from": "B"}, to="C", mode="road", transit_days=1, cost_per_unit=2),
    )  # fmt: skip
    nodes = tuple(
        Node(id=n, kind=k) for n, k in (("A", "origin"), ("B", "port"), ("C", "warehouse"))
    )
    net = Network(name="batch", nodes=nodes, lanes=lanes)
    ships = tuple(
        Shipment(
            id=f"S{day}", origin="A", destination="C", units=units,
            ready_at=NOW + timedelta(days=day), due_at=NOW + timedelta(days=9),
        )
        for day, units in ((0, 10), (1, 30), (2, 20))
    )  # fmt: skip
    model = build(NetworkView(net), PlanRequest(now=NOW, shipments=ships))
    master = _Master(model, SolveOptions())
    master.run(30)
    duals = master.duals()
    whole, capped_whole = price_within(model.pool, *duals, 1e-7, routes=1)
    assert not capped_whole and len(whole) == 3
    reduced = np.zeros(3)
    cut, capped = price_within(model.pool, *duals, 1e-7, routes=1, enough=1, reduced=reduced)
    assert capped and len(cut) == 1
    assert model.instance.commodities[cut[0].commodity].shipments == ("S1",)
    assert (cut[0].commodity, cut[0].legs) in {(c.commodity, c.legs) for c in whole}
    assert np.isneginf(reduced).sum() == 2
