"""With equal route times and no room to wait, the plan is a static flow: compare it with
networkx's min-cost flow (one origin-destination pair) and an arc-based multi-commodity LP
solved by scipy's linprog (several pairs sharing capacity)."""

from __future__ import annotations

from datetime import timedelta

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from tests.optimise.oracles import NOW, lane
from twin.domain.plans import PlanStatus
from twin.domain.records import Network, Node, Shipment
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, SolveOptions, plan

PENALTY = 1000.0


@st.composite
def layered(draw: st.DrawFn, sources: int = 1, sinks: int = 1):
    """Layers 0..depth; lanes only join consecutive layers and take one day, so every route
    between two layers takes the same time."""
    depth = draw(st.integers(1, 4))
    width = [sources] + [draw(st.integers(1, 3)) for _ in range(depth - 1)] + [sinks]
    names = [[f"V{i}_{j}" for j in range(w)] for i, w in enumerate(width)]
    nodes = [
        Node(
            id=name,
            kind="port",
            country="CN",
            capacity=draw(st.sampled_from([None, None, 12.0, 30.0])),
        )
        for layer in names
        for name in layer
    ]
    lanes = []
    for i in range(depth):
        for a in names[i]:
            for b in names[i + 1]:
                for _ in range(draw(st.integers(0, 2))):
                    lanes.append(
                        lane(
                            len(lanes),
                            a,
                            b,
                            draw(st.sampled_from([0.5, 1.0])),
                            float(draw(st.integers(0, 30))),
                            draw(st.sampled_from([None, 4.0, 10.0, 20.0])),
                        )
                    )
    return Network(name="layered", nodes=tuple(nodes), lanes=tuple(lanes)), names, depth


def ship(i: int, origin: str, dest: str, units: float, depth: int) -> Shipment:
    # Due exactly when the (only) route time lands: arriving later is outside the horizon.
    return Shipment(
        id=f"S{i}",
        origin=origin,
        destination=dest,
        units=units,
        ready_at=NOW,
        due_at=NOW + timedelta(days=depth),
        split=True,
    )


def solve(network: Network, shipments: list[Shipment], depth: int):
    request = PlanRequest(
        now=NOW, shipments=tuple(shipments), horizon_days=depth, unserved_penalty_per_unit=PENALTY
    )
    return plan(NetworkView(network), request, SolveOptions(time_limit_s=30))


@settings(max_examples=60)
@given(layered(), st.lists(st.integers(1, 25), min_size=1, max_size=3))
def test_single_pair_equals_networkx_min_cost_flow(instance, units) -> None:
    network, names, depth = instance
    origin, dest = names[0][0], names[-1][0]
    shipments = [ship(i, origin, dest, float(u), depth) for i, u in enumerate(units)]
    result = solve(network, shipments, depth)
    assert result.status is PlanStatus.optimal

    # Oracle: node capacities by splitting nodes; unserved units by a direct arc at the penalty.
    g = nx.DiGraph()
    demand = sum(units)
    for node in network.nodes:
        cap = node.capacity if node.capacity is not None else demand
        g.add_edge(("in", node.id), ("out", node.id), weight=0, capacity=int(cap))
    for k, l in enumerate(network.lanes):
        # A middle node per lane keeps parallel lanes apart in a DiGraph.
        mid = ("lane", k)
        g.add_edge(
            ("out", l.from_),
            mid,
            weight=int(l.cost_per_unit),
            capacity=int(l.capacity) if l.capacity is not None else demand,
        )
        g.add_edge(mid, ("in", l.to), weight=0, capacity=demand)
    # The origin's own throughput is not used by freight that starts there.
    g.add_edge("src", ("out", origin), weight=0, capacity=demand)
    g.add_edge("src", ("out", dest), weight=int(PENALTY), capacity=demand)
    g.nodes["src"]["demand"] = -demand
    g.nodes[("out", dest)]["demand"] = demand
    assert result.objective == pytest.approx(nx.min_cost_flow_cost(g), abs=1e-6)


@settings(max_examples=60)
@given(
    layered(sources=2, sinks=2),
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(1, 25)), min_size=1, max_size=4
    ),
)
def test_pairs_sharing_capacity_equal_arc_based_linprog(instance, demands) -> None:
    network, names, depth = instance
    shipments = [
        ship(i, names[0][o], names[-1][d], float(u), depth) for i, (o, d, u) in enumerate(demands)
    ]
    result = solve(network, shipments, depth)
    assert result.status is PlanStatus.optimal

    nodes = [n.id for n in network.nodes]
    lanes = list(network.lanes)
    K, L = len(shipments), len(lanes)
    # Variables: x[k, l] for every lane, then u[k] (units unserved).
    n_var = K * L + K
    c = np.zeros(n_var)
    for k in range(K):
        c[k * L : (k + 1) * L] = [l.cost_per_unit for l in lanes]
        c[K * L + k] = PENALTY
    a_eq, b_eq = [], []
    for k, s in enumerate(shipments):
        for v in nodes:
            row = np.zeros(n_var)
            for j, l in enumerate(lanes):
                if l.from_ == v:
                    row[k * L + j] += 1
                if l.to == v:
                    row[k * L + j] -= 1
            rhs = 0.0
            if v == s.origin:
                row[K * L + k] += 1  # out - in + unserved = units
                rhs = s.units
            elif v == s.destination:
                row[K * L + k] -= 1
                rhs = -s.units
            a_eq.append(row)
            b_eq.append(rhs)
    a_ub, b_ub = [], []
    for j, l in enumerate(lanes):
        if l.capacity is not None:
            row = np.zeros(n_var)
            row[[k * L + j for k in range(K)]] = 1
            a_ub.append(row)
            b_ub.append(l.capacity)
    for node in network.nodes:
        if node.capacity is not None:
            row = np.zeros(n_var)
            for j, l in enumerate(lanes):
                if l.to == node.id:
                    row[[k * L + j for k in range(K)]] = 1
            a_ub.append(row)
            b_ub.append(node.capacity)
    res = linprog(
        c,
        A_ub=np.array(a_ub) if a_ub else None,
        b_ub=b_ub or None,
        A_eq=np.array(a_eq),
        b_eq=b_eq,
        bounds=[(0, None)] * n_var,
        method="highs",
    )
    assert res.status == 0
    assert result.objective == pytest.approx(res.fun, abs=1e-6, rel=1e-9)
