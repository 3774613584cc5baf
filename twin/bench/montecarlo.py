"""Benchmark of Monte Carlo replays on a cluster: runs per second with 1 and with 2 workers.

A local dask cluster (worker processes, one thread each) is started before the clock runs;
the timed part is `monte_carlo(..., executor="dask", scheduler=address)` only. The speed-up is
runs/s with 2 workers over runs/s with 1 (on a machine shared with other work it is bounded by
the cores actually free; `load_1min` says how busy the machine was). With ray installed, the
same runs on a local ray instance.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from twin.files.playbooks import load_playbooks
from twin.replay.montecarlo import monte_carlo
from twin.replay.scenario import load_scenario

RUNS = {"S": 10, "M": 100, "L": 100}
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "typhoon-prd.yaml"


def _dask(loaded: Any, playbooks: Any, runs: int, workers: int) -> tuple[float, dict[str, Any]]:
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        t0 = time.perf_counter()
        doc = monte_carlo(
            loaded, playbooks, runs, executor="dask", scheduler=cluster.scheduler_address
        )
        return time.perf_counter() - t0, doc


def run(size: str) -> dict[str, dict]:  # type: ignore[type-arg]
    if size not in RUNS:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(RUNS)}")
    runs = RUNS[size]
    loaded = load_scenario(ROOT / "scenarios" / SCENARIO)
    playbooks = load_playbooks(ROOT / "playbooks")
    one_s, one = _dask(loaded, playbooks, runs, 1)
    two_s, two = _dask(loaded, playbooks, runs, 2)
    if one != two:
        raise RuntimeError("1 and 2 workers gave different Monte Carlo results")
    figures: dict[str, Any] = {
        "scenario": SCENARIO,
        "runs": runs,
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        "dask_1_worker_s": round(one_s, 3),
        "dask_1_worker_runs_per_s": round(runs / one_s, 3),
        "dask_2_workers_s": round(two_s, 3),
        "dask_2_workers_runs_per_s": round(runs / two_s, 3),
        "speedup_2_over_1": round(one_s / two_s, 3),
    }
    try:
        import ray
    except ImportError:
        figures["ray"] = "not installed"
    else:
        ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
        try:
            t0 = time.perf_counter()
            doc = monte_carlo(loaded, playbooks, runs, executor="ray")
            ray_s = time.perf_counter() - t0
        finally:
            ray.shutdown()
        figures["ray_2_cpus_s"] = round(ray_s, 3)
        figures["ray_runs_per_s"] = round(runs / ray_s, 3)
        figures["ray_equals_dask"] = doc == one
    return {"montecarlo": figures}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "S"), indent=2))
