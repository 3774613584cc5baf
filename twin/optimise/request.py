"""What a planning call asks for: shipments, where they are now, risk, reserved capacity, options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from twin.domain.plans import StartRoute
from twin.domain.records import Shipment


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


Clock = Callable[
    [], float
]  # seconds, for a caller that times the planner (the core reads no clock)


@dataclass(frozen=True)
class Position:
    """Where a shipment is now: the node, and when it is available there to leave."""

    node: str
    available_at: datetime


@dataclass(frozen=True)
class PlanRequest:
    """Everything a plan depends on besides the network view; `now` is passed in, never read.

    shipments: the shipments to route.
    positions: shipment id -> current Position (default: its origin at `ready_at`).
    risk_days: node or lane id -> expected delay days; priced like lateness (days x units x the
        shipment's penalty per unit day) on every route that enters the node or uses the lane
        (a lane's `via` chokepoints and borders count for the lane).
    reserved_lane: (lane id, departure day) -> units already taken by freight not in this
        request (re-planning routes against the residual capacity).
    reserved_node: (node id, day) -> units of throughput already taken the same way.
    horizon_days: last day bucket an arrival may fall in; default: the latest due day plus
        `late_window_days`. Units that cannot arrive by then are unserved.
    unserved_penalty_per_unit: money per unit left unrouted; it must exceed any route's cost
        for the plan to route everything it can.
    lane_cost_adder: lane id -> money per unit added to the lane's transport cost (a carbon
        price: twin.emissions.Emissions.carbon_cost_per_unit); linear, so the model stays one.
    start_routes: shipment id -> routes known to be good for it (e.g. the plan in force), each
        a tuple of (lane id, departure time). Column generation starts from those that are
        still timed routes of this network from the shipment's position; they change how
        fast the planner gets to its answer, never what it proves (docs/planner.md).
    """

    now: datetime
    shipments: tuple[Shipment, ...]
    positions: Mapping[str, Position] = field(default_factory=_empty)
    risk_days: Mapping[str, float] = field(default_factory=_empty)
    reserved_lane: Mapping[tuple[str, int], float] = field(default_factory=_empty)
    reserved_node: Mapping[tuple[str, int], float] = field(default_factory=_empty)
    horizon_days: int | None = None
    late_window_days: int = 14
    unserved_penalty_per_unit: float = 10_000.0
    lane_cost_adder: Mapping[str, float] = field(default_factory=_empty)
    start_routes: Mapping[str, tuple[StartRoute, ...]] = field(default_factory=_empty)

    def position_of(self, shipment: Shipment) -> Position:
        return self.positions.get(shipment.id) or Position(shipment.origin, shipment.ready_at)


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: limits, tolerances and the HiGHS options measured on our instances.

    presolve_rule_off: HiGHS presolve rules to switch off; 1024 drops the dependent-equations
        search, measured 8-30x faster on flow models (docs/planner.md).
    time_limit_s: the caller's time budget, measured by the clock the caller passes to
        `solve` (without one, by HiGHS's own run time).
    max_rounds: column-generation rounds before giving up proving the LP optimum.
    pricing_cap: pricing first looks only at routes costing up to this multiple of each
        shipment's capacity-free cheapest route (per unit, plus pricing_cap - 1), widening
        x4 whenever a round finds nothing under it (and to no cap past 64); None: no cap.
        The LP optimum is proven only by a round with no cap, so results do not depend on
        it, only the time to reach them (docs/planner.md).
    routes_per_round: pricing adds, per shipment, its cheapest route at the duals and up to
        routes_per_round - 1 copies of it leaving 1, 2, ... days later that also price out
        (when the route's day fills, the master needs the next days': one route per round
        finds them one day per round, docs/planner.md); 1: the cheapest only. Default 8:
        the replays' golden KPIs are unchanged with it (tests/replay/test_golden.py).
    pricing_batch: a pricing pass stops once it has this many new routes, the shipments
        with most to gain priced first (`columns.price_within`); the LP optimum is still
        proven only by a whole pass that finds none. None: every pass is whole.
    """

    time_limit_s: float = 120.0
    mip_rel_gap: float = 1e-6
    presolve_rule_off: int = 1024
    threads: int | None = None
    max_rounds: int = 500
    pricing_cap: float | None = 1.5
    routes_per_round: int = 8
    pricing_batch: int | None = None
    # Share of time_limit_s the MIP over every generated route may take when looking for the
    # plan branch-and-price starts from (it starts from a plan of its own, so one is there).
    mip_share: float = 0.25
    # The MIP over every generated route runs (after the dive that finds the first plan)
    # only on a master with at most this many integer columns: on the XL bench's 260,000
    # bare highspy's MIP alone took 92 s (docs/planner.md).
    mip_columns: int = 100_000
    # Above this many integer columns the MIP keeps only the routes the LP optimum or the
    # dive takes (docs/planner.md: XL).
    mip_restrict_columns: int = 20_000
    reduced_cost_tol: float = 1e-7
    # Routes per unsplittable shipment listed when closing the price-and-branch gap; beyond
    # it the plan is exact over the generated routes only and reported `feasible`.
    gap_routes_cap: int = 200
    # Branch-and-price nodes before giving up the proof (the plan is then `feasible`, with
    # its proven gap).
    node_limit: int = 2_000
    log: bool = False
