"""The action registry: each playbook action previews (a dry run, pure), applies (through an
Effector) and says what it leaves in force.

Preview builds a Proposal step by step: constraints (a WhatIf), per-shipment changes with their
new timed routes, holds and notifications. Nothing is changed by a preview. Apply hands the
rendered actions of an approved incident to an Effector, the one object that touches the world
(the store, the notifier); L1 never does. `in_force` is what an applied action keeps in force
(an avoided node, a derated lane, a held shipment) and until when: the engine keeps these, and
rebuilds them from the stored incidents after a restart by asking the registry again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel

from twin.domain.alerts import Alert, Exposure
from twin.domain.durations import parse_duration
from twin.domain.incidents import Incident, Notification, ShipmentChange
from twin.domain.plans import (
    Assignment,
    CostBreakdown,
    Leg,
    Plan,
    PlanStatus,
    ProposalStatus,
    Routes,
    StartRoute,
    as_start_routes,
    worse_status,
)
from twin.domain.records import Lane, Network, Shipment
from twin.domain.stock import StockImpact, StockMove
from twin.emissions import Emissions, routes_co2e_kg
from twin.network.graph import NetworkView, WhatIf
from twin.playbook import template
from twin.playbook.schema import (
    ACTION_PARAMS,
    AvoidParams,
    DerateParams,
    ExpediteCustomsParams,
    HoldParams,
    NotifyParams,
    ReplanParams,
    ShiftModeParams,
)
from twin.shipments import diversion
from twin.shipments.capacity import ReservedAt, reserved_lane_capacity
from twin.stock.moves import Situation

# Money per unit a re-plan leaves unrouted when options are compared (the planner's default).
UNSERVED_PENALTY = 10_000.0


class Replanner(Protocol):
    """Re-plans some shipments on a network view; twin.optimise is the real one (OptimiseReplanner)."""

    def replan(
        self,
        view: NetworkView,
        shipments: Sequence[Shipment],
        *,
        now: datetime,
        positions: Mapping[str, tuple[str, datetime]],
        risk_days: Mapping[str, float],
        reserved: Mapping[tuple[str, int], float],
        start_routes: Mapping[str, tuple[StartRoute, ...]] | None = None,
    ) -> Plan: ...


class OptimiseReplanner:
    """The production re-planner: twin.optimise's model solved by HiGHS (only `optimal` applies).

    lane_cost_adder: money per unit per lane added to transport (a carbon price, twin.emissions).
    """

    def __init__(self, lane_cost_adder: Mapping[str, float] | None = None):
        self.lane_cost_adder = dict(lane_cost_adder or {})

    def replan(
        self,
        view: NetworkView,
        shipments: Sequence[Shipment],
        *,
        now: datetime,
        positions: Mapping[str, tuple[str, datetime]],
        risk_days: Mapping[str, float],
        reserved: Mapping[tuple[str, int], float],
        start_routes: Mapping[str, tuple[StartRoute, ...]] | None = None,
        time_limit_s: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Plan:
        """`time_limit_s` with `clock`: the solve stops after that many seconds of `clock`
        (wall time, pricing included), not the planner's default limit of HiGHS time.
        `start_routes` (e.g. the routes in force) are where column generation starts."""
        from twin.optimise import PlanRequest, Position, SolveOptions, plan
        from twin.optimise.replan import replan_options

        request = PlanRequest(
            now=now,
            shipments=tuple(shipments),
            positions={sid: Position(node, at) for sid, (node, at) in positions.items()},
            risk_days=dict(risk_days),
            reserved_lane=dict(reserved),
            lane_cost_adder=self.lane_cost_adder,
            start_routes=dict(start_routes or {}),
        )
        if time_limit_s is None:
            return plan(view, request, replan_options())
        return plan(view, request, replan_options(SolveOptions(time_limit_s=time_limit_s)), clock)


class ReplanBudget:
    """The wall-clock time one engine tick gives its playbooks' re-plans: a deadline,
    `seconds` after `started` (the pass's start by the budget's clock; default: now), so the
    re-plans get what is left of it after the rest of the pass.

    Each alert answered gets a share of what is left (`for_alert`): equal among the alerts
    still to answer, or the `fraction` the caller gives it (the engine weighs its alerts by
    the value their freight has at stake), less a `reserve` kept for the work after the
    re-plans (applying and writing back what they change). Time an alert does not use passes
    on to the next. A re-plan that runs out of its share stops (the planner's time limit) and
    its incident says so (`Proposal.stopped`) and waits for a person.
    """

    def __init__(self, seconds: float, clock: Callable[[], float], *, started: float | None = None):
        self.seconds, self.clock = seconds, clock
        self.deadline = (clock() if started is None else started) + seconds

    def for_alert(
        self,
        replanner: Replanner,
        alerts_left: int,
        *,
        fraction: float | None = None,
        reserve: float = 0.0,
    ) -> BudgetedReplanner:
        now = self.clock()
        left = max(0.0, self.deadline - reserve - now)
        share = left * fraction if fraction is not None else left / max(1, alerts_left)
        return BudgetedReplanner(replanner, now + share, share, self)


class BudgetedReplanner:
    """A re-planner whose calls for one alert stop at `deadline` (by the budget's clock).
    `stopped` says why a call did not finish in time (None while every call did)."""

    def __init__(self, inner: Replanner, deadline: float, share: float, budget: ReplanBudget):
        self.inner, self.deadline, self.share, self.budget = inner, deadline, share, budget
        self.stopped: str | None = None  # the last call's
        self.stops: list[str] = []  # every call's that stopped, in order
        # The plans of calls that stopped with a plan (`feasible`): where the next attempt
        # at the same alert can start from (Engine keeps their routes for the re-proposal).
        self.cut_short: list[Plan] = []

    def replan(
        self,
        view: NetworkView,
        shipments: Sequence[Shipment],
        *,
        now: datetime,
        positions: Mapping[str, tuple[str, datetime]],
        risk_days: Mapping[str, float],
        reserved: Mapping[tuple[str, int], float],
        start_routes: Mapping[str, tuple[StartRoute, ...]] | None = None,
    ) -> Plan:
        clock = self.budget.clock
        started = clock()
        left = self.deadline - started
        why = (
            f"its share ({self.share:.1f} s) of the pass's re-plan budget "
            f"({self.budget.seconds:g} s, [monitor] replan_budget)"
        )
        if left <= 0:
            self.stopped = f"not re-planned: {why} was spent"
            self.stops.append(f"{len(shipments):,} shipments {self.stopped}")
            return Plan(status=PlanStatus.time_limit, objective=None, cost=CostBreakdown(),
                        message=self.stopped)  # fmt: skip
        if isinstance(self.inner, OptimiseReplanner):
            made = self.inner.replan(
                view, shipments, now=now, positions=positions, risk_days=risk_days,
                reserved=reserved, start_routes=start_routes, time_limit_s=left, clock=clock,
            )  # fmt: skip
        else:
            made = self.inner.replan(
                view, shipments, now=now, positions=positions, risk_days=risk_days,
                reserved=reserved, start_routes=start_routes,
            )  # fmt: skip
        took = clock() - started
        if not made.status.applicable and took >= 0.95 * left:
            self.stopped = f"re-plan stopped after {took:.1f} s at {why} ({made.status.value})"
            self.stops.append(f"{len(shipments):,} shipments: {self.stopped}")
            if made.assignments:
                self.cut_short.append(made)
        return made


@dataclass(frozen=True)
class InForce:
    """What an applied action leaves in force: a constraint on plans (`avoid`, `derate`: the
    node or lane `target`, its `whatif`) or a held shipment (`hold`: `target` is the shipment).

    until: `clear` (lifted when the incident is rolled back, e.g. as its alert clears) or a
    duration from `since`, when the incident was applied (lifted then, whatever the alert does).

    bites_at / risk_until: the window of what caused it (the alert's: an announced change's
    effective time, the risk's end), None = from now / open-ended. A constraint with a window
    keeps freight off its target only when the freight would meet the target inside it
    (`Windowed`): booking before a rule change bites is not blocked.
    """

    kind: str
    target: str
    until: str
    incident: str
    since: datetime
    whatif: WhatIf = field(default_factory=WhatIf)
    holds: bool = False  # the shipment `target` stays where it is
    bites_at: datetime | None = None
    risk_until: datetime | None = None

    @property
    def ends_at(self) -> datetime | None:
        return None if self.until == "clear" else self.since + parse_duration(self.until)

    @property
    def window(self) -> tuple[datetime | None, datetime | None] | None:
        """When freight meeting the target is kept off it (None: always, while in force): from
        when the risk bites until it ends. (`until:` is how long the constraint stays in force
        for new plans, `lifted`.)"""
        if self.bites_at is None and self.risk_until is None:
            return None
        return (self.bites_at, self.risk_until)

    def lifted(self, now: datetime) -> bool:
        """Whether its duration has run out at `now` (never, for `until: clear`)."""
        ends = self.ends_at
        return ends is not None and now >= ends


def lanes_meeting_in_window(
    target: str,
    window: tuple[datetime | None, datetime | None],
    now: datetime,
    offsets: Mapping[str, float],
    network: Network,
) -> frozenset[str]:
    """The lanes that would bring freight booked at `now` to `target` inside `window`: the lane
    `target` itself (judged at its departure), lanes into it (at their arrival) and lanes that
    pass it (when they reach it), by the fastest way from any origin to the lane's start
    (`booked_lane_points`). Lanes out of a node are left open: freight already there can leave,
    and freight can only get there by a lane in. A lane no origin reaches is kept off."""
    from twin.network.timing import booked_lane_points

    lo, hi = window
    found = set()
    for lane in network.lanes:
        if lane.id == target:
            member = lane.from_
        elif lane.to == target or target in lane.via:
            member = target
        else:
            continue
        points = booked_lane_points(lane, now, dict(offsets), network)
        if points is None:
            found.add(lane.id)
            continue
        meets = dict(points)[member]
        if (lo is None or lo <= meets) and (hi is None or meets < hi):
            found.add(lane.id)
    return frozenset(found)


class Effector(Protocol):
    """What apply and rollback act through (the engine, or a test's in-memory one)."""

    def keep(self, item: InForce) -> None: ...
    def release(self, incident_id: str) -> None: ...
    def set_routes(self, shipment: str, routes: Routes) -> None: ...
    def notify(self, incident_id: str, notification: Notification) -> None: ...
    # Stock moves: a shipment record created or changed (a transfer, a redirect), or removed.
    def book(self, shipment: Shipment) -> None: ...
    def unbook(self, shipment: str) -> None: ...


@dataclass(frozen=True)
class ActionContext:
    """What a preview sees: the alert, the live twin and its plan of record, and `now` (passed in).

    current: shipment id -> its routes in the plan of record. constraints: the WhatIf already in
    force (from other incidents), on top of which this one's actions add theirs.
    """

    alert: Alert
    network: Network
    shipments: Mapping[str, Shipment]
    current: Mapping[str, Routes]
    now: datetime
    exposures: tuple[Exposure, ...] | None = None  # None: not computed (a dry run)
    replanner: Replanner | None = None
    constraints: WhatIf = field(default_factory=WhatIf)
    # Expected delay days per node or lane under the scores in force (lanes carry the risk of
    # their ends and `via`): what a diversion under way is weighed with.
    risk_days: Mapping[str, float] = field(default_factory=dict)
    # The whole plan of record, held shipments too (default: `current`): the lane capacity it
    # takes is not a re-plan's to give away.
    plan_of_record: Mapping[str, Routes] | None = None

    def reserved(self, replanned: Sequence[str]) -> dict[tuple[str, int], float]:
        """Lane capacity the plan of record takes, but for the shipments being re-planned."""
        if self.reserved_index is not None:
            return self.reserved_index.without(frozenset(replanned))
        booked = self.current if self.plan_of_record is None else self.plan_of_record
        return reserved_lane_capacity(booked, self.now, exclude=frozenset(replanned))

    # CO2e of routes (twin.emissions); None: incidents carry no CO2e.
    emissions: Emissions | None = None
    # The stock of the alert's market, for stock moves (StockMonitor.situation); None: none.
    stock: Situation | None = None
    # The shipment records as booked (`shipments` may be priced copies): what a stock move
    # changes and rollback restores. None: `shipments`.
    booked: Mapping[str, Shipment] | None = None
    # The plan of record's reserved capacity at `now`, from the engine's ledger (None: summed
    # afresh by `reserved`, with the same result).
    reserved_index: ReservedAt | None = None
    # Routes a re-plan may start from besides those in force (shipment id -> routes): an
    # earlier attempt's that its budget cut short, so the next one goes on from there.
    start_routes: Mapping[str, tuple[StartRoute, ...]] = field(default_factory=dict)

    # Built once per context: previews ask for them per shipment (thousands at scale).
    @cached_property
    def lanes(self) -> dict[str, Lane]:
        return {lane.id: lane for lane in self.network.lanes}

    @cached_property
    def expected_delays(self) -> dict[str, float]:
        """Per shipment, the largest expected delay of its exposures to the alerted target."""
        delays: dict[str, float] = {}
        for e in self.exposures or ():
            if e.target == self.alert.target:
                delays[e.shipment] = max(
                    delays.get(e.shipment, e.expected_delay_days), e.expected_delay_days
                )
        return delays


@dataclass(frozen=True)
class Proposal:
    """What the actions so far would do; each preview returns a new one (never edits)."""

    whatif: WhatIf = field(default_factory=WhatIf)
    changes: Mapping[str, ShipmentChange] = field(default_factory=dict)
    new_routes: Mapping[str, Routes] = field(default_factory=dict)
    notifications: tuple[Notification, ...] = ()
    status: ProposalStatus = "none"
    unserved: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # The stock moves offered by the steps so far (kind -> its parameters), weighed together
    # once every step has run; the moves chosen and what they do per warehouse x SKU.
    stock_moves: Mapping[str, BaseModel] = field(default_factory=dict)
    moves: tuple[StockMove, ...] = ()
    stock: tuple[StockImpact, ...] = ()
    # Re-plans that did not finish within the pass's re-plan budget, each saying so: their
    # shipments keep their routes, and the incident waits for a person.
    stopped: tuple[str, ...] = ()
    # What the budget cut short without changing the plan (diversions of freight under way
    # not weighed: it stays on course, re-planned onward from where it is).
    cut_short: tuple[str, ...] = ()


# --- helpers --------------------------------------------------------------------------------


def touches(lane: Lane, target: str) -> bool:
    return target in (lane.id, lane.from_, lane.to) or target in lane.via


def exposed_shipments(ctx: ActionContext) -> list[str]:
    """Shipments the alert puts at risk.

    With the scorer's exposures (computed by the engine), exactly those: they know when the
    freight passes and whether the risk is still in force then. Without them (a dry run with
    no scores), any shipment whose planned route touches the alerted node or lane (or a node
    the alerted lane passes) on a leg not yet done.
    """
    if ctx.exposures is not None:
        found = {e.shipment for e in ctx.exposures if e.target == ctx.alert.target}
        return sorted(s for s in found if s in ctx.shipments)
    found = set()
    lanes = ctx.lanes
    targets = {ctx.alert.target}
    for sid, routes in ctx.current.items():
        for route in routes:
            for leg in route.legs:
                lane = lanes.get(leg.lane)
                if (
                    lane is not None
                    and leg.arrive_at > ctx.now
                    and any(touches(lane, t) for t in targets)
                ):
                    found.add(sid)
    return sorted(s for s in found if s in ctx.shipments)


def worth_changing(ctx: ActionContext, change: ShipmentChange, closed: frozenset[str]) -> bool:
    """Whether a re-route pays: its old route is ruled out by the constraints (takes a lane of
    `closed`, the lanes they close), or the lateness it is expected to avoid is worth more
    than what it adds to the cost."""
    if not closed.isdisjoint(change.old_path):
        return True
    shipment = ctx.shipments[change.shipment]
    saving = change.late_days_avoided * change.units * shipment.penalty_per_unit_day
    return saving > change.cost_delta


def stock_chain(alert: Alert) -> dict[str, float]:
    """For a `stock` alert: the inbound shipments of the SKUs it shows short (its chain), each
    with the days the current risks are expected to delay it. Empty for other alerts."""
    found: dict[str, float] = {}
    for item in alert.stock.at_risk if alert.stock is not None else ():
        for lot in item.inbound:
            found[lot.shipment] = max(found.get(lot.shipment, 0.0), lot.delay_days)
    return found


def expected_delay(ctx: ActionContext, shipment: str) -> float:
    """Days the risk is expected to add to the shipment's current route (from the exposures;
    for a stock alert, from its chain: the delays of every risk the freight meets)."""
    if ctx.alert.stock is not None:
        return stock_chain(ctx.alert).get(shipment, 0.0)
    return ctx.expected_delays.get(shipment, 0.0)


def main_route(routes: Routes) -> Assignment | None:
    return max(routes, key=lambda a: a.units) if routes else None


def first_departure(routes: Routes, now: datetime) -> datetime | None:
    starts = [route.legs[0].depart_at for route in routes if route.legs]
    return min(starts) if starts else None


def no_return_at(old: Routes, new: Routes) -> datetime | None:
    """The departure of the first leg where the new routes leave the old ones: past it, the
    freight has gone the new way and the old route can no longer be restored."""
    old_main, new_main = main_route(old), main_route(new)
    if old_main is None:
        return None
    new_lanes = [leg.lane for leg in new_main.legs] if new_main else []
    for index, leg in enumerate(old_main.legs):
        if (
            index >= len(new_lanes)
            or new_lanes[index] != leg.lane
            or (new_main is not None and new_main.legs[index].depart_at != leg.depart_at)
        ):
            return leg.depart_at
    return old_main.legs[-1].depart_at if old_main.legs else None


def _late(eta: datetime | None, due: datetime) -> float:
    if eta is None:
        return 0.0
    return max(0.0, (eta - due).total_seconds() / 86400.0)


def make_change(
    ctx: ActionContext,
    action: str,
    sid: str,
    new: Routes,
    *,
    held: bool = False,
    extra_cost: float = 0.0,
    eta_shift_days: float = 0.0,
) -> ShipmentChange:
    """One shipment's change: paths, cost and ETA deltas, late days the change avoids."""
    shipment = ctx.shipments[sid]
    old = tuple(ctx.current.get(sid, ()))
    old_main, new_main = main_route(old), main_route(new)
    old_eta = max((a.eta for a in old), default=None)
    new_eta = max((a.eta for a in new), default=None)
    delay = expected_delay(ctx, sid)
    if held:
        # Held freight leaves when the risk clears: its ETA slips by the expected delay at most.
        new_eta = old_eta + timedelta(days=delay) if old_eta else None
        new = old
    elif eta_shift_days and new_eta is not None:
        new_eta = new_eta + timedelta(days=eta_shift_days)
    old_cost = sum(a.cost for a in old)
    new_cost = (old_cost if held else sum(a.cost for a in new)) + extra_cost
    # The old route under the risk is late by its own lateness plus the expected delay.
    old_risky_eta = old_eta + timedelta(days=delay) if old_eta else None
    avoided = _late(old_risky_eta, shipment.due_at) - _late(new_eta, shipment.due_at)
    eta_delta = ((new_eta - old_eta).total_seconds() / 86400.0) if (old_eta and new_eta) else 0.0
    return ShipmentChange(
        shipment=sid,
        units=shipment.units,
        action=action,
        old_path=tuple(old_main.path) if old_main else (),
        new_path=() if held else (tuple(new_main.path) if new_main else ()),
        held=held,
        old_cost=round(old_cost, 6),
        new_cost=round(new_cost, 6),
        old_eta=old_eta,
        new_eta=new_eta,
        eta_delta_days=round(eta_delta, 6),
        late_days_avoided=round(avoided, 6),
        no_return_at=first_departure(old, ctx.now) if held else no_return_at(old, new),
        **_co2e(ctx, shipment, old, new),
    )


def _co2e(ctx: ActionContext, shipment: Shipment, old: Routes, new: Routes) -> dict[str, float]:
    if ctx.emissions is None:
        return {}
    return {
        "old_co2e_kg": round(routes_co2e_kg(ctx.emissions, old, shipment), 6),
        "new_co2e_kg": round(routes_co2e_kg(ctx.emissions, new, shipment), 6),
    }


def _not_departed(ctx: ActionContext, sid: str) -> bool:
    start = first_departure(tuple(ctx.current.get(sid, ())), ctx.now)
    return start is None or start > ctx.now


def _position(ctx: ActionContext, sid: str) -> tuple[tuple[str, datetime] | None, tuple[Any, ...]]:
    """Where a shipment can be re-planned from, and the legs it has already started (kept)."""
    route = main_route(tuple(ctx.current.get(sid, ())))
    if route is None:
        return None, ()
    started = tuple(leg for leg in route.legs if leg.depart_at <= ctx.now)
    if not started:
        return None, ()
    last = started[-1]
    return (last.to_node, max(last.arrive_at, ctx.now)), started


@dataclass(frozen=True)
class _Option:
    """One way to go on from where a shipment is: its kept legs, where the re-plan starts, and
    what it costs beyond the re-planned part (per unit)."""

    kept: tuple[Leg, ...]
    position: tuple[str, datetime]
    extra_pu: float = 0.0


def _diversions(ctx: ActionContext, started: tuple[Leg, ...], view: NetworkView) -> list[_Option]:
    """Sister services the leg under way can still switch to (twin.shipments.diversion), open
    in `view`, each started from its arrival plus the risk expected on it."""
    if not started or started[-1].arrive_at <= ctx.now:
        return []
    leg = started[-1]
    lane = ctx.network.lane_by_id.get(leg.lane)
    if lane is None:
        return []
    options = []
    for other in diversion.sisters(leg, ctx.network, ctx.now):
        if not view.lane_open(other):
            continue
        turned = diversion.diverted_leg(leg, other, ctx.network)
        wait = timedelta(days=ctx.risk_days.get(other.id, 0.0))
        options.append(
            _Option(
                kept=started[:-1] + (turned,),
                position=(other.to, max(turned.arrive_at, ctx.now) + wait),
                extra_pu=other.cost_per_unit - lane.cost_per_unit + diversion.FEE_PER_UNIT,
            )
        )
    return options


@dataclass(frozen=True)
class _PlanIndex:
    """A plan's routes and unserved units by shipment, gathered once (asking the plan per
    shipment scans all its assignments: quadratic at thousands of exposed shipments)."""

    routes: dict[str, tuple[Assignment, ...]]
    unserved: dict[str, float]

    @classmethod
    def of(cls, plan: Plan) -> _PlanIndex:
        routes: dict[str, list[Assignment]] = {}
        for a in plan.assignments:
            routes.setdefault(a.shipment, []).append(a)
        unserved: dict[str, float] = {}
        for u in plan.unserved:
            unserved[u.shipment] = unserved.get(u.shipment, 0) + u.units
        return cls({sid: tuple(r) for sid, r in routes.items()}, unserved)

    def total(self, sid: str) -> float:
        return (
            sum(a.cost for a in self.routes.get(sid, ()))
            + self.unserved.get(sid, 0) * UNSERVED_PENALTY
        )


Chosen = tuple[
    tuple[Assignment, ...], tuple[Leg, ...], float
]  # onward routes, kept legs, fee per unit


def _choose_diversions(
    ctx: ActionContext,
    replanner: Replanner,
    view: NetworkView,
    ships: Mapping[str, Shipment],
    turns: Mapping[str, list[_Option]],
    staying: Plan,
    risk: Mapping[str, float],
    reserved: Mapping[tuple[str, int], float],
) -> dict[str, Chosen]:
    """Re-plan each diversion (one planning call per option rank) and keep, per shipment, the
    one whose whole cost beats staying on course (`staying`) and every other diversion."""
    staying_index = _PlanIndex.of(staying)
    best = {sid: staying_index.total(sid) for sid in turns}
    chosen: dict[str, Chosen] = {}
    for rank in range(max((len(options) for options in turns.values()), default=0)):
        moving = {sid: options[rank] for sid, options in turns.items() if rank < len(options)}
        tried = replanner.replan(
            view,
            [ships[s] for s in moving],
            now=ctx.now,
            positions={s: o.position for s, o in moving.items()},
            risk_days=risk,
            reserved=reserved,
        )
        if not tried.status.applicable:
            continue
        tried_index = _PlanIndex.of(tried)
        for sid, option in moving.items():
            total = tried_index.total(sid) + option.extra_pu * ships[sid].units
            if total < best[sid] - 1e-6:
                best[sid] = total
                chosen[sid] = (
                    tried_index.routes.get(sid, ()),
                    option.kept,
                    diversion.FEE_PER_UNIT,
                )
    return chosen


def _replan(
    ctx: ActionContext,
    proposal: Proposal,
    action: str,
    sids: list[str],
    whatif: WhatIf,
) -> Proposal:
    """Run the replanner on `sids` under `whatif`; fold its routes into the proposal.

    Freight under way that could still be diverted (twin.shipments.diversion) is re-planned
    once per sister service as well, and goes where the whole cost — the diversion's price and
    fee, the re-planned rest, the lateness under the risk expected on each way — is least.
    """
    if not sids:
        return replace(proposal, notes=proposal.notes + (f"{action}: no shipments in scope",))
    if ctx.replanner is None:
        return replace(
            proposal, status="error", notes=proposal.notes + (f"{action}: no re-planner",)
        )
    view = NetworkView(ctx.network, ctx.constraints.merged(whatif))
    positions: dict[str, tuple[str, datetime]] = {}
    kept: dict[str, tuple[Leg, ...]] = {}
    turns: dict[str, list[_Option]] = {}
    for sid in sids:
        position, started = _position(ctx, sid)
        if position is not None:
            positions[sid] = position
            kept[sid] = started
            options = _diversions(ctx, started, view)
            if options:
                turns[sid] = options
                # Staying on course meets the risk at the end of the leg: weigh it the same way.
                lane = started[-1].lane
                wait = max(expected_delay(ctx, sid), ctx.risk_days.get(lane, 0.0))
                positions[sid] = (position[0], position[1] + timedelta(days=wait))
    risk = _risk_priced(ctx, sids)
    ships = {s: ctx.shipments[s] for s in sids}
    reserved = ctx.reserved(sids)
    closed = frozenset(lane.id for lane in ctx.network.lanes if not view.lane_open(lane))
    budgeted = ctx.replanner if isinstance(ctx.replanner, BudgetedReplanner) else None
    if budgeted is not None:
        budgeted.stopped = None
    plan = ctx.replanner.replan(
        view,
        list(ships.values()),
        now=ctx.now,
        positions=positions,
        risk_days=risk,
        reserved=reserved,
        # The routes in force: what the change left open of them is where the planner starts.
        start_routes={
            sid: ctx.start_routes.get(sid, ()) + as_start_routes(tuple(ctx.current.get(sid, ())))
            for sid in sids
        },
    )
    stopped = proposal.stopped
    if budgeted is not None and budgeted.stopped is not None:
        keep = f"its {len(sids):,} shipments keep their current routes until a person decides"
        stopped += (f"{action}: {budgeted.stopped}; {keep}",)
    status = worse_status(proposal.status, plan.status)
    changes, routes = dict(proposal.changes), dict(proposal.new_routes)
    if plan.status.applicable:
        chosen = (
            _choose_diversions(ctx, ctx.replanner, view, ships, turns, plan, risk, reserved)
            if turns
            else {}
        )
        planned = _PlanIndex.of(plan).routes
        for sid in sids:
            onward, legs, fee_pu = chosen.get(sid, (planned.get(sid, ()), kept.get(sid, ()), 0.0))
            # The whole route's cost, as the plan of record's: the legs kept (or turned) too.
            kept_pu = (
                sum(
                    ctx.network.lane_by_id[leg.lane].cost_per_unit
                    for leg in legs
                    if leg.lane in ctx.network.lane_by_id
                )
                + fee_pu
            )
            new = (
                tuple(
                    a.model_copy(update={"legs": legs + a.legs, "cost": a.cost + a.units * kept_pu})
                    for a in onward
                )
                if legs or kept_pu
                else tuple(onward)  # nothing kept, nothing added: the planned routes as they are
            )
            old_main, new_main = main_route(tuple(ctx.current.get(sid, ()))), main_route(new)
            if new_main is not None and (old_main is None or old_main.path != new_main.path):
                change = make_change(ctx, action, sid, new)
                if sid in chosen or worth_changing(ctx, change, closed):
                    routes[sid] = new
                    changes[sid] = change
    unserved = proposal.unserved + tuple(sorted({u.shipment for u in plan.unserved}))
    cut_short = proposal.cut_short
    if budgeted is not None and budgeted.stopped is not None and plan.status.applicable:
        # The plan finished; weighing the diversions of freight under way did not: that
        # freight stays on course (the plan routes it on from where it is).
        skipped = f"diversions of {len(turns):,} shipments under way not weighed"
        cut_short += (f"{action}: {skipped}: {budgeted.stopped}",)
    return replace(
        proposal,
        changes=changes,
        new_routes=routes,
        status=status,
        unserved=unserved,
        stopped=stopped,
        cut_short=cut_short,
    )


def _risk_priced(ctx: ActionContext, sids: list[str]) -> dict[str, float]:
    """Expected delay days per place a re-plan prices: the alert's target; for a stock alert
    (whose target, the warehouse, every way in reaches) the places whose risks delay its
    inbound freight (its causes)."""
    if ctx.alert.stock is not None:
        risk: dict[str, float] = {}
        for cause in ctx.alert.stock.causes:
            risk[cause.target] = max(risk.get(cause.target, 0.0), cause.delay_days)
    else:
        risk = {ctx.alert.target: max((expected_delay(ctx, s) for s in sids), default=0.0)}
    return {k: v for k, v in risk.items() if v > 0}


def _free(proposal: Proposal, sids: list[str]) -> list[str]:
    # The first action that changes a shipment owns it; later ones leave it alone.
    return [s for s in sids if s not in proposal.changes]


# --- the actions ------------------------------------------------------------------------------


class Action:
    """One registry entry: a preview (pure), an apply (through the Effector), and what an
    applied one leaves in force."""

    name: str = ""
    params: type[BaseModel] = BaseModel

    def preview(self, params: Any, ctx: ActionContext, proposal: Proposal) -> Proposal:
        raise NotImplementedError

    def in_force(self, params: Any, incident: Incident, since: datetime) -> tuple[InForce, ...]:
        """What this action of `incident`, applied at `since`, keeps in force (default: nothing)."""
        return ()

    def apply(self, params: Any, incident: Incident, effector: Effector, at: datetime) -> None:
        """Carry out this action's part of an approved incident at `at`: set its shipments'
        routes, and keep what it leaves in force."""
        routes: dict[str, list[Assignment]] = {}
        for assignment in incident.new_routes:
            routes.setdefault(assignment.shipment, []).append(assignment)
        for change in incident.diff.changes:
            if change.action == self.name and not change.held:
                effector.set_routes(change.shipment, tuple(routes.get(change.shipment, ())))
        for item in self.in_force(params, incident, at):
            effector.keep(item)


class _Constraint(Action):
    """An action that changes what the network offers (a what-if) for as long as it is in force:
    its preview merges the what-if, and applied it keeps it in force until `until`."""

    windowed = False  # whether it keeps to its alert's window (InForce.window)

    def _whatif(self, params: Any) -> WhatIf:
        raise NotImplementedError

    def preview(self, params: Any, ctx: ActionContext, proposal: Proposal) -> Proposal:
        return replace(proposal, whatif=proposal.whatif.merged(self._whatif(params)))

    def in_force(self, params: Any, incident: Incident, since: datetime) -> tuple[InForce, ...]:
        item = InForce(self.name, params.target, params.until, incident.id, since)
        alert = incident.alert
        item = replace(item, whatif=self._whatif(params))
        if self.windowed and params.target == alert.target:
            # An avoid keeps the window of what caused it, when its target is the alert's.
            item = replace(item, bites_at=alert.starts_at, risk_until=alert.until)
        return (item,)


class Avoid(_Constraint):
    name, params = "avoid", AvoidParams
    windowed = True

    def _whatif(self, params: AvoidParams) -> WhatIf:
        return WhatIf(avoid=frozenset({params.target}))


class Derate(_Constraint):
    name, params = "derate", DerateParams

    def _whatif(self, params: DerateParams) -> WhatIf:
        return WhatIf(capacity_pct={params.target: 100.0 - params.by_pct})


class Replan(Action):
    name, params = "replan", ReplanParams

    def preview(self, params: ReplanParams, ctx: ActionContext, proposal: Proposal) -> Proposal:
        if params.scope == "exposed":
            sids = exposed_shipments(ctx)
        elif params.scope == "inbound":
            chain = stock_chain(ctx.alert)
            sids = sorted(
                s
                for s in chain
                if s in ctx.shipments and any(a.eta > ctx.now for a in ctx.current.get(s, ()))
            )
        else:
            sids = sorted(s for s in ctx.current if any(a.eta > ctx.now for a in ctx.current[s]))
        if params.priorities:
            sids = [s for s in sids if ctx.shipments[s].priority in params.priorities]
        sids = _free(proposal, sids)
        if params.max_shipments is not None:
            sids = sids[: params.max_shipments]
        return _replan(ctx, proposal, self.name, sids, proposal.whatif)


class ShiftMode(Action):
    name, params = "shift_mode", ShiftModeParams

    def preview(self, params: ShiftModeParams, ctx: ActionContext, proposal: Proposal) -> Proposal:
        lanes = ctx.lanes
        sids = [
            s
            for s in _free(proposal, exposed_shipments(ctx))
            if ctx.shipments[s].priority in params.priorities
            and any(
                lanes[leg.lane].mode == params.from_
                for a in ctx.current.get(s, ())
                for leg in a.legs
                if leg.lane in lanes and leg.depart_at > ctx.now
            )
        ]
        # Off the old mode for these shipments only: every lane of it is hidden in their re-plan.
        off = frozenset(lane.id for lane in ctx.network.lanes if lane.mode == params.from_)
        return _replan(ctx, proposal, self.name, sids, proposal.whatif.merged(WhatIf(avoid=off)))


class Hold(Action):
    name, params = "hold", HoldParams

    def preview(self, params: HoldParams, ctx: ActionContext, proposal: Proposal) -> Proposal:
        sids = [
            s
            for s in _free(proposal, exposed_shipments(ctx))
            if ctx.shipments[s].priority in params.priorities and _not_departed(ctx, s)
        ]
        changes = dict(proposal.changes)
        for sid in sids:
            changes[sid] = make_change(ctx, self.name, sid, (), held=True)
        return replace(proposal, changes=changes)

    def in_force(
        self, params: HoldParams, incident: Incident, since: datetime
    ) -> tuple[InForce, ...]:
        return tuple(
            InForce(self.name, change.shipment, params.until, incident.id, since, holds=True)
            for change in incident.diff.changes
            if change.action == self.name
        )


class ExpediteCustoms(Action):
    name, params = "expedite_customs", ExpediteCustomsParams

    def preview(
        self, params: ExpediteCustomsParams, ctx: ActionContext, proposal: Proposal
    ) -> Proposal:
        lanes = ctx.lanes
        changes, routes = dict(proposal.changes), dict(proposal.new_routes)
        for sid in _free(proposal, exposed_shipments(ctx)):
            old = tuple(ctx.current.get(sid, ()))
            enters = any(
                lanes[leg.lane].to == params.target
                for a in old
                for leg in a.legs
                if leg.lane in lanes
            )
            if not enters:
                continue
            fee = params.cost_per_unit * ctx.shipments[sid].units
            new = tuple(
                a.model_copy(
                    update={
                        "eta": a.eta - timedelta(days=params.saves_days),
                        "cost": a.cost + params.cost_per_unit * a.units,
                    }
                )
                for a in old
            )
            routes[sid] = new
            changes[sid] = make_change(
                ctx, self.name, sid, old, extra_cost=fee, eta_shift_days=-params.saves_days
            )
        return replace(proposal, changes=changes, new_routes=routes)


class Notify(Action):
    name, params = "notify", NotifyParams

    def preview(self, params: NotifyParams, ctx: ActionContext, proposal: Proposal) -> Proposal:
        note = Notification(
            channel=params.channel,
            summary=params.message,
            severity=ctx.alert.severity.value,
            labels={"target": ctx.alert.target, "dimension": ctx.alert.dimension},
        )
        return replace(proposal, notifications=proposal.notifications + (note,))

    def apply(
        self, params: NotifyParams, incident: Incident, effector: Effector, at: datetime
    ) -> None:
        for note in incident.notifications:
            if note.channel == params.channel:
                effector.notify(incident.id, note)


def _stock_actions() -> tuple[Action, ...]:
    # Defined in their own module, which builds on this one's helpers.
    from twin.playbook.stock_actions import STOCK_ACTIONS

    return STOCK_ACTIONS


REGISTRY: dict[str, Action] = {
    action.name: action
    for action in (
        Avoid(),
        Derate(),
        Replan(),
        ShiftMode(),
        Hold(),
        ExpediteCustoms(),
        Notify(),
        *_stock_actions(),
    )
}
assert set(REGISTRY) == set(ACTION_PARAMS), "every action in the schema has a registry entry"


def render_steps(
    steps: Sequence[tuple[str, BaseModel]], alert: Alert
) -> list[tuple[str, BaseModel]]:
    """Each step with its templated parameters filled from the alert, re-validated."""
    out: list[tuple[str, BaseModel]] = []
    for name, params in steps:
        raw = params.model_dump(by_alias=True, mode="json")
        out.append((name, ACTION_PARAMS[name].model_validate(template.render_value(raw, alert))))
    return out


def preview(steps: Sequence[tuple[str, BaseModel]], ctx: ActionContext) -> Proposal:
    """Run every step's preview in order (a dry run: nothing changes anywhere)."""
    proposal = Proposal()
    for name, params in steps:
        proposal = REGISTRY[name].preview(params, ctx, proposal)
    if proposal.stock_moves:
        from twin.playbook.stock_actions import choose_moves

        proposal = choose_moves(ctx, proposal)
    return proposal


def in_force(incident: Incident, since: datetime) -> tuple[InForce, ...]:
    """Everything `incident`'s actions, applied at `since`, keep in force (by the registry)."""
    kept: list[InForce] = []
    for action in incident.actions:
        ((name, raw),) = action.items()
        step = REGISTRY[name]
        kept += step.in_force(step.params.model_validate(raw), incident, since)
    return tuple(kept)
