"""Benchmark of Monte Carlo replays on a cluster: runs per second with 1 and with 2 workers.

A local dask cluster (worker processes, one thread each) is started before the clock runs;
the timed part is `monte_carlo(..., executor="dask", scheduler=address)` only. The speed-up is
runs/s with 2 workers over runs/s with 1 (on a machine shared with other work it is bounded by
the cores actually free; `load_1min` says how busy the machine was, and the workers' CPU per
run and the cores the 2 workers got say what the speed-up was bounded by). With ray installed,
the same runs on a local ray instance.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

from twin.files.playbooks import load_playbooks
from twin.replay.montecarlo import monte_carlo
from twin.replay.scenario import load_scenario

RUNS = {"S": 10, "M": 100, "L": 100}
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "typhoon-prd.yaml"


def _cpu_seconds() -> float:
    """CPU time of the process it runs in (a worker's, through `Client.run`)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _dask(
    loaded: Any, playbooks: Any, runs: int, workers: int
) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds of the runs, the workers' CPU seconds spent on them, the document."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        cpu0 = sum(client.run(_cpu_seconds).values())
        t0 = time.perf_counter()
        doc = monte_carlo(
            loaded, playbooks, runs, executor="dask", scheduler=cluster.scheduler_address
        )
        wall = time.perf_counter() - t0
        return wall, sum(client.run(_cpu_seconds).values()) - cpu0, doc


def run(size: str) -> dict[str, dict[str, Any]]:
    if size not in RUNS:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(RUNS)}")
    runs = RUNS[size]
    loaded = load_scenario(ROOT / "scenarios" / SCENARIO)
    playbooks = load_playbooks(ROOT / "playbooks")
    one_s, one_cpu, one = _dask(loaded, playbooks, runs, 1)
    two_s, two_cpu, two = _dask(loaded, playbooks, runs, 2)
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
        # The workers' CPU per run: equal with 1 and 2 workers, the runs share nothing and the
        # speed-up is bounded only by the cores free (with a busy machine, below 2).
        "dask_1_worker_cpu_s_per_run": round(one_cpu / runs, 3),
        "dask_2_workers_cpu_s_per_run": round(two_cpu / runs, 3),
        "dask_2_workers_cores_used": round(two_cpu / two_s, 2),
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
