"""Benchmark of the planner under real congestion: capacity binds, column generation works.

A peak season: every lane on a shipment's cheapest route gets PEAK_FACTOR of the average
daily units those routes would send it (`peak_season`), so many of the lanes the plan uses run
full on some day and column generation needs many rounds. Sizes M, L and XL (5,000 nodes, 50,000 lanes, 50,000 shipments). Reports, beside each
figure, the floor: the final restricted master (every generated route) handed to bare highspy
in one `passModel` and solved from scratch (the LP, and the MIP when the plan needed one) —
what a perfect modelling layer with an oracle for the final routes would still pay. The rest
is named in `parts_s`: compiling the instance, the initial-route DP, passing the master,
pricing DPs, HiGHS's own time, branch-and-price bookkeeping, extraction.
"""

from __future__ import annotations

import resource
import time
from collections import Counter, defaultdict
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.bench.plan import NOW, SIZES, bench_shipments
from twin.domain.plans import Plan
from twin.domain.records import Lane, Network, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.network.synthetic import generate_network
from twin.optimise import PlanModel, PlanRequest, SolveOptions, build, extract, solve
from twin.optimise.pipeline import gc_paused
from twin.optimise.replan import replan

SIZES_CONGESTED = {**SIZES, "XL": (5_000, 50_000, 50_000)}
EXPOSED = {"S": 500, "M": 1_000, "L": 2_000, "XL": 10_000}
# Each lane's capacity is set to this share of the average daily units its cheapest-route
# load would put on it (shipments are ready over READY_DAYS days): a peak season.
PEAK_FACTOR = 1.0
READY_DAYS = 5
# Each full plan's budget (build, solve and extraction): past it the plan is reported
# `feasible` with its proven gap.
TIME_LIMIT_S = 120.0
# The re-plan's budget, build and extraction included: the aim for 10,000 exposed
# XL shipments. A re-plan that runs out of it ends `feasible` (gap proven when the LP was).
REPLAN_LIMIT_S = 10.0


