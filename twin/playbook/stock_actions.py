"""The stock moves as playbook actions: `split`, `redirect`, `transfer`, `replenish`.

Each action offers its kind of move (with its modes and budget); after every step has run,
the moves offered are weighed together against the alert's warehouse (twin.stock.moves: the
candidates, valued on the stock projection, chosen by a MIP) and the chosen ones become the
incident's changes: a created shipment (transfer, replenishment, a split's part) with its
route, a changed one (a redirect's new destination and route, a split's rest) with the old
record kept for rollback, and per warehouse x SKU the units, days short avoided, margin saved
and cost (docs/stock.md, "Stock moves"). Pure: the context in, a proposal out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from twin.domain.incidents import Incident, ShipmentChange
from twin.domain.plans import Assignment, Leg, Routes
from twin.domain.records import Shipment
from twin.domain.stock import MoveLine, StockImpact, StockMove
from twin.playbook.actions import (
    Action,
    ActionContext,
    Effector,
    Proposal,
    _co2e,
    first_departure,
    main_route,
    make_change,
)
from twin.playbook.schema import (
    STOCK_MOVE_ACTIONS,
    RedirectParams,
    ReplenishParams,
    SplitParams,
    TransferParams,
)
from twin.shipments import diversion
from twin.stock.moves import (
    READY_DAYS,
    TRANSFER_READY_DAYS,
    Candidate,
    Inbound,
    MoveSettings,
    Situation,
    TurningPoint,
    candidates,
    choose,
    consolidate,
)
from twin.stock.pricing import SPLIT_AT

DAY = timedelta(days=1)
# A split's part is booked as the shipment's id with this suffix (as the replays book it).
URGENT_SUFFIX = "~urgent"


class _StockMove(Action):
    """Offers its kind of move to the optimiser; the choice is made once every step has run
    (`choose_moves`). Applied: books the records its moves create or change, then sets the
    routes of its changes."""

    def preview(self, params: Any, ctx: ActionContext, proposal: Proposal) -> Proposal:
        return replace(proposal, stock_moves={**proposal.stock_moves, self.name: params})

    def apply(self, params: Any, incident: Incident, effector: Effector, at: datetime) -> None:
        for move in incident.moves:
            if move.kind != self.name:
                continue
            if move.parent_booked is not None:
                effector.book(move.parent_booked)
            effector.book(move.booked)
        super().apply(params, incident, effector, at)


class Split(_StockMove):
    name, params = "split", SplitParams


class Redirect(_StockMove):
    name, params = "redirect", RedirectParams


class Transfer(_StockMove):
    name, params = "transfer", TransferParams


class Replenish(_StockMove):
    name, params = "replenish", ReplenishParams


STOCK_ACTIONS: tuple[Action, ...] = (Split(), Redirect(), Transfer(), Replenish())


def _at(ctx: ActionContext, day: float) -> datetime:
    """The time of a day count from now's midnight."""
    midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=day)


def _day(ctx: ActionContext, when: datetime) -> float:
    midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (when - midnight) / DAY


