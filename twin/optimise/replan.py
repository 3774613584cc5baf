"""Re-plan only the exposed shipments, against the capacity everyone else's plan leaves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from twin.domain.plans import (
    Assignment,
    Plan,
    ReplanDiff,
    RouteChange,
    StartRoute,
    start_routes_by_shipment,
)
from twin.network.graph import NetworkView
from twin.optimise.pipeline import Clock, gc_paused, plan
from twin.optimise.request import PlanRequest, SolveOptions
from twin.optimise.timeline import DAY, day_of

# A re-plan's master is small beside its pricing (everyone else's capacity is fixed and most
# exposed shipments start from their routes in force): its pricing passes stop at this many
# new routes, the shipments with most to gain first, so the LP sees them a few times a pass.
# The 10,000-shipment XL re-plan: 11,209 units unserved at its 10 s budget with whole
# passes, 1,290 with these (docs/planner.md). Full plans keep whole passes (L: 8.0 s whole,
# 10.3 s in batches).
REPLAN_PRICING_BATCH = 2_000


def replan_options(options: SolveOptions | None = None) -> SolveOptions:
    """`options` (default: the defaults) with pricing in batches unless they say otherwise."""
    options = options or SolveOptions()
    if options.pricing_batch is None:
        options = replace(options, pricing_batch=REPLAN_PRICING_BATCH)
    return options


def reserved_by(
    current: Plan, now: datetime, exclude: set[str]
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    """Units each (lane, departure day) and (node, day) carries in `current` for shipments
    not in `exclude`, on the day grid of `now` (a leg counts in the bucket its time falls in;
    legs before `now` no longer take capacity)."""
    lanes: dict[tuple[str, int], float] = defaultdict(float)
    nodes: dict[tuple[str, int], float] = defaultdict(float)
    # A plan's routes share their leg objects (one per lane and day: twin.optimise.extract)
    # and its legs start and end on few distinct times: each is placed once.
    days: dict[datetime, int] = {}
    placed: dict[int, tuple[tuple[str, int], tuple[str, int]]] = {}

    def day(ts: datetime) -> int:
        d = days.get(ts)
        if d is None:
            d = days[ts] = day_of(now, ts)
        return d

    for a in current.assignments:
        if a.shipment in exclude:
            continue
        for leg in a.legs:
            keys = placed.get(id(leg))
            if keys is None:
                keys = placed[id(leg)] = (
                    (leg.lane, day(leg.depart_at)),
                    (leg.to_node, day(leg.arrive_at)),
                )
            if keys[0][1] >= 0:
                lanes[keys[0]] += a.units
            if keys[1][1] >= 0:
                nodes[keys[1]] += a.units
    return dict(lanes), dict(nodes)


def current_routes(current: Plan, shipments: set[str]) -> dict[str, tuple[StartRoute, ...]]:
    """The routes `current` gives each of `shipments`, as start routes for re-planning them:
    those the change left open are where column generation starts."""
    return start_routes_by_shipment(a for a in current.assignments if a.shipment in shipments)


def replan(
    view: NetworkView,
    request: PlanRequest,
    current: Plan,
    exposed: Iterable[str],
    options: SolveOptions | None = None,
    clock: Clock | None = None,
) -> tuple[Plan, ReplanDiff]:
    """Re-route the exposed shipments only; everyone else keeps the capacity they hold.

    Parameters
    ----------
    view : NetworkView
        The network under the what-ifs that made the shipments exposed (e.g. an avoided
        chokepoint).
    request : PlanRequest
        The shipments (at least the exposed ones), their current positions and `now`.
    current : Plan
        The plan in force; its other shipments' legs are reserved capacity.
    exposed : ids of the shipments to re-plan.
    options : SolveOptions, optional
        Pricing runs in batches (`REPLAN_PRICING_BATCH`) unless they set `pricing_batch`.
    clock : the caller's clock for the time budget and timings (see `plan`).

    Returns
    -------
    (Plan, ReplanDiff)
        The plan for the exposed shipments and, per exposed shipment, old route -> new route,
        cost delta, ETA delta and late days avoided. Check `Plan.status.applicable` before
        acting on it.

    Raises
    ------
    ValueError
        If an exposed id is not a shipment of the request.
    """
    with gc_paused():
        return _replan(view, request, current, exposed, options, clock)


def _replan(
    view: NetworkView,
    request: PlanRequest,
    current: Plan,
    exposed: Iterable[str],
    options: SolveOptions | None,
    clock: Clock | None,
) -> tuple[Plan, ReplanDiff]:
    # The budget counts from here: reserving everyone else's capacity is part of the re-plan.
    started = clock() if clock else None
    wanted = list(dict.fromkeys(exposed))
    known = {s.id for s in request.shipments}
    missing = [s for s in wanted if s not in known]
    if missing:
        raise ValueError(f"exposed shipments not in the request: {', '.join(missing[:5])}")
    chosen = set(wanted)
    lanes, nodes = reserved_by(current, request.now, chosen)
    for key, units in request.reserved_lane.items():
        lanes[key] = lanes.get(key, 0.0) + units
    for key, units in request.reserved_node.items():
        nodes[key] = nodes.get(key, 0.0) + units
    sub = replace(
        request,
        shipments=tuple(s for s in request.shipments if s.id in chosen),
        reserved_lane=lanes,
        reserved_node=nodes,
        start_routes={**current_routes(current, chosen), **request.start_routes},
    )
    new = plan(view, sub, replan_options(options), clock, started)
    return new, diff_plans(current, new, wanted, request.unserved_penalty_per_unit)


def diff_plans(
    old: Plan, new: Plan, shipments: Iterable[str], unserved_penalty: float
) -> ReplanDiff:
    """Per shipment, how `new` routes it compared with `old` (costs include the unserved
    penalty of units left unrouted, so a plan that drops freight does not look cheap)."""
    wanted = list(dict.fromkeys(shipments))
    old_by, new_by = _by_shipment(old, set(wanted)), _by_shipment(new, set(wanted))
    changes = []
    for sid in wanted:
        o, n = old_by.get(sid, ([], 0.0)), new_by.get(sid, ([], 0.0))
        old_cost = sum(a.cost for a in o[0]) + o[1] * unserved_penalty
        new_cost = sum(a.cost for a in n[0]) + n[1] * unserved_penalty
        old_eta = max((a.eta for a in o[0]), default=None)
        new_eta = max((a.eta for a in n[0]), default=None)
        old_late = max((a.late_days for a in o[0]), default=0.0)
        new_late = max((a.late_days for a in n[0]), default=0.0)
        changes.append(
            RouteChange(
                shipment=sid,
                old_paths=tuple(tuple(a.path) for a in o[0]),
                new_paths=tuple(tuple(a.path) for a in n[0]),
                old_cost=old_cost,
                new_cost=new_cost,
                cost_delta=new_cost - old_cost,
                old_eta=old_eta,
                new_eta=new_eta,
                eta_delta_days=(new_eta - old_eta) / DAY if old_eta and new_eta else None,
                old_late_days=old_late,
                new_late_days=new_late,
                late_days_avoided=old_late - new_late,
                old_unserved=o[1],
                new_unserved=n[1],
            )
        )
    return ReplanDiff(
        changes=tuple(changes),
        cost_delta=sum(c.cost_delta for c in changes),
        late_days_avoided=sum(c.late_days_avoided for c in changes),
    )


def _by_shipment(p: Plan, wanted: set[str]) -> dict[str, tuple[list[Assignment], float]]:
    out: dict[str, tuple[list[Assignment], float]] = {}
    for a in p.assignments:
        if a.shipment in wanted:
            out.setdefault(a.shipment, ([], 0.0))[0].append(a)
    for u in p.unserved:
        if u.shipment not in wanted:
            continue
        routes, units = out.get(u.shipment, ([], 0.0))
        out[u.shipment] = (routes, units + u.units)
    return out
