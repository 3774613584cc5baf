"""The re-planner: build a routing model, solve it with HiGHS, extract a plan (L1 pure core)."""

from __future__ import annotations

import time

from twin.domain.plans import Plan
from twin.network.graph import NetworkView
from twin.optimise.build import PlanModel, build
from twin.optimise.extract import extract
from twin.optimise.request import PlanRequest, Position, SolveOptions
from twin.optimise.solve import SolveResult, solve

__all__ = [
    "Plan",
    "PlanModel",
    "PlanRequest",
    "Position",
    "SolveOptions",
    "SolveResult",
    "build",
    "extract",
    "plan",
    "solve",
]


def plan(view: NetworkView, request: PlanRequest, options: SolveOptions | None = None) -> Plan:
    """Build, solve and extract in one call, with the timing of each step in `Plan.timing`.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from twin.domain.records import Lane, Network, Node, Shipment
    >>> net = Network(name="x", nodes=(Node(id="A", kind="origin"), Node(id="B", kind="warehouse")),
    ...     lanes=(Lane(id="AB", **{"from": "A"}, to="B", mode="road", transit_days=2, cost_per_unit=3),))
    >>> s = Shipment(id="S1", origin="A", destination="B", units=10,
    ...     ready_at="2024-01-01T00:00:00Z", due_at="2024-01-05T00:00:00Z")
    >>> p = plan(NetworkView(net), PlanRequest(now=s.ready_at, shipments=(s,)))
    >>> p.status.value, p.objective, p.assignments[0].path
    ('optimal', 30.0, ['AB'])
    """
    t0 = time.perf_counter()
    model = build(view, request)
    t1 = time.perf_counter()
    result = solve(model, options)
    t2 = time.perf_counter()
    timing = {
        "build_s": t1 - t0,
        "solve_s": t2 - t1,
        "highs_s": result.highs_s,
        **model.parts_s,
        **result.parts_s,
    }
    out = extract(model, result, timing)
    t3 = time.perf_counter()
    out.timing["extract_s"] = t3 - t2
    out.timing["total_s"] = t3 - t0
    return out