def _inbound(
    ctx: ActionContext, situation: Situation, taken: set[str], split_at: float
) -> list[Inbound]:
    """The inbound freight of the market as twin.stock.moves weighs it: each shipment with
    lines still to arrive (not changed by an earlier step), where it can still turn."""
    lanes = ctx.network.lane_by_id
    out = []
    for sid, lines in situation.lines.items():
        shipment = ctx.shipments.get(sid)
        route = main_route(tuple(ctx.current.get(sid, ())))
        if shipment is None or route is None or sid in taken or route.eta <= ctx.now:
            continue
        started = first_departure(tuple(ctx.current[sid]), ctx.now)
        departed = started is not None and started <= ctx.now
        cost = sum(a.cost for a in ctx.current[sid])
        legs = route.legs
        leg_cost = [lanes[leg.lane].cost_per_unit if leg.lane in lanes else 0.0 for leg in legs]
        points: list[TurningPoint] = []
        if not departed:
            ready = max(shipment.ready_at, ctx.now)
            points.append(TurningPoint(shipment.origin, _day(ctx, ready), sum(leg_cost), 0))
        for index, leg in enumerate(legs[:-1]):
            if not departed or legs[index + 1].depart_at <= ctx.now:
                continue  # not yet left (the origin is its point), or gone on from this node
            # An onward leg from a node the freight will reach, or waits at now.
            ahead = leg.arrive_at > ctx.now
            day = _day(ctx, max(leg.arrive_at, ctx.now))
            day += ctx.risk_days.get(leg.lane, 0.0) if ahead else 0.0
            points.append(TurningPoint(leg.to_node, day, sum(leg_cost[index + 1 :]), index + 1))
        under_way = [i for i, leg in enumerate(legs) if leg.depart_at <= ctx.now < leg.arrive_at]
        for index in under_way:
            leg = legs[index]
            for other in diversion.sisters(leg, ctx.network, ctx.now):
                if other.to == leg.to_node:
                    continue  # the same port by another course: a re-route, not a port change
                turned = diversion.diverted_leg(leg, other, ctx.network)
                fee = other.cost_per_unit - leg_cost[index] + diversion.FEE_PER_UNIT
                day = _day(ctx, turned.arrive_at) + ctx.risk_days.get(other.id, 0.0)
                left = sum(leg_cost[index + 1 :])
                points.append(TurningPoint(other.to, day, left, index, other.id, fee))
        out.append(
            Inbound(
                shipment=sid,
                origin=shipment.origin,
                destination=shipment.destination,
                cbm=shipment.units,
                lines=lines,
                arrival_day=situation.arrival_day[sid],
                ready_day=_day(ctx, max(shipment.ready_at, ctx.now)),
                cost_per_cbm=cost / shipment.units if shipment.units > 0 else 0.0,
                departed=departed,
                points=tuple(points),
                urgent=situation.urgent(sid, split_at) if shipment.split else (),
            )
        )
    return out


def _settings(offered: Mapping[str, Any]) -> tuple[MoveSettings, float | None, float]:
    kinds = {kind: tuple(m.value for m in params.modes) for kind, params in offered.items()}
    replenish = offered.get("replenish")
    transfer = offered.get("transfer")
    budgets = [p.max_cost for p in offered.values() if p.max_cost is not None]
    split = offered.get("split")
    settings = MoveSettings(
        kinds=kinds,
        ready_days=replenish.ready_days if replenish is not None else READY_DAYS,
        transfer_ready_days=(transfer.ready_days if transfer is not None else TRANSFER_READY_DAYS),
        origins=tuple(replenish.origins) if replenish is not None and replenish.origins else None,
    )
    return settings, (min(budgets) if budgets else None), (split.split_at if split else SPLIT_AT)


def _legs(ctx: ActionContext, move: Candidate, start: datetime) -> tuple[Leg, ...]:
    return tuple(
        Leg(
            lane=lane,
            from_node=a,
            to_node=b,
            depart_at=start + timedelta(days=s),
            arrive_at=start + timedelta(days=e),
        )
        for lane, a, b, s, e in move.way.legs
    )


def choose_moves(ctx: ActionContext, proposal: Proposal) -> Proposal:
    """Weigh every move the playbook offers for the alert's warehouse and fold the chosen ones
    into the proposal (changes, routes, the stock moves and their impact per SKU)."""
    offered = dict(proposal.stock_moves)
    names = ", ".join(sorted(offered))
    situation = ctx.stock
    if ctx.alert.stock is None or situation is None:
        why = "not a stock alert" if ctx.alert.stock is None else "no stock monitored"
        return replace(proposal, notes=proposal.notes + (f"{names}: {why}",))
    settings, budget, split_at = _settings(offered)
    situation = _after_steps(ctx, situation, proposal)
    short = situation.short(ctx.alert.target)
    inbound = _inbound(ctx, situation, set(proposal.changes), split_at)
    found = candidates(
        ctx.network,
        situation.pairs,
        short,
        inbound,
        now_day=situation.now_day,
        settings=settings,
        risk_days=ctx.risk_days,
    )
    choice = choose(found, max_cost=budget)
    note = (
        f"{names}: {choice.considered} moves weighed, {len(choice.chosen)} chosen"
        f" ({choice.status}), saving {choice.net:,.0f} net of cost"
    )
    changes, routes = dict(proposal.changes), dict(proposal.new_routes)
    moves = list(proposal.moves)
    by_id = {s.shipment: s for s in inbound}
    for move in consolidate(choice.chosen):
        made = _book(ctx, move, by_id.get(move.shipment or ""))
        if made is None:
            continue
        record, new_changes, new_routes = made
        moves.append(record)
        changes.update(new_changes)
        routes.update(new_routes)
    return replace(
        proposal,
        changes=changes,
        new_routes=routes,
        moves=tuple(moves),
        stock=proposal.stock + _impact(choice.chosen, situation),
        notes=proposal.notes + (note,),
    )


