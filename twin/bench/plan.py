"""Benchmark of the planner: a full plan and a re-plan of 1,000 exposed shipments.

`run(size)` generates a synthetic network (twin.network.synthetic) and a seeded shipment mix
from its origins to its warehouses, plans every shipment, then avoids the chokepoint most
routes use and re-plans the exposed shipments against the capacity the others hold.
Peak memory is the process's peak resident set (getrusage ru_maxrss) read after each part;
the bench runner starts each part in a fresh process, so `plan` is the plan's own peak and
`replan`'s includes the plan it starts from.
"""

from __future__ import annotations

import math
import resource
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.domain.plans import Plan
from twin.domain.records import Network, NodeKind, Priority, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.network.synthetic import generate_network
from twin.optimise import PlanRequest, SolveOptions, plan
from twin.optimise.replan import replan

SIZES = {"S": (200, 2_000, 500), "M": (1_000, 10_000, 2_000), "L": (2_000, 20_000, 5_000)}
NOW = datetime(2024, 1, 1, tzinfo=UTC)
EXPOSED = 1_000

_MIX = [
    (Priority.standard, 0.70, math.log(12.0), 0.8, 1.0, 60.0, 0.85),
    (Priority.express, 0.22, math.log(1.5), 0.7, 0.2, 6.0, 0.6),
    (Priority.critical, 0.08, math.log(0.6), 0.6, 0.1, 2.5, 0.4),
]


def bench_shipments(
    network: Network, count: int, now: datetime, seed: int = 0, ready_days: int = 5
) -> list[Shipment]:
    """`count` seeded shipments from origin nodes to reachable warehouses, ready over
    `ready_days` days; due after the cheapest route's time with a buffer (standard) or the
    fastest route's (express, critical). Route times here are lane transit + handling."""
    rng = np.random.default_rng(seed)
    ids = [n.id for n in network.nodes]
    index = {nid: i for i, nid in enumerate(ids)}
    origins = [index[n.id] for n in network.nodes if n.kind is NodeKind.origin]
    warehouses = np.array([index[n.id] for n in network.nodes if n.kind is NodeKind.warehouse])
    if not origins or not len(warehouses):
        raise ValueError("the network needs origin and warehouse nodes")
    handling = np.array([n.handling_days for n in network.nodes])
    best: dict[tuple[int, int], tuple[float, float]] = {}  # (from, to) -> (cost, days) cheapest
    fast: dict[tuple[int, int], float] = {}
    for lane in network.lanes:
        key = (index[lane.from_], index[lane.to])
        days = lane.transit_days + handling[key[1]]
        if key not in best or lane.cost_per_unit < best[key][0]:
            best[key] = (lane.cost_per_unit, days)
        fast[key] = min(fast.get(key, math.inf), days)
    n = len(ids)
    pairs = list(best)
    rows, cols = [p[0] for p in pairs], [p[1] for p in pairs]
    cost_g = csr_matrix(([best[p][0] + 1e-6 for p in pairs], (rows, cols)), shape=(n, n))
    days_g = csr_matrix(([fast[p] for p in pairs], (rows, cols)), shape=(n, n))
    cheap_cost, pred = dijkstra(cost_g, indices=origins, return_predecessors=True)
    fast_days = dijkstra(days_g, indices=origins)
    out: list[Shipment] = []
    weights = np.array([m[1] for m in _MIX])
    while len(out) < count:
        o = int(rng.integers(len(origins)))
        w = int(warehouses[int(rng.integers(len(warehouses)))])
        if not np.isfinite(cheap_cost[o, w]):
            continue
        priority, _, mu, sigma, low, high, split = _MIX[int(rng.choice(len(_MIX), p=weights))]
        if priority is Priority.standard:
            days, v = 0.0, w
            while v != origins[o]:
                u = int(pred[o, v])
                days += best[(u, v)][1]
                v = u
            lead = days * float(rng.uniform(1.1, 1.4)) + 2
        else:
            lead = float(fast_days[o, w]) + float(rng.uniform(1, 5))
        ready = now + timedelta(hours=int(rng.integers(0, 24 * ready_days)))
        out.append(
            Shipment(
                id=f"B{len(out) + 1:06d}",
                origin=ids[origins[o]],
                destination=ids[w],
                units=round(float(np.clip(rng.lognormal(mu, sigma), low, high)), 2),
                ready_at=ready,
                due_at=ready + timedelta(days=math.ceil(lead)),
                priority=priority,
                split=bool(rng.random() < split),
            )
        )
    return out


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _figures(result: Plan) -> dict[str, object]:
    t = result.timing
    return {
        "build_s": round(t["build_s"], 3),
        "solve_s": round(t["solve_s"], 3),
        "extract_s": round(t["extract_s"], 3),
        "highs_s": round(t["highs_s"], 3),
        "total_s": round(t["total_s"], 3),
        "total_over_highs": round(t["total_s"] / t["highs_s"], 1) if t["highs_s"] > 0 else None,
        # Where the time went: compile the instance, price the initial routes (DP), pass the
        # master to HiGHS, later pricing rounds.
        "parts_s": {
            k: round(t[k], 3) for k in ("compile_s", "columns_s", "pass_s", "pricing_s") if k in t
        },
        "rounds": int(t.get("rounds", 0)),
        "columns": int(t.get("columns", 0)),
        "status": result.status.value,
        "objective": result.objective,
        "unserved_units": round(sum(u.units for u in result.unserved), 3),
        "peak_mib": _peak_mib(),
    }


