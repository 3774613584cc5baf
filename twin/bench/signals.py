"""Generated signal rows for the ingest and monitor benchmarks: one generator, so both measure
the same kind of feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from twin.domain.problems import InputError
from twin.domain.records import Network

ROWS = {
    "S": 10_000,
    "small": 10_000,
    "M": 100_000,
    "medium": 100_000,
    "L": 100_000,
    "large": 100_000,
}
# (dimension, metric, low, high): realistic value ranges, so every scorer does real work.
METRICS = [
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


def bench_network() -> Network:
    """The demo network, or a synthetic one of similar size where it is not bundled."""
    try:
        from twin.files.networks import load_network

        return load_network("demo")[0]
    except InputError:
        from twin.network.synthetic import generate_network

        return generate_network(150, 500, 0)


def write_rows(
    path: Path,
    rows: int,
    network: Network,
    seed: int = 0,
    *,
    areas: bool = False,
    ref_prefix: str = "r",
) -> None:
    """`rows` JSON Lines readings over the 30 days before END on nodes and lanes: every 20th a
    chokepoint's transits; with `areas`, every 100th an area circle round a node (which ingest
    resolves to the nodes inside it); a `ref` on every row but every third, which gets a content
    hash instead (refs are `ref_prefix` + the row's number: give each file its own)."""
    rng = np.random.default_rng(seed)
    targets = [n.id for n in network.nodes] + [lane.id for lane in network.lanes]
    chokepoints = [n.id for n in network.nodes if n.kind.value == "chokepoint"]
    placed = [n for n in network.nodes if n.lat is not None and n.lon is not None]
    start = END - timedelta(days=30)
    seconds = rng.integers(0, 30 * 86_400, size=rows)
    picks = rng.integers(0, len(targets), size=rows)
    shares = rng.random(rows)
    lines = []
    for i in range(rows):
        ts = (start + timedelta(seconds=int(seconds[i]))).strftime("%Y-%m-%dT%H:%M:%SZ")
        if chokepoints and i % 20 == 0:
            dim, metric, value = "capacity", "transits_per_day", 10 + 45 * shares[i]
            target: str | None = chokepoints[i % len(chokepoints)]
        else:
            dim, metric, low, high = METRICS[i % len(METRICS)]
            value, target = low + (high - low) * shares[i], targets[picks[i]]
        row: dict[str, object] = {
            "ts": ts,
            "source": "bench",
            "dimension": dim,
            "metric": metric,
            "value": round(float(value), 3),
        }
        if areas and placed and i % 100 == 1:
            node = placed[picks[i] % len(placed)]
            row["area"] = {"circle": [node.lat, node.lon, 150]}
        else:
            row["target"] = target
        if i % 3:
            row["ref"] = f"{ref_prefix}{i}"
        lines.append(orjson.dumps(row))
    path.write_bytes(b"\n".join(lines) + b"\n")
