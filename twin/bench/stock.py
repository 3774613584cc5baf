"""Benchmark: project stock for 31 warehouses x 2,000 SKUs over 120 days (issue 15).

The figure is the issue's whatever the size (it takes about a second); inbound comes from
SKU lines of generated shipments placed at ETAs over the horizon, demand is drawn per pair.
The timed part is what the engine will run on each pass: inbound from lines and ETAs, then
the projection.
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


def run(size: str) -> dict[str, dict[str, Any]]:
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
        }
    }


if __name__ == "__main__":
    print(run("L"))