def _after_steps(ctx: ActionContext, situation: Situation, proposal: Proposal) -> Situation:
    """The situation with the shipments earlier steps re-routed (a `replan`) landing when
    their new routes bring them, so the moves fill only what is still short."""
    shifted = {
        sid: routes
        for sid, routes in proposal.new_routes.items()
        if sid in situation.lines and routes
    }
    if not shifted:
        return situation
    pairs = dict(situation.pairs)
    arrival = dict(situation.arrival_day)
    for sid, routes in shifted.items():
        old_day = situation.arrival_day[sid]
        new_day = max(0, math.floor(_day(ctx, max(a.eta for a in routes))))
        arrival[sid] = new_day
        for sku, units in situation.lines[sid]:
            key = (ctx.shipments[sid].destination, sku)
            if key not in pairs:
                continue
            inbound = pairs[key].inbound.copy()
            horizon = len(inbound)
            if old_day < horizon:
                inbound[old_day] -= units
            if new_day < horizon:
                inbound[new_day] += units
            pairs[key] = replace(pairs[key], inbound=np.maximum(inbound, 0.0))
    return replace(situation, pairs=pairs, arrival_day=arrival)


def _new_change(
    ctx: ActionContext, shipment: Shipment, kind: str, new: Routes, *, old_cost: float = 0.0
) -> ShipmentChange:
    eta = max(a.eta for a in new)
    return ShipmentChange(
        shipment=shipment.id,
        units=shipment.units,
        action=kind,
        old_path=(),
        new_path=tuple(new[0].path),
        old_cost=round(old_cost, 6),
        new_cost=round(sum(a.cost for a in new), 6),
        old_eta=None,
        new_eta=eta,
        no_return_at=first_departure(new, ctx.now),
        **_co2e(ctx, shipment, (), new),  # type: ignore[arg-type]
    )


