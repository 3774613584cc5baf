"""Benchmark: ingest and monitor (ingest + score + propagate) one million signal rows, JSON Lines
and CSV, each measured in its own process with its peak resident memory.

The rows come from the generator the ingest and monitor parts share (twin/bench/signals.py),
1% area circles, written as files of 100,000 rows (a feed file holds at most 200,000 rows by
default, twin.feeds.limits). Each (format, stage) runs in a fresh child process that reports
its wall time and its own peak resident set (VmHWM). The
per-row reader (the columnar fast path turned off, twin.feeds.columnar) is measured in the
same run at S, so the speed-up is a ratio of figures taken under the same load.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from twin.bench.signals import END, bench_network, write_rows

ROWS = {"S": 100_000, "M": 1_000_000, "L": 1_000_000}
FILE_ROWS = 100_000
CSV_COLUMNS = ("ts", "source", "dimension", "target", "metric", "value", "ref", "area_circle")


def run(size: str) -> dict[str, dict]:
    """{"throughput": {rows, <format>_<stage>_rows_per_s, ..._s, ..._peak_mib, load_avg}}."""
    rows = ROWS.get(size, 1_000_000)
    network = bench_network()
    out: dict[str, Any] = {"rows": rows, "files": -(-rows // FILE_ROWS), "network": network.name}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_feeds(root, rows, network)
        out["load_avg_1m_before"] = round(os.getloadavg()[0], 2)
        paths = ["columnar", "per_row"] if size == "S" else ["columnar"]
        for fmt in ("jsonl", "csv"):
            for stage in ("ingest", "monitor"):
                for path in paths:
                    figures = _child(root / fmt, stage, path == "columnar")
                    name = f"{fmt}_{stage}" + ("" if path == "columnar" else "_per_row")
                    out[f"{name}_s"] = figures["seconds"]
                    out[f"{name}_rows_per_s"] = round(rows / figures["seconds"])
                    out[f"{name}_cpu_s"] = figures["cpu_s"]
                    out[f"{name}_rows_per_cpu_s"] = round(rows / figures["cpu_s"])
                    out[f"{name}_peak_mib"] = figures["peak_mib"]
                    if stage == "monitor":
                        out[f"{name}_ingest_s"] = figures["ingest_s"]
                        out[f"{name}_score_s"] = figures["score_s"]
                    out[f"{name}_signals"] = figures["signals"]
        out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return {"throughput": out}


def write_feeds(root: Path, rows: int, network: Any) -> None:
    """`rows` generated signal rows as JSON Lines files under root/jsonl and the same rows as
    CSV files under root/csv."""
    (root / "jsonl").mkdir()
    (root / "csv").mkdir()
    for number, start in enumerate(range(0, rows, FILE_ROWS)):
        count = min(FILE_ROWS, rows - start)
        jsonl = root / "jsonl" / f"signals-{number:03d}.jsonl"
        write_rows(jsonl, count, network, seed=number, areas=True, ref_prefix=f"f{number}r")
        with (root / "csv" / f"signals-{number:03d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for line in jsonl.read_bytes().splitlines():
                row = orjson.loads(line)
                area = row.get("area")
                circle = " ".join(str(x) for x in area["circle"]) if area else ""
                cells = [row.get(c, "") for c in CSV_COLUMNS[:-1]]
                writer.writerow([*cells, circle])


def _child(folder: Path, stage: str, columnar: bool) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "twin.bench.throughput", str(folder), stage, str(int(columnar))],
        capture_output=True,
        check=True,
        text=True,
    )
    return dict(json.loads(proc.stdout))


def measure(folder: Path, stage: str, columnar: bool) -> dict[str, Any]:
    """One timed ingest (and, for "monitor", one assess) of every file in `folder`, after one
    untimed run on a single file to load imports and caches."""
    import twin.feeds.columnar as fast_path
    from twin.feeds.ingest import ingest_path
    from twin.scoring.propagate import assess

    fast_path.ENABLED = columnar
    network = bench_network()
    warm = ingest_path(min(folder.iterdir()), network).frame
    if stage == "monitor":
        assess(warm.iloc[:1_000], network, END)
    del warm
    began, cpu_began = time.perf_counter(), time.process_time()
    frame = ingest_path(folder, network).frame
    ingested = time.perf_counter()
    if stage == "monitor":
        assess(frame, network, END)
    done = time.perf_counter()
    return {
        "seconds": round(done - began, 3),
        # CPU seconds of the process (all its threads): on a shared machine the wall time
        # mostly says how busy the other work kept the cores.
        "cpu_s": round(time.process_time() - cpu_began, 3),
        "ingest_s": round(ingested - began, 3),
        "score_s": round(done - ingested, 3),
        "signals": len(frame),
        "peak_mib": _peak_mib(),
    }


def _peak_mib() -> float:
    """This process's peak resident set since it started (VmHWM). ru_maxrss would not do: on
    Linux it keeps the high-water mark of the parent it was forked from across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024.0, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


if __name__ == "__main__":
    if len(sys.argv) == 4:
        sys.stdout.write(json.dumps(measure(Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1")))
    else:
        print(run(sys.argv[1] if len(sys.argv) > 1 else "S"))
