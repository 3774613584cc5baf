"""Benchmark: project stock for 31 warehouses x 2,000 SKUs over 120 days (issue 15).

The figure is the issue's whatever the size (it takes about a second); inbound comes from
SKU lines of generated shipments placed at ETAs over the horizon, demand is drawn per pair.
The timed part is what the engine runs on each pass: inbound from lines and ETAs, then
the projection. `stock_engine` times an engine monitor tick on the demo with the stock
dimension against the same tick without it (issue 15: within 2x).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

WAREHOUSES, SKUS, DAYS = 31, 2_000, 120
SHIPMENTS, LINES_PER_SHIPMENT = 5_000, 8
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _inputs(seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    pairs = pd.MultiIndex.from_product(
        [[f"W{w:02d}" for w in range(WAREHOUSES)], [f"SKU{s:05d}" for s in range(SKUS)]],
        names=["warehouse", "sku"],
    )
    rate = rng.lognormal(np.log(2.0), 1.2, len(pairs))
    demand = rng.gamma(2.0, rate[:, None] / 2.0, (len(pairs), DAYS))
    on_hand = np.floor(rate * rng.uniform(5, 60, len(pairs)))
    margin = rng.uniform(2, 40, len(pairs))
    ships = [f"S{i:06d}" for i in range(SHIPMENTS)]
    destinations = {s: f"W{int(rng.integers(WAREHOUSES)):02d}" for s in ships}
    etas = {s: NOW + timedelta(hours=float(rng.uniform(-24, 24 * (DAYS + 10)))) for s in ships}
    count = SHIPMENTS * LINES_PER_SHIPMENT
    lines = pd.DataFrame(
        {
            "shipment": np.repeat(ships, LINES_PER_SHIPMENT),
            "sku": [f"SKU{s:05d}" for s in rng.integers(SKUS, size=count)],
            "units": rng.integers(10, 500, count).astype(float),
        }
    )
    return {
        "pairs": pairs,
        "demand": demand,
        "on_hand": on_hand,
        "margin": margin,
        "lines": lines,
        "destinations": destinations,
        "etas": etas,
    }


def _engine_pass(repeats: int = 5) -> dict[str, Any]:
    """A monitor tick on the demo (31 warehouses, 500 SKUs, 600 shipments of which those with
    lines feed them, Bab-el-Mandeb closed) with the stock dimension and without it, each from a
    fresh engine built from the same state as a daemon pass builds it; the median of `repeats`.
    The demand forecast is fitted once before (a pass reuses it for the day) and timed apart."""
    import statistics
    from datetime import date

    from twin.domain.settings import StockSettings
    from twin.domain.signals import Signal
    from twin.domain.stock import StockInputs
    from twin.engine.engine import Engine, EngineSettings
    from twin.engine.state import EngineState
    from twin.feeds.ingest import ingest_signals
    from twin.files.networks import load_network
    from twin.scoring.exposure import cheapest_assignments
    from twin.shipments.generate import generate_shipments
    from twin.stock.generate import generate_stock, shipment_lines
    from twin.stock.monitor import StockMonitor

    network, _ = load_network("demo")
    demo = generate_stock(network, skus=500, days=365, end=date(2026, 12, 1), seed=0)
    ships = generate_shipments(network, start=NOW - timedelta(days=30), days=30, per_day=20, seed=0)
    ships, lines = shipment_lines(ships, demo.stock, seed=0)
    inputs = StockInputs(demo.stock, demo.history, demo.history.iloc[:0], lines)
    routes: dict[str, Any] = {}
    for assignment in cheapest_assignments(network, ships):
        routes.setdefault(assignment.shipment, []).append(assignment)
    state = EngineState(
        shipments={s.id: s for s in ships}, routes={k: tuple(v) for k, v in routes.items()}
    )
    signals = [
        Signal(
            ts=NOW - timedelta(hours=2),
            source="bench",
            dimension="security",
            target="BAB_EL_MANDEB",
            metric=metric,
            value=value,
        )
        for metric, value in (("advisory_level", 4), ("incidents_7d", 8))
    ]
    state.history = ingest_signals(signals, network).frame
    monitor = StockMonitor(inputs, network, StockSettings())
    began = time.perf_counter()
    monitor.demand(NOW, {s.id: s.destination for s in ships})
    forecast_s = time.perf_counter() - began

    def one(stock: StockMonitor | None, at: datetime) -> float:
        engine = Engine.from_state(network, [], state, EngineSettings(), stock=stock)
        began = time.perf_counter()
        report = engine.tick(at)
        took = time.perf_counter() - began
        assert (report.stock is not None) == (stock is not None)
        return took

    one(None, NOW)
    one(monitor, NOW)  # warm both paths
    without, with_stock = [], []
    for k in range(repeats):  # interleaved, so load on the machine hits both alike
        at = NOW + timedelta(minutes=k + 1)
        without.append(one(None, at))
        with_stock.append(one(monitor, at))
    plain, stocked = statistics.median(without), statistics.median(with_stock)
    last = monitor.assess(state.shipments, state.routes, [], NOW)
    return {
        "warehouses": len(last.warehouses),
        "pairs": int(sum(w.skus for w in last.warehouses.values())),
        "shipments": len(ships),
        "shipments_with_lines": int(lines["shipment"].nunique()),
        "repeats": repeats,
        "pass_without_stock_s": round(plain, 3),
        "pass_with_stock_s": round(stocked, 3),
        "ratio": round(stocked / plain, 2),
        "target_ratio": 2.0,
        "forecast_once_s": round(forecast_s, 3),
    }


def run(size: str) -> dict[str, dict[str, Any]]:
    from twin.bench.runner import peak_mib
    from twin.stock.position import inbound_matrix
    from twin.stock.projection import project

    data = _inputs()
    # Warm the code paths once on a slice, so the timing is the steady state of a pass.
    project(
        data["on_hand"][:10], data["demand"][:10], data["demand"][:10], data["margin"][:10], NOW
    )
    began, cpu_began = time.perf_counter(), time.process_time()
    inbound = inbound_matrix(
        data["pairs"], data["lines"], data["destinations"], data["etas"], NOW, DAYS
    )
    built = time.perf_counter()
    result = project(data["on_hand"], data["demand"], inbound, data["margin"], NOW)
    done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "stock": {
            "size": size,
            "warehouses": WAREHOUSES,
            "skus": SKUS,
            "pairs": len(data["pairs"]),
            "days": DAYS,
            "shipment_lines": len(data["lines"]),
            "inbound_s": round(built - began, 3),
            "project_s": round(done - built, 3),
            "seconds": round(done - began, 3),
            # CPU time of this process: on a shared, loaded machine the wall clock waits too.
            "cpu_s": round(cpu_done - cpu_began, 3),
            "pairs_out": int((result.stockout_day >= 0).sum()),
            "peak_mib": peak_mib(),  # before the engine pass below adds its own
        },
        "stock_engine": _engine_pass(),
    }


if __name__ == "__main__":
    print(run("L"))