def _book(
    ctx: ActionContext, move: Candidate, inbound: Inbound | None
) -> tuple[StockMove, dict[str, ShipmentChange], dict[str, Routes]] | None:
    """A chosen move as the records, changes and routes apply needs."""
    start = _at(ctx, move.start_day)
    legs = _legs(ctx, move, start)
    eta = start + timedelta(days=move.way.days)
    lines = tuple(MoveLine(sku=sku, units=units) for sku, units in move.lines)
    common: dict[str, Any] = {
        "kind": move.kind,
        "warehouse": move.warehouse,
        "source": move.source,
        "mode": move.way.mode,
        "lanes": move.way.lanes,
        "lines": lines,
        "cbm": move.cbm,
        "arrival_on": _at(ctx, move.arrival_day).date(),
        "cost": round(move.cost, 2),
        "margin_saved": round(move.margin_saved, 2),
    }
    booked_as = ctx.booked if ctx.booked is not None else ctx.shipments
    if move.kind in ("transfer", "replenish"):
        sku = move.lines[0][0]
        more = f"+{len(move.lines) - 1}" if len(move.lines) > 1 else ""  # SKUs consolidated
        tag = "TR" if move.kind == "transfer" else "RP"
        sid = f"{tag}-{move.source}-{move.warehouse}-{sku}{more}-{ctx.now:%Y%m%dT%H%M}"
        shipment = Shipment(
            id=sid,
            origin=move.source,
            destination=move.warehouse,
            units=move.cbm,
            ready_at=start,
            due_at=eta,
            split=False,
        )
        new = (
            Assignment(
                shipment=sid, units=move.cbm, legs=legs, eta=eta, cost=move.cost, late_days=0.0
            ),
        )
        change = _new_change(ctx, shipment, move.kind, new)
        record = StockMove(
            shipment=sid, booked=shipment, no_return_at=change.no_return_at, **common
        )
        return record, {sid: change}, {sid: new}
    if inbound is None or move.shipment is None:
        return None
    sid = move.shipment
    old = tuple(ctx.current.get(sid, ()))
    original = booked_as[sid]
    old_cost = sum(a.cost for a in old)
    if move.kind == "split":
        part_id = sid + URGENT_SUFFIX
        share = move.cbm / original.units if original.units > 0 else 0.0
        # Due when the rest is, or when it lands if later (freight already overdue).
        part = original.model_copy(
            update={
                "id": part_id,
                "units": move.cbm,
                "ready_at": start,
                "due_at": max(original.due_at, eta),
                "split": False,
            }
        )
        rest = original.model_copy(update={"units": original.units - move.cbm})
        part_cost = move.cbm * move.way.cost_per_cbm
        part_routes = (
            Assignment(
                shipment=part_id, units=move.cbm, legs=legs, eta=eta, cost=part_cost, late_days=0
            ),
        )
        rest_routes = tuple(
            a.model_copy(update={"units": a.units * (1 - share), "cost": a.cost * (1 - share)})
            for a in old
        )
        part_change = _new_change(ctx, part, "split", part_routes)
        rest_change = make_change(ctx, "split", sid, rest_routes).model_copy(
            update={
                "units": rest.units,
                "new_path": tuple(main_route(old).path) if main_route(old) else (),  # type: ignore[union-attr]
                "new_cost": round(old_cost * (1 - share), 6),
                "no_return_at": part_change.no_return_at,
            }
        )
        record = StockMove(
            shipment=part_id,
            booked=part,
            parent=sid,
            parent_booked=rest,
            parent_replaced=original,
            no_return_at=part_change.no_return_at,
            **common,
        )
        return (
            record,
            {sid: rest_change, part_id: part_change},
            {sid: rest_routes, part_id: part_routes},
        )
    # A redirect: the legs kept up to the point, the sister leg for a port change, the way on.
    point = move.point
    if point is None:
        return None
    main = main_route(old)
    kept = tuple(main.legs[: point.kept_legs]) if main is not None else ()
    if point.turned_lane is not None and main is not None:
        turned = diversion.diverted_leg(
            main.legs[point.kept_legs], ctx.network.lane_by_id[point.turned_lane], ctx.network
        )
        kept += (turned,)
    redirected = original.model_copy(update={"destination": move.warehouse})
    new = (
        Assignment(
            shipment=sid,
            units=original.units,
            legs=kept + legs,
            eta=eta,
            cost=round(old_cost + move.cost, 6),
            late_days=0.0,
        ),
    )
    change = make_change(ctx, "redirect", sid, new)
    record = StockMove(
        shipment=sid,
        booked=redirected,
        replaced=original,
        no_return_at=change.no_return_at,
        **common,
    )
    return record, {sid: change}, {sid: new}


def _impact(chosen: Sequence[Candidate], situation: Situation) -> tuple[StockImpact, ...]:
    """Per warehouse x SKU the chosen moves touch: units and days short and margin at risk
    before and after (the filled pairs gain, a source or old destination may lose), and the
    cost of the moves filling it, shared among their lines by cbm."""
    before: dict[tuple[str, str], tuple[float, int, float]] = {}
    saved: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    cost: dict[tuple[str, str], float] = defaultdict(float)
    for move in chosen:
        for effect in move.effects:
            key = (effect.warehouse, effect.sku)
            before.setdefault(key, (effect.units_before, effect.days_before, effect.margin_before))
            got = saved[key]
            got[0] += effect.units_before - effect.units_after
            got[1] += effect.days_before - effect.days_after
            got[2] += effect.margin_saved
        size = {sku: p.cbm_per_unit for (_, sku), p in situation.pairs.items()}
        cbm = [units * size.get(sku, 0.0) for sku, units in move.lines]
        for (sku, _), line_cbm in zip(move.lines, cbm):
            share = line_cbm / sum(cbm) if sum(cbm) > 0 else 1.0 / len(cbm)
            cost[(move.warehouse, sku)] += move.cost * share
    out = []
    for key in sorted(before):
        units, days, margin = before[key]
        got = saved[key]
        out.append(
            StockImpact(
                warehouse=key[0],
                sku=key[1],
                units_short_before=round(units, 2),
                units_short_after=round(units - got[0], 2),
                days_short_before=days,
                days_short_after=int(days - got[1]),
                margin_at_risk_before=round(margin, 2),
                margin_at_risk_after=round(margin - got[2], 2),
                added_cost=round(cost.get(key, 0.0), 2),
            )
        )
    return tuple(out)


assert {a.name for a in STOCK_ACTIONS} == set(STOCK_MOVE_ACTIONS)