def run(size: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """Plan and re-plan figures for size S, M or L (see SIZES)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    n_nodes, n_lanes, n_ships = SIZES[size]
    network = generate_network(n_nodes, n_lanes, seed=7)
    shipments = tuple(bench_shipments(network, n_ships, NOW, seed=7))
    options = SolveOptions(time_limit_s=600)
    request = PlanRequest(now=NOW, shipments=shipments)
    full = plan(NetworkView(network), request, options, clock=time.perf_counter)
    figures = {
        "plan": {
            "size": size,
            "nodes": n_nodes,
            "lanes": n_lanes,
            "shipments": n_ships,
            **_figures(full),
        }
    }

    # The chokepoint most planned units pass; shipments through it are exposed (topped up with
    # others, in id order, to EXPOSED).
    lanes = network.lane_by_id
    load: Counter[str] = Counter()
    for a in full.assignments:
        for leg in a.legs:
            for member in lanes[leg.lane].via:
                load[member] += a.units
    choke = load.most_common(1)[0][0] if load else None
    through = [
        a.shipment
        for a in full.assignments
        if choke and any(choke in lanes[leg.lane].via for leg in a.legs)
    ]
    exposed = list(dict.fromkeys(through))[:EXPOSED]
    for s in shipments:
        if len(exposed) >= min(EXPOSED, len(shipments)):
            break
        if s.id not in exposed:
            exposed.append(s.id)
    view = NetworkView(network, WhatIf(avoid=frozenset({choke}) if choke else frozenset()))
    new, diff = replan(view, request, full, exposed, options, clock=time.perf_counter)
    figures["replan"] = {
        "size": size,
        "exposed": len(exposed),
        "avoided": choke,
        "rerouted": len(diff.rerouted),
        **_figures(new),
    }
    return figures


def run_congested(size: str, capacity_pct: float = 3.0) -> dict[str, dict]:  # type: ignore[type-arg]
    """A full plan with every lane and node derated to `capacity_pct`% so capacity binds and
    column generation has work to do (the default networks rarely bind)."""
    n_nodes, n_lanes, n_ships = SIZES[size]
    network = generate_network(n_nodes, n_lanes, seed=7)
    shipments = tuple(bench_shipments(network, n_ships, NOW, seed=7))
    derate = {x.id: capacity_pct for x in (*network.lanes, *network.nodes)}
    view = NetworkView(network, WhatIf(capacity_pct=derate))
    result = plan(
        view,
        PlanRequest(now=NOW, shipments=shipments),
        SolveOptions(time_limit_s=600),
        clock=time.perf_counter,
    )
    return {
        "plan_congested": {
            "size": size,
            "capacity_pct": capacity_pct,
            "nodes": n_nodes,
            "lanes": n_lanes,
            "shipments": n_ships,
            **_figures(result),
        }
    }


if __name__ == "__main__":
    import json
    import sys

    size = sys.argv[1] if len(sys.argv) > 1 else "S"
    out = run_congested(size) if "--congested" in sys.argv else run(size)
    print(json.dumps(out, indent=2))
