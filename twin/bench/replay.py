"""Benchmark: a 90-day replay with 40 shipments a day at 6-hour ticks, re-planning on.

The Red Sea 2024 scenario (1 Dec 2023 – 29 Feb 2024, 91 days) with its shipment mix raised to
40 a day; the figure is the whole replay (blind, news, engine, forewarned and hindsight, the
bound) with min(2, CPUs) workers: blind, forewarned, hindsight and then news in a second
process while the engine runs in the first, news taking the engine's alerts at each booking as
the engine posts them (twin.replay.alongside). Beside the wall time: the CPU
time of both processes (parallelism is no less work), the same replay run serially (after the
parallel one, so it starts warm: the comparison does not flatter the parallel figure), each
run's time, and where the engine's time goes: scoring and alerting, planning new bookings, and
the world. The two documents must be the same.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

from twin.files.playbooks import load_playbooks
from twin.playbook.schema import Playbook
from twin.replay.run import replay
from twin.replay.scenario import LoadedScenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
RUNS = ("blind", "news", "engine", "forewarned", "hindsight")


def _scenario_path() -> Path:
    path = REPO / "scenarios" / "red-sea-2024.yaml"
    if not path.exists():  # an installed package without the repository's data folders
        raise FileNotFoundError("scenarios/red-sea-2024.yaml not found next to the package")
    return path


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its children that have ended (the replay's second)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _timed(
    loaded: LoadedScenario, playbooks: list[Playbook], workers: int
) -> tuple[float, tuple[float, float], dict[str, Any]]:
    """Wall seconds, CPU seconds (this process, the second) and the document of one replay."""
    own, second = _cpu_seconds()
    start = time.perf_counter()
    # Every run; forewarned's calm-world diagnostic (a second forewarned run) is not one.
    doc = replay(loaded, playbooks, diagnostics=False, workers=workers)
    wall = time.perf_counter() - start
    own_after, second_after = _cpu_seconds()
    return wall, (own_after - own, second_after - second), doc


def _figures(doc: dict[str, Any]) -> dict[str, Any]:
    return {name: doc["timing"][f"{name}_s"] for name in RUNS}


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("timing", "_runs")}


def run(size: str) -> dict[str, dict[str, Any]]:
    loaded = load_scenario(_scenario_path())
    given = loaded.scenario.shipments
    if given.generate is None:
        raise ValueError("scenarios/red-sea-2024.yaml no longer generates its shipments")
    spec = given.model_copy(update={"generate": given.generate.model_copy(update={"per_day": 40})})
    loaded.scenario = loaded.scenario.model_copy(update={"shipments": spec})
    playbooks = load_playbooks(REPO / "playbooks")
    workers = min(2, os.cpu_count() or 1)
    load = os.getloadavg()[0]
    wall, cpu, doc = _timed(loaded, playbooks, workers)
    serial_wall, serial_cpu, serial = _timed(loaded, playbooks, 1)
    if _comparable(doc) != _comparable(serial):
        raise RuntimeError(f"the replay with {workers} workers differs from the serial one")
    stages = doc["_runs"]["engine"].stage_seconds
    days = (loaded.scenario.end - loaded.scenario.start).days
    return {
        "replay": {
            "scenario": loaded.scenario.name,
            "days": days,
            "tick": "6h",
            "shipments": doc["shipments"],
            "workers": workers,
            "seconds": round(wall, 2),
            "cpu_s": round(sum(cpu), 2),
            # Each process's own CPU: with a core free for each, the wall time is about the
            # larger of the two, whatever else the machine is doing when this is measured.
            "cpu_main_s": round(cpu[0], 2),
            "cpu_second_s": round(cpu[1], 2),
            "serial_s": round(serial_wall, 2),
            "serial_cpu_s": round(sum(serial_cpu), 2),
            "load_1min": round(load, 2),
            **{f"{name}_s": seconds for name, seconds in _figures(doc).items()},
            "serial_runs_s": _figures(serial),
            "engine_parts_s": {f"{stage}_s": seconds for stage, seconds in stages.items()},
            "reroutes": doc["engine"]["reroutes"],
            "engine_vs_blind": doc["saving"]["engine_vs_blind"],
            "note": f"seconds: wall time with {workers} workers (blind, forewarned, hindsight and "
            "news beside the engine); cpu_s: both processes' CPU time (cpu_main_s, cpu_second_s: each one's; with a free core for each the wall time is about the larger); serial_s: the same "
            "replay in one process, run second (warm), same document; per run: each run's own "
            "wall time. Engine parts: score, alerts, respond (exposure, playbooks, re-plans), "
            "plan (new bookings), world; with signal ingestion they make up the engine's time",
        }
    }
