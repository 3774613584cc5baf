"""Independent oracles for the planner: random small instances and a time-expanded arc model.

The oracle shares only the time rules (twin.optimise.timeline) and the what-if accessors of
NetworkView with the planner; its formulation (one variable per shipment and time-expanded
arc, flow conservation, scipy's milp) is built here from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from twin.domain.records import Lane, Network, Node, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.optimise import PlanRequest, timeline

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Case:
    view: NetworkView
    shipments: tuple[Shipment, ...]
    horizon: int
    penalty: float
    risk: dict[str, float]


def request_for(case: Case, **extra: Any) -> PlanRequest:
    """The plan request of a case (its shipments, horizon, penalty and risk), with `extra`."""
    return PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        unserved_penalty_per_unit=case.penalty,
        risk_days=case.risk,
        **extra,
    )


def lane(i: int, a: str, b: str, transit: float, cost: float, cap: float | None) -> Lane:
    return Lane.model_validate(
        {
            "id": f"L{i}",
            "from": a,
            "to": b,
            "mode": "road",
            "transit_days": transit,
            "cost_per_unit": cost,
            "capacity": cap,
        }
    )


@st.composite
def cases(
    draw: st.DrawFn,
    max_nodes: int = 6,
    max_lanes: int = 12,
    max_ships: int = 4,
    splits: tuple[bool, ...] = (True, False),
    risk: bool = True,
) -> Case:
    """A small network with time, capacity, customs and what-ifs, and shipments on it."""
    n = draw(st.integers(3, max_nodes))
    nodes = []
    for i in range(n):
        customs = draw(st.sampled_from([None, True, False]))
        nodes.append(
            Node(
                id=f"N{i}",
                kind=draw(st.sampled_from(["origin", "port", "warehouse"])),
                country="CN" if i % 2 == 0 else "US",
                capacity=draw(st.sampled_from([None, None, 8.0, 15.0, 30.0])),
                handling_days=draw(st.sampled_from([0.0, 0.0, 0.5, 1.0])),
                clearance_days=draw(st.sampled_from([0.0, 1.0, 1.5])),
                customs_entry=customs,
            )
        )
    lanes = []
    for i in range(draw(st.integers(2, max_lanes))):
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 2))
        b = b + 1 if b >= a else b
        lanes.append(
            lane(
                i,
                f"N{a}",
                f"N{b}",
                draw(st.sampled_from([0.4, 1.0, 1.5, 2.0, 3.2])),
                float(draw(st.integers(0, 20))),
                draw(st.sampled_from([None, 5.0, 10.0, 25.0])),
            )
        )
    network = Network(name="case", nodes=tuple(nodes), lanes=tuple(lanes))
    avoid = frozenset(draw(st.lists(st.sampled_from([x.id for x in lanes]), max_size=1)))
    derate = draw(
        st.dictionaries(
            st.sampled_from([x.id for x in lanes] + [x.id for x in nodes]),
            st.sampled_from([0.0, 50.0]),
            max_size=1,
        )
    )
    slow = draw(
        st.dictionaries(
            st.sampled_from([x.id for x in lanes]), st.sampled_from([1.0, 2.5]), max_size=1
        )
    )
    whatif = WhatIf(avoid=avoid, capacity_pct=derate, delay_days=slow)
    ships = []
    for i in range(draw(st.integers(1, max_ships))):
        o = draw(st.integers(0, n - 1))
        d = draw(st.integers(0, n - 2))
        d = d + 1 if d >= o else d
        ready = NOW + timedelta(hours=draw(st.integers(0, 60)))
        ships.append(
            Shipment(
                id=f"S{i}",
                origin=f"N{o}",
                destination=f"N{d}",
                units=float(draw(st.integers(1, 20))),
                ready_at=ready,
                due_at=ready + timedelta(hours=draw(st.integers(12, 150))),
                priority=draw(st.sampled_from(["standard", "express", "critical"])),
                split=draw(st.sampled_from(splits)),
            )
        )
    horizon = max(timeline.due_day(NOW, s.due_at) for s in ships) + draw(st.integers(0, 4))
    risk_days = {}
    if risk and draw(st.booleans()):
        risk_days = {draw(st.sampled_from([x.id for x in lanes] + [x.id for x in nodes])): 1.5}
    return Case(
        NetworkView(network, whatif),
        tuple(ships),
        horizon,
        float(draw(st.sampled_from([300.0, 2000.0]))),
        risk_days,
    )


def time_expanded_optimum(case: Case) -> float:
    """Optimum of the time-expanded arc formulation (scipy milp), one commodity per shipment."""
    view, H = case.view, case.horizon
    net = view.network
    node_ids = [x.id for x in net.nodes]
    nidx = {v: i for i, v in enumerate(node_ids)}
    open_lanes = [
        l
        for l in net.lanes
        if view.lane_open(l)
        and view.lane_capacity(l) != 0.0
        and view.node_open(l.from_)
        and view.node_open(l.to)
        and view.node_capacity(net.node_by_id[l.to]) != 0.0
    ]
    V = len(node_ids)

    def state(v: int, t: int) -> int:
        return v * (H + 1) + t

    n_states = V * (H + 1) + 1  # + one sink
    sink = n_states - 1
    cost, integrality, ub = [], [], []
    rows_i, rows_j, rows_v = [], [], []  # flow conservation entries
    rhs = []
    cap_rows: dict[tuple, list[int]] = {}
    cap_of: dict[tuple, float] = {}
    col = 0
    ncons = 0
    for s in case.shipments:
        country = net.node_by_id[s.origin].country
        pen = s.penalty_per_unit_day
        r = timeline.ready_day(NOW, s.ready_at)
        due = timeline.due_day(NOW, s.due_at)
        base = ncons
        arcs = []  # (tail, head, cost, cap_keys)
        for l in open_lanes:
            to = net.node_by_id[l.to]
            clear = view.node_clearance_days(to) if to.is_customs_entry_for(country) else 0.0
            dur = timeline.arc_days(view.lane_transit_days(l), view.node_handling_days(to), clear)
            risk = (
                case.risk.get(l.id, 0.0)
                + sum(case.risk.get(v, 0.0) for v in l.via)
                + case.risk.get(l.to, 0.0)
            )
            for t in range(H + 1 - dur):
                keys = []
                cap = view.lane_capacity(l)
                if cap is not None:
                    keys.append(("lane", l.id, t))
                    cap_of[("lane", l.id, t)] = cap
                ncap = view.node_capacity(to)
                if ncap is not None:
                    keys.append(("node", l.to, t + dur))
                    cap_of[("node", l.to, t + dur)] = ncap
                arcs.append(
                    (
                        state(nidx[l.from_], t),
                        state(nidx[l.to], t + dur),
                        l.cost_per_unit + pen * risk,
                        keys,
                    )
                )
        for v in range(V):
            for t in range(H):
                arcs.append((state(v, t), state(v, t + 1), 0.0, []))
        dv = nidx[s.destination]
        for t in range(H + 1):
            arcs.append((state(dv, t), sink, pen * timeline.late_days(t, due), []))
        src = state(nidx[s.origin], min(r, H))
        arcs.append((src, sink, case.penalty, []))  # unserved
        for tail, head, c, keys in arcs:
            cost.append(c * s.units)
            integrality.append(0 if s.split else 1)
            ub.append(1.0)
            rows_i += [base + tail, base + head]
            rows_j += [col, col]
            rows_v += [1.0, -1.0]
            for key in keys:
                cap_rows.setdefault(key, []).append((col, s.units))
            col += 1
        b = np.zeros(n_states)
        b[src] += 1.0
        b[sink] -= 1.0
        rhs.append(b)
        ncons += n_states
    A_eq = coo_matrix((rows_v, (rows_i, rows_j)), shape=(ncons, col)).tocsr()
    constraints = [LinearConstraint(A_eq, np.concatenate(rhs), np.concatenate(rhs))]
    if cap_rows:
        ci, cj, cv, cu = [], [], [], []
        for i, (key, entries) in enumerate(sorted(cap_rows.items())):
            for j, v in entries:
                ci.append(i)
                cj.append(j)
                cv.append(v)
            cu.append(cap_of[key])
        A_cap = coo_matrix((cv, (ci, cj)), shape=(len(cu), col)).tocsr()
        constraints.append(LinearConstraint(A_cap, -np.inf, np.array(cu)))
    res = milp(
        np.array(cost),
        constraints=constraints,
        integrality=np.array(integrality),
        bounds=Bounds(0, np.array(ub)),
        options={"mip_rel_gap": 1e-9},
    )
    assert res.status == 0, res.message
    return float(res.fun)
