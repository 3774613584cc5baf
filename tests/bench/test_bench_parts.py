"""The new bench parts measure what they say: the floor is the final master, the daemon pass
runs with every shipment in flight."""

from __future__ import annotations

import pytest

from twin.bench import congested, daemon
from twin.bench.plan import NOW, bench_shipments
from twin.network.graph import NetworkView, WhatIf
from twin.network.synthetic import generate_network
from twin.optimise import PlanRequest, SolveOptions, build, extract, solve


def test_floor_solves_the_same_final_master_and_capacity_binds() -> None:
    network = generate_network(40, 200, seed=7)
    shipments = tuple(bench_shipments(network, 80, NOW, seed=7))
    derate = congested.peak_season(network, shipments, factor=0.5)
    assert derate and all(0 < pct <= 100 for pct in derate.values())
    view = NetworkView(network, WhatIf(capacity_pct=derate))
    model = build(view, PlanRequest(now=NOW, shipments=shipments))
    result = solve(model, SolveOptions(time_limit_s=60))
    assert result.lp_bound is not None and result.rounds > 1
    figures = congested.floor(model, result.mip)
    # The LP over every generated route is the LP over all routes (column generation proved
    # nothing outside the pool improves it).
    assert figures["floor_lp_objective"] == pytest.approx(result.lp_bound, rel=1e-9)
    share = congested.binding(view, extract(model, result))
    assert 0 < share["lanes_binding"] <= share["lanes_used"]


def test_daemon_pass_runs_with_every_shipment_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(daemon.SHIPMENTS, "S", 300)
    monkeypatch.setitem(daemon.SIGNALS, "S", 40)
    figures = daemon.run("S")["daemon_sqlite"]
    assert figures["in_flight"] == figures["shipments"] == 300
    assert figures["signal_rows"] == 40 and figures["pass_s"] > 0
    # The first pass opens alert episodes only; the next one is a pass in which alerts fire and
    # the playbooks re-plan the exposed freight, and the bench says so beside its time.
    assert figures["alerts_pass"] == 0 and figures["replans_pass"] == 0
    assert figures["alerts_next_pass"] > 0 and figures["incidents_next_pass"] > 0
    assert figures["replans_next_pass"] > 0 and figures["rerouted_next_pass"] > 0
    assert 0 < figures["replan_s_next_pass"] < figures["next_pass_s"]
    # The parts add up to the pass; the planner's part is the re-planner calls' seconds.
    parts = figures["parts_s_next_pass"]
    assert sum(parts.values()) == pytest.approx(figures["next_pass_s"], abs=0.05)
    assert parts["planner"] == pytest.approx(figures["replan_s_next_pass"], abs=0.01)
    assert all(v >= 0 for v in parts.values()), parts
    calls = figures["replan_calls_next_pass"]
    assert len(calls) == figures["replans_next_pass"] and all(n > 0 for n, *_ in calls)
    assert figures["budget_stopped_next_pass"] == 0  # the default budget suffices at this size
