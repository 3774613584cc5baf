"""Benchmark: ingest 100,000 generated JSON Lines signal rows (1% area circles) on the demo network."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from twin.bench.signals import ROWS, bench_network, write_rows
from twin.feeds.ingest import ingest_path


def run(size: str) -> dict[str, dict]:
    """Ingest generated rows; returns {"ingest": {rows, signals, seconds, rows_per_s, network}}."""
    rows = ROWS.get(size, 100_000)
    network = bench_network()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signals.jsonl"
        write_rows(path, rows, network, areas=True)
        ingest_path(path, network)  # warm imports and caches; the timed run is the second
        # Timed without tracemalloc (it triples the time); the runner adds the process's peak RSS.
        began = time.perf_counter()
        result = ingest_path(path, network)
        seconds = time.perf_counter() - began
    return {
        "ingest": {
            "rows": rows,
            "signals": len(result.frame),
            "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds),
            "network": network.name,
        }
    }


if __name__ == "__main__":
    print(run("M"))
