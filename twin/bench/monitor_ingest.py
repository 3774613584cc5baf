"""Benchmark: ingest 100,000 generated JSON Lines signal rows on the demo network."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import orjson

from twin.domain.problems import InputError
from twin.domain.records import Network
from twin.feeds.ingest import ingest_path

SIZES = {"small": 10_000, "medium": 100_000, "large": 100_000}
_METRICS = [("customs", "clearance_hours"), ("capacity", "utilization"), ("weather", "wind_kt"),
            ("security", "incidents_7d"), ("cost", "rate_change_pct")]


def _network() -> Network:
    try:
        from twin.files.networks import load_network

        return load_network("demo")[0]
    except InputError:  # the demo network is not bundled yet: a synthetic one stands in
        from twin.network.synthetic import generate_network

        return generate_network(200, 600, seed=1, name="bench")


def write_rows(path: Path, rows: int, network: Network, seed: int = 0) -> None:
    """`rows` signal rows as JSON Lines: 1% area circles, the rest node targets."""
    rng = np.random.default_rng(seed)
    ids = [n.id for n in network.nodes]
    placed = [n for n in network.nodes if n.lat is not None and n.lon is not None]
    start = np.datetime64("2024-01-01T00:00:00")
    lines = []
    for i in range(rows):
        dim, metric = _METRICS[i % len(_METRICS)]
        ts = str(start + np.timedelta64(int(rng.integers(0, 86_400 * 30)), "s")) + "Z"
        row: dict[str, object] = {"ts": ts, "source": "bench", "dimension": dim, "metric": metric,
                                  "value": round(float(rng.random() * 100), 3)}
        if i % 100 == 0 and placed:
            node = placed[int(rng.integers(len(placed)))]
            row["area"] = {"circle": [node.lat, node.lon, 150]}
        else:
            row["target"] = ids[int(rng.integers(len(ids)))]
        if i % 3 == 0:
            row["ref"] = f"r{i}"
        lines.append(orjson.dumps(row))
    path.write_bytes(b"\n".join(lines) + b"\n")


def run(size: str) -> dict[str, dict]:
    """Ingest generated rows; returns {"ingest": {rows, seconds, rows_per_s, peak_mib}}."""
    rows = SIZES.get(size, 100_000)
    network = _network()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signals.jsonl"
        write_rows(path, rows, network)
        ingest_path(path, network)  # warm imports and caches; the timed run is the second
        tracemalloc.start()
        began = time.perf_counter()
        result = ingest_path(path, network)
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "ingest": {
            "rows": rows,
            "signals": len(result.frame),
            "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds),
            "peak_mib": round(peak / 2**20, 1),
            "network": network.name,
        }
    }


if __name__ == "__main__":
    print(run("medium"))
