"""Benchmark: a 90-day replay with 40 shipments a day at 6-hour ticks, re-planning on.

The Red Sea 2024 scenario (1 Dec 2023 – 29 Feb 2024, 91 days) with its shipment mix raised to
40 a day; the figure is the whole replay (blind, news, engine and hindsight), with where the
engine's time goes: scoring and alerting, planning new bookings, and the world.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twin.files.playbooks import load_playbooks
from twin.replay.run import replay
from twin.replay.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]


def _scenario_path() -> Path:
    path = REPO / "scenarios" / "red-sea-2024.yaml"
    if not path.exists():  # an installed package without the repository's data folders
        raise FileNotFoundError("scenarios/red-sea-2024.yaml not found next to the package")
    return path


def run(size: str) -> dict[str, dict[str, Any]]:
    loaded = load_scenario(_scenario_path())
    given = loaded.scenario.shipments
    if given.generate is None:
        raise ValueError("scenarios/red-sea-2024.yaml no longer generates its shipments")
    spec = given.model_copy(update={"generate": given.generate.model_copy(update={"per_day": 40})})
    loaded.scenario = loaded.scenario.model_copy(update={"shipments": spec})
    playbooks = load_playbooks(REPO / "playbooks")
    start = time.perf_counter()
    # The four runs; the pathwise bound (a test device: hindsight knowing the draws) is not one.
    doc = replay(loaded, playbooks, bound=False)
    total = time.perf_counter() - start
    stages = doc["_runs"]["engine"].stage_seconds
    days = (loaded.scenario.end - loaded.scenario.start).days
    return {
        "replay": {
            "scenario": loaded.scenario.name,
            "days": days,
            "tick": "6h",
            "shipments": doc["shipments"],
            "seconds": round(total, 2),
            "blind_s": doc["timing"]["blind_s"],
            "news_s": doc["timing"]["news_s"],
            "engine_s": doc["timing"]["engine_s"],
            "hindsight_s": doc["timing"]["hindsight_s"],
            "engine_parts_s": {f"{stage}_s": seconds for stage, seconds in stages.items()},
            "reroutes": doc["engine"]["reroutes"],
            "engine_vs_blind": doc["saving"]["engine_vs_blind"],
            "note": "engine parts: score, alerts, respond (exposure, playbooks, re-plans), plan "
            "(new bookings), world; with signal ingestion they make up the engine's time",
        }
    }
