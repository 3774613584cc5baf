"""Benchmark: ingest + score + propagate 100,000 signal rows on the demo network."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from twin.bench.signals import END, ROWS, bench_network, write_rows


def run(size: str) -> dict[str, dict]:
    """{"monitor": {rows, seconds, rows_per_s, ingest_s, score_s, scores, ...}} for one pass."""
    from twin.feeds.ingest import ingest_path
    from twin.scoring.propagate import assess

    rows = ROWS.get(size, 100_000)
    network = bench_network()
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