def peak_season(
    network: Network, shipments: tuple[Shipment, ...], factor: float = PEAK_FACTOR
) -> dict[str, float]:
    """capacity_pct per lane: every lane on some shipment's cheapest route gets
    `factor` x the average daily units those routes would send (at least 1 unit), as a
    percentage of its capacity (never above it); other lanes keep their capacity."""
    ids = [n.id for n in network.nodes]
    index = {nid: i for i, nid in enumerate(ids)}
    cheapest: dict[tuple[int, int], Lane] = {}
    for lane in network.lanes:
        key = (index[lane.from_], index[lane.to])
        if key not in cheapest or lane.cost_per_unit < cheapest[key].cost_per_unit:
            cheapest[key] = lane
    pairs = list(cheapest)
    n = len(ids)
    graph = csr_matrix(
        (
            [cheapest[p].cost_per_unit + 1e-6 for p in pairs],
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        ),
        shape=(n, n),
    )
    sources = sorted({index[s.origin] for s in shipments})
    row = {v: i for i, v in enumerate(sources)}
    _, pred = dijkstra(graph, indices=sources, return_predecessors=True)
    load: dict[str, float] = defaultdict(float)
    for s in shipments:
        i, v = row[index[s.origin]], index[s.destination]
        while v != index[s.origin] and pred[i, v] >= 0:
            u = int(pred[i, v])
            load[cheapest[(u, v)].id] += s.units
            v = u
    pct: dict[str, float] = {}
    for lane in network.lanes:
        if lane.id in load and lane.capacity:
            target = max(1.0, factor * load[lane.id] / READY_DAYS)
            pct[lane.id] = min(100.0, 100.0 * target / lane.capacity)
    return pct


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def floor(model: PlanModel, mip: bool) -> dict[str, float]:
    """Bare highspy on the final restricted master: build the LP from the pool's arrays, pass it
    once, solve it cold (and as a MIP when the plan needed one)."""
    t0 = time.perf_counter()
    inst, pool = model.instance, model.pool
    n_com, n_cols = len(inst.commodities), len(pool.columns)
    n_lane, n_node = len(pool.lane_rows), len(pool.node_rows)
    units = np.array([c.units for c in inst.commodities])
    owner = np.array([c.commodity for c in pool.columns], dtype=np.int64)
    rows: list[np.ndarray] = [np.arange(n_com), owner]
    cols: list[np.ndarray] = [np.arange(n_com), n_com + np.arange(n_cols)]
    vals: list[np.ndarray] = [np.ones(n_com), np.ones(n_cols)]
    for p in range(n_cols):
        r = [n_com + x for x in pool.col_lane_rows[p]] + [
            n_com + n_lane + x for x in pool.col_node_rows[p]
        ]
        rows.append(np.array(r, dtype=np.int64))
        cols.append(np.full(len(r), n_com + p))
        vals.append(np.full(len(r), units[owner[p]]))
    a = csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_com + n_lane + n_node, n_com + n_cols),
    )
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    penalty = inst.request.unserved_penalty_per_unit
    lp.col_cost_ = np.concatenate(
        [units * penalty, units[owner] * np.array([c.cost_pu for c in pool.columns])]
    )
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.full(lp.num_col_, highspy.kHighsInf)
    upper = [inst.lane_residual(*k) for k in pool.lane_rows] + [
        inst.node_residual(*k) for k in pool.node_rows
    ]
    lp.row_lower_ = np.concatenate([np.ones(n_com), np.full(n_lane + n_node, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n_com), np.array(upper, dtype=float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve_rule_off", 1024)
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    out = {
        "floor_build_s": round(t1 - t0, 3),
        "floor_lp_s": round(t2 - t1, 3),
        "floor_lp_objective": float(h.getInfo().objective_function_value),
    }
    if mip:
        split = np.array([inst.commodities[k].split for k in range(n_com)])
        integer = np.concatenate([~split, ~split[owner]])
        idx = np.flatnonzero(integer).astype(np.int32)
        h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))
        h.setOptionValue("mip_rel_gap", 1e-6)
        t3 = time.perf_counter()
        h.run()
        out["floor_mip_s"] = round(time.perf_counter() - t3, 3)
    return out


def binding(view: NetworkView, result: Plan) -> dict[str, float]:
    """Lanes the plan uses, and the share of them full on at least one departure day."""
    load: dict[tuple[str, int], float] = defaultdict(float)
    for a in result.assignments:
        for leg in a.legs:
            load[(leg.lane, leg.depart_at.toordinal())] += a.units
    lanes = view.network.lane_by_id
    used, full = set(), set()
    for (lane_id, _), units in load.items():
        used.add(lane_id)
        cap = view.lane_capacity(lanes[lane_id])
        if cap is not None and units >= cap - 1e-6:
            full.add(lane_id)
    return {
        "lanes_used": len(used),
        "lanes_binding": len(full),
        "binding_share": round(len(full) / len(used), 3) if used else 0.0,
    }


def _timed(view: NetworkView, request: PlanRequest, options: SolveOptions) -> dict[str, Any]:
    # As `plan` does: no cyclic garbage collection while the plan is made.
    with gc_paused():
        return _timed_parts(view, request, options)


def _timed_parts(view: NetworkView, request: PlanRequest, options: SolveOptions) -> dict[str, Any]:
    clock = time.perf_counter
    cpu0 = time.process_time()
    t0 = clock()
    model = build(view, request, clock)
    t1 = clock()
    result = solve(model, options, clock, started=t0)
    t2 = clock()
    out = extract(model, result)
    t3 = clock()
    parts = {**model.parts_s, **result.parts_s}
    parts["highs_s"] = result.highs_s
    parts["other_solve_s"] = (
        (t2 - t1) - parts.get("pass_s", 0) - parts.get("pricing_s", 0) - result.highs_s
    )
    parts["extract_s"] = t3 - t2
    return {
        "plan": out,
        "model": model,
        "result": result,
        "figures": {
            "build_s": round(t1 - t0, 3),
            "solve_s": round(t2 - t1, 3),
            "extract_s": round(t3 - t2, 3),
            "highs_s": round(result.highs_s, 3),
            "total_s": round(t3 - t0, 3),
            # This process's CPU seconds: on a shared machine, wall time is inflated by the
            # other processes' load; CPU time much less so.
            "cpu_s": round(time.process_time() - cpu0, 3),
            "parts_s": {k: round(v, 3) for k, v in parts.items()},
            "rounds": result.rounds,
            "columns": result.columns,
            "rows": result.rows,
            "mip": result.mip,
            "bnp_nodes": result.nodes,
            "status": result.status.value,
            "objective": result.objective,
            "gap": result.gap,
            "unserved_units": round(sum(u.units for u in out.unserved), 3),
        },
    }


def run(size: str, factor: float = PEAK_FACTOR) -> dict[str, dict[str, Any]]:
    """Congested full plan and re-plan figures for size S, M, L or XL."""
    if size not in SIZES_CONGESTED:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES_CONGESTED)}")
    n_nodes, n_lanes, n_ships = SIZES_CONGESTED[size]
    network = generate_network(n_nodes, n_lanes, seed=7)
    shipments = tuple(bench_shipments(network, n_ships, NOW, seed=7))
    derate = peak_season(network, shipments, factor)
    view = NetworkView(network, WhatIf(capacity_pct=derate))
    options = SolveOptions(time_limit_s=TIME_LIMIT_S)
    request = PlanRequest(now=NOW, shipments=shipments)
    full = _timed(view, request, options)
    figures = {
        "size": size,
        "nodes": n_nodes,
        "lanes": n_lanes,
        "shipments": n_ships,
        "peak_factor": factor,
        "lanes_derated": len(derate),
        **full["figures"],
        **binding(view, full["plan"]),
        "peak_mib": _peak_mib(),
    }
    figures |= floor(full["model"], full["result"].mip)
    # Done with the plan's model: as in the daemon, the next plan of the process (the
    # re-plan) takes its DP buffers instead of filling new ones.
    del full["model"]
    out: dict[str, dict[str, Any]] = {"plan_congested": figures}

    # Re-plan: avoid the chokepoint most planned units pass; its shipments are exposed, topped
    # up with others in id order to EXPOSED[size].
    lanes = network.lane_by_id
    load: Counter[str] = Counter()
    for a in full["plan"].assignments:
        for leg in a.legs:
            for member in lanes[leg.lane].via:
                load[member] += a.units
    choke = load.most_common(1)[0][0] if load else None
    through = [
        a.shipment
        for a in full["plan"].assignments
        if choke and any(choke in lanes[leg.lane].via for leg in a.legs)
    ]
    want = min(EXPOSED[size], len(shipments))
    exposed = list(dict.fromkeys(through))[:want]
    chosen = set(exposed)
    for s in shipments:
        if len(exposed) >= want:
            break
        if s.id not in chosen:
            exposed.append(s.id)
            chosen.add(s.id)
    avoid = frozenset({choke}) if choke else frozenset()
    closed = NetworkView(network, WhatIf(avoid=avoid, capacity_pct=derate))
    t0, cpu0 = time.perf_counter(), time.process_time()
    budget = SolveOptions(time_limit_s=REPLAN_LIMIT_S)
    new, diff = replan(closed, request, full["plan"], exposed, budget, clock=time.perf_counter)
    t = new.timing
    out["replan_congested"] = {
        "size": size,
        "exposed": len(exposed),
        "time_limit_s": REPLAN_LIMIT_S,
        "avoided": choke,
        "rerouted": len(diff.rerouted),
        "total_s": round(time.perf_counter() - t0, 3),
        "cpu_s": round(time.process_time() - cpu0, 3),
        "build_s": round(t.get("build_s", 0.0), 3),
        "pricing_s": round(t.get("pricing_s", 0.0), 3),
        "solve_s": round(t.get("solve_s", 0.0), 3),
        "highs_s": round(t.get("highs_s", 0.0), 3),
        "rounds": int(t.get("rounds", 0)),
        "bnp_nodes": int(t.get("nodes", 0)),
        "status": new.status.value,
        "objective": new.objective,
        "gap": new.gap,
        "message": new.message,
        "unserved_units": round(sum(u.units for u in new.unserved), 3),
        "peak_mib": _peak_mib(),
    }
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "M"), indent=2))
