"""The pricing DP (which relaxes only the arcs that can improve something) equals a plain DP
that relaxes every arc on every day, value for value, with duals, room and unsplittable needs."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optimise.oracles import NOW, Case, cases
from twin.bench.congested import peak_season
from twin.bench.plan import NOW as BENCH_NOW
from twin.bench.plan import bench_shipments
from twin.network.graph import NetworkView, WhatIf
from twin.network.synthetic import generate_network
from twin.optimise import PlanRequest, SolveOptions, build, solve
from twin.optimise.columns import DPBuffer, time_expanded_costs
from twin.optimise.instance import Instance, compile_instance


def plain_dp(
    inst: Instance,
    b: int,
    sources: np.ndarray,
    starts: np.ndarray,
    adjust: np.ndarray | None,
    need: np.ndarray,
    static: bool,
) -> np.ndarray:
    batch = inst.batches[b]
    H, n, k = inst.horizon, len(inst.node_ids), len(sources)
    dist = np.full((H + 1, n, k), np.inf)
    for t in range(H + 1):
        if t > 0:
            dist[t] = np.minimum(dist[t], dist[t - 1])
        for j in range(k):
            if starts[j] == t:
                dist[t, sources[j], j] = 0.0
        for lane in range(len(inst.frm)):
            d = int(batch.dur[lane])
            if t + d > H:
                continue
            room = inst.arc_room(batch, np.array([lane]), t, static)[0]
            step = batch.cost[lane] + (adjust[lane, t] if adjust is not None else 0.0)
            for j in range(k):
                if room < need[j] - 1e-9:
                    continue
                v, w = int(inst.frm[lane]), int(inst.to[lane])
                dist[t + d, w, j] = min(dist[t + d, w, j], dist[t, v, j] + step)
    return dist


@settings(max_examples=60, deadline=None)
@given(cases(max_nodes=7, max_lanes=16), st.data())
def test_pruned_dp_equals_plain_dp(case: Case, data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # Room that changes from day to day (reserved by others), so arcs open and close in time.
    reserved_lane = {
        (lane.id, day): float(rng.integers(0, 12))
        for lane in case.view.network.lanes
        for day in range(case.horizon + 1)
        if rng.random() < 0.4
    }
    reserved_node = {
        (node.id, day): float(rng.integers(0, 12))
        for node in case.view.network.nodes
        for day in range(case.horizon + 1)
        if rng.random() < 0.2
    }
    request = PlanRequest(
        now=NOW,
        shipments=case.shipments,
        horizon_days=case.horizon,
        risk_days=case.risk,
        reserved_lane=reserved_lane,
        reserved_node=reserved_node,
    )
    inst = compile_instance(case.view, request)
    if not len(inst.frm):
        return
    n, H = len(inst.node_ids), inst.horizon
    k = data.draw(st.integers(1, 4))
    sources = np.array([data.draw(st.integers(0, n - 1)) for _ in range(k)], dtype=np.int64)
    starts = np.array([data.draw(st.integers(0, H)) for _ in range(k)], dtype=np.int64)
    need = np.array(
        [float(data.draw(st.sampled_from([0.0, 0.0, 4.0, 9.0, 20.0]))) for _ in range(k)]
    )
    static = data.draw(st.booleans())
    adjust = None
    if data.draw(st.booleans()):
        # Capacity duals: non-negative extra costs on some (lane, day) pairs, varying by day.
        adjust = np.where(
            rng.random((len(inst.frm), H + 1)) < 0.4,
            rng.integers(1, 30, (len(inst.frm), H + 1)).astype(float),
            0.0,
        )
    for b in range(len(inst.batches)):
        got = time_expanded_costs(
            inst, inst.batches[b], sources, starts, adjust, need=need, static=static
        )
        want = plain_dp(inst, b, sources, starts, adjust, need, static)
        assert np.array_equal(got[min(starts) :], want[min(starts) :])
        # A reused buffer (reset only where the run before wrote, with another shape) gives
        # the same values as a fresh array.
        buffer = DPBuffer((H + 1) * n * (k + 1))
        time_expanded_costs(
            inst, inst.batches[b], np.arange(k + 1) % n, np.zeros(k + 1, dtype=np.int64),
            buffer=buffer,
        )  # fmt: skip
        again = time_expanded_costs(
            inst, inst.batches[b], sources, starts, adjust, need=need, static=static, buffer=buffer
        )
        assert np.array_equal(again, got)


def test_dp_runs_on_threads_give_the_serial_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Initial routes and pricing with DP runs on worker threads (each with its own buffer,
    results taken in order) give the same routes, rounds and plan as one run at a time."""
    network = generate_network(40, 200, seed=7)
    shipments = tuple(bench_shipments(network, 80, BENCH_NOW, seed=7))
    view = NetworkView(network, WhatIf(capacity_pct=peak_season(network, shipments, 0.5)))
    request = PlanRequest(now=BENCH_NOW, shipments=shipments)
    columns_module = importlib.import_module("twin.optimise.columns")
    # Chunks of 4 start points: many DP runs per call, so the threads overlap.
    monkeypatch.setattr(columns_module, "KEYS_PER_RUN", 4)
    outcomes = []
    for threads in (1, 3):
        monkeypatch.setattr(columns_module, "DP_THREADS", threads)
        model = build(view, request)
        result = solve(model, SolveOptions(time_limit_s=60))
        routes = [(c.commodity, c.legs) for c in model.pool.columns]
        outcomes.append((routes, result.rounds, result.objective, result.status))
    assert outcomes[0][1] > 1
    assert outcomes[0] == outcomes[1]
