"""Run benchmark parts, each in a fresh process so its peak memory is its own.

A part is a module `twin.bench.<name>` with `run(size) -> dict[str, dict]`. The runner adds
`peak_mib` (the part's process peak resident set, from getrusage) where the part gives none.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import resource
import subprocess
import sys
from typing import Any

# Order matters only for reading the output; each part is independent.
PARTS = (
    "network",
    "ingest",
    "monitor",
    "plan",
    "congested",
    "daemon",
    "replay",
    "montecarlo",
    "api",
    "stock",
)
# Parts that know the XL size (5,000 nodes, 50,000 lanes, 50,000 shipments).
XL_PARTS = ("congested",)


def available_parts() -> list[str]:
    return [p for p in PARTS if importlib.util.find_spec(f"twin.bench.{p}")]


def peak_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def run_part_here(part: str, size: str) -> dict[str, Any]:
    module = importlib.import_module(f"twin.bench.{part}")
    figures: dict[str, Any] = module.run(size)
    peak = peak_mib()
    for value in figures.values():
        if isinstance(value, dict):
            value.setdefault("peak_mib", peak)
    return figures


def run_part(part: str, size: str, timeout_s: float = 1800) -> dict[str, Any]:
    """Run one part in a child process; a failure is reported as that part's `error`."""
    proc = subprocess.run(
        [sys.executable, "-m", "twin.bench.runner", part, size],
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout_s,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {part: {"error": " | ".join(tail) or f"exit {proc.returncode}"}}
    return json.loads(proc.stdout)


if __name__ == "__main__":
    result = run_part_here(sys.argv[1], sys.argv[2])
    sys.stdout.write(json.dumps(result) + "\n")
