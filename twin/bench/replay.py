"""Benchmark: a 90-day replay with 40 shipments a day at 6-hour ticks, re-planning on.

The Red Sea 2024 scenario (1 Dec 2023 – 29 Feb 2024, 91 days) with its shipment mix raised to
40 a day; the figure is the whole replay (baseline, engine and foresight), with where the
engine's time goes: scoring and alerting, planning new bookings, and the world.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from pathlib import Path
from typing import Any

from twin.files.playbooks import load_playbooks
from twin.replay.run import replay
from twin.replay.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
# Where the engine's time goes: the functions whose cumulative time is reported.
PARTS = {
    "score_s": "propagate.py:assess",
    "alerts_s": "episodes.py:evaluate",
    "plan_s": "engine.py:plan_shipments",
    "respond_s": "engine.py:_respond",
    "world_s": "world.py:advance",
}


def _scenario_path() -> Path:
    path = REPO / "scenarios" / "red-sea-2024.yaml"
    if not path.exists():  # an installed package without the repository's data folders
        raise FileNotFoundError("scenarios/red-sea-2024.yaml not found next to the package")
    return path


def run(size: str) -> dict[str, dict[str, Any]]:
    loaded = load_scenario(_scenario_path())
    spec = loaded.scenario.shipments.model_copy(
        update={"generate": loaded.scenario.shipments.generate.model_copy(update={"per_day": 40})}
    )
    loaded.scenario = loaded.scenario.model_copy(update={"shipments": spec})
    playbooks = load_playbooks(REPO / "playbooks")
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    doc = replay(loaded, playbooks)
    profile.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profile)
    parts: dict[str, float] = {}
    for (file, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        for key, suffix in PARTS.items():
            module, func = suffix.split(":")
            if file.endswith(module) and name == func:
                parts[key] = round(parts.get(key, 0.0) + row[3], 2)
    days = (loaded.scenario.end - loaded.scenario.start).days
    return {
        "replay": {
            "scenario": loaded.scenario.name,
            "days": days,
            "tick": "6h",
            "shipments": doc["shipments"],
            "seconds": round(total, 2),
            "baseline_s": doc["timing"]["baseline_s"],
            "engine_s": doc["timing"]["engine_s"],
            "foresight_s": doc["timing"]["foresight_s"],
            "engine_parts_s": parts,
            "reroutes": doc["engine"]["reroutes"],
            "engine_vs_baseline": doc["saving"]["engine_vs_baseline"],
            "note": "profiled run: cProfile adds overhead; parts are cumulative and overlap",
        }
    }
