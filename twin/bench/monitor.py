"""Benchmark: ingest + score + propagate 100,000 signal rows on the demo network."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from twin.domain.records import Network

ROWS = {"S": 10_000, "small": 10_000, "M": 100_000, "medium": 100_000, "L": 100_000, "large": 100_000}
# (dimension, metric, low, high): realistic value ranges, so every scorer does real work.
_METRICS = [
    ("customs", "clearance_hours", 12.0, 120.0),
    ("customs", "inspection_rate", 0.0, 0.3),
    ("capacity", "utilization", 0.5, 1.05),
    ("capacity", "vessels_waiting", 0.0, 80.0),
    ("capacity", "dwell_days", 2.0, 9.0),
    ("weather", "wind_kt", 0.0, 70.0),
    ("weather", "wave_m", 0.0, 10.0),
    ("security", "incidents_7d", 0.0, 6.0),
    ("cost", "rate_change_pct", -20.0, 120.0),
    ("transit", "eta_drift_hours", 0.0, 150.0),
]
END = datetime(2024, 1, 31, tzinfo=UTC)


def _network() -> Network:
    try:
        from twin.files.networks import load_network

        return load_network("demo")[0]
    except Exception:  # noqa: BLE001 - the demo network is not bundled: a synthetic one stands in
        from twin.network.synthetic import generate_network

        return generate_network(150, 500, 0)


def write_rows(path: Path, rows: int, network: Network, seed: int = 0) -> None:
    """`rows` JSON Lines readings over 30 days on nodes and lanes, chokepoints with transits."""
    rng = np.random.default_rng(seed)
    targets = [n.id for n in network.nodes] + [lane.id for lane in network.lanes]
    chokepoints = [n.id for n in network.nodes if n.kind.value == "chokepoint"]
    start = END - timedelta(days=30)
    seconds = rng.integers(0, 30 * 86_400, size=rows)
    picks = rng.integers(0, len(targets), size=rows)
    shares = rng.random(rows)
    lines = []
    for i in range(rows):
        ts = (start + timedelta(seconds=int(seconds[i]))).strftime("%Y-%m-%dT%H:%M:%SZ")
        if chokepoints and i % 20 == 0:
            dim, metric, value = "capacity", "transits_per_day", 10 + 45 * shares[i]
            target = chokepoints[i % len(chokepoints)]
        else:
            dim, metric, low, high = _METRICS[i % len(_METRICS)]
            value, target = low + (high - low) * shares[i], targets[picks[i]]
        lines.append(orjson.dumps({"ts": ts, "source": "bench", "dimension": dim, "target": target,
                                   "metric": metric, "value": round(float(value), 3), "ref": f"r{i}"}))
    path.write_bytes(b"\n".join(lines) + b"\n")


def run(size: str) -> dict[str, dict]:
    """{"monitor": {rows, seconds, rows_per_s, ingest_s, score_s, scores, ...}} for one pass."""
    from twin.feeds.ingest import ingest_path
    from twin.scoring.propagate import assess

    rows = ROWS.get(size, 100_000)
    network = _network()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signals.jsonl"
        write_rows(path, rows, network)
        assess(ingest_path(path, network).frame, network, END)  # warm imports and caches
        began = time.perf_counter()
        frame = ingest_path(path, network).frame
        ingested = time.perf_counter()
        result = assess(frame, network, END)
        done = time.perf_counter()
    seconds = done - began
    return {
        "monitor": {
            "rows": rows,
            "network": network.name,
            "nodes": len(network.nodes),
            "lanes": len(network.lanes),
            "scores": len(result.frame),
            "seconds": round(seconds, 3),
            "ingest_s": round(ingested - began, 3),
            "score_s": round(done - ingested, 3),
            "rows_per_s": round(rows / seconds),
        }
    }


if __name__ == "__main__":
    print(run("M"))
