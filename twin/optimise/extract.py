"""Turn a solved model into a Plan: timed legs per shipment, costs by kind, unserved reasons."""

from __future__ import annotations

from twin.domain.plans import Assignment, CostBreakdown, Leg, Plan, Unserved
from twin.optimise.build import PlanModel
from twin.optimise.instance import Commodity
from twin.optimise.solve import SolveResult
from twin.optimise.timeline import at_day

# Shares below this are solver noise, not freight.
_NOISE = 1e-7


def extract(
    plan_model: PlanModel, result: SolveResult, timing: dict[str, float] | None = None
) -> Plan:
    """The Plan a solve result describes; a failed solve gives an empty plan with its status.

    Parameters
    ----------
    plan_model : PlanModel
        The model `solve` worked on (its pool holds every generated route).
    result : SolveResult
        From `solve`. Routes are read only when it carries a solution.
    timing : dict, optional
        Figures to report in `Plan.timing` besides the solve's own.

    Returns
    -------
    Plan
        Assignments in commodity then route order; splittable shipments that were grouped
        share their group's routes in shipment order. Units not routed appear in `unserved`
        with the reason: blocked before solving (unknown or closed node, no open route, no
        route within the horizon), or no capacity left, or every route dearer than the penalty.
    """
    inst, pool = plan_model.instance, plan_model.pool
    times = dict(timing or {})
    times.setdefault("highs_s", result.highs_s)
    times.setdefault("rounds", result.rounds)
    times.setdefault("columns", result.columns)
    times.setdefault("nodes", result.nodes)
    if result.flow is None or result.unserved is None or result.objective is None:
        return Plan(
            status=result.status,
            objective=None,
            cost=CostBreakdown(),
            timing=times,
            message=result.message,
        )

    now = inst.request.now
    penalty = inst.request.unserved_penalty_per_unit
    columns_of = pool.by_commodity()
    leg_of: dict[tuple[int, int, int], Leg] = {}
    assignments: list[Assignment] = []
    unserved: list[Unserved] = []
    transport = lateness = risk = unserved_cost = 0.0
    for c in inst.commodities:
        pieces: list[tuple[int | None, float]] = []
        # A live model's pool may have grown since `result` (stress scenarios add routes).
        for p in columns_of[c.index]:
            share = float(result.flow[p]) if p < len(result.flow) else 0.0
            if share > _NOISE:
                pieces.append((p, share * c.units))
        left = float(result.unserved[c.index]) * c.units
        if left > _NOISE * c.units:
            pieces.append((None, left))
        members = list(zip(c.shipments, c.member_units))
        for shipment, amount, route in _share_out(members, pieces):
            if route is None:
                unserved.append(
                    Unserved(shipment=shipment, units=amount, reason=_reason(plan_model, c))
                )
                unserved_cost += amount * penalty
                continue
            column = pool.columns[route]
            batch = inst.batches[c.batch]
            legs = []
            for lane, day in column.legs:
                # Legs are frozen values; many routes share a (lane, day): built once each.
                leg = leg_of.get((c.batch, lane, day))
                if leg is None:
                    leg = leg_of[(c.batch, lane, day)] = Leg(
                        lane=inst.lane_ids[lane],
                        from_node=inst.node_ids[int(inst.frm[lane])],
                        to_node=inst.node_ids[int(inst.to[lane])],
                        depart_at=at_day(now, day),
                        arrive_at=at_day(now, day + int(batch.dur[lane])),
                    )
                legs.append(leg)
            assignments.append(
                Assignment(
                    shipment=shipment,
                    units=amount,
                    legs=tuple(legs),
                    eta=at_day(now, column.arrival),
                    cost=amount * column.cost_pu,
                    late_days=column.late_days,
                )
            )
            transport += amount * column.transport_pu
            lateness += amount * column.lateness_pu
            risk += amount * column.risk_pu
    return Plan(
        status=result.status,
        objective=result.objective,
        lower_bound=result.lower_bound,
        cost=CostBreakdown(
            transport=transport, lateness=lateness, risk=risk, unserved=unserved_cost
        ),
        assignments=tuple(assignments),
        unserved=tuple(unserved),
        timing=times,
        message=result.message,
    )


def _share_out(
    members: list[tuple[str, float]], pieces: list[tuple[int | None, float]]
) -> list[tuple[str, float, int | None]]:
    """Fill member shipments in order from the commodity's pieces (routes, then unserved)."""
    out: list[tuple[str, float, int | None]] = []
    i, room = 0, members[0][1] if members else 0.0
    for p, amount in pieces:
        while amount > _NOISE and i < len(members):
            take = min(room, amount)
            if take > _NOISE:
                out.append((members[i][0], round(take, 9), p))
            amount -= take
            room -= take
            if room <= _NOISE:
                i += 1
                room = members[i][1] if i < len(members) else 0.0
    return out


def _reason(plan_model: PlanModel, commodity: Commodity) -> str:
    if commodity.blocked is not None:
        return commodity.blocked
    inst = plan_model.instance
    best = plan_model.pool.lower_bound_pu[commodity.index]
    if best >= inst.request.unserved_penalty_per_unit:
        return "every route costs more than the unserved penalty"
    return f"no capacity on any route arriving by the planning horizon (day {inst.horizon})"
